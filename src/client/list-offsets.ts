/**
 * Offset lookups by time (FetchService.ListOffsets), sent to each partition's leader. Used by the
 * consumer (auto.offset.reset, seek) and Admin.listOffsets.
 *
 * EARLIEST = -2 (log start offset), LATEST = -1 (high watermark), otherwise the first offset whose
 * timestamp >= t, or offset -1 when there is none. A retriable error anywhere retries the whole
 * lookup (idempotent) after taking the error's leader hint or marking the topics' metadata stale,
 * and a broker that could not be reached goes to the back of the broker list; the first
 * non-retriable per-partition error is thrown.
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';
import type { ListOffsetsResponse__Output } from '../generated/ferry/v1/ListOffsetsResponse.js';
import { unary } from './connection-pool.js';
import type { ClientContext } from './context.js';
import { fromResponseError, isConnectionError, needsMetadataRefresh, toFerryError } from './errors.js';
import { withRetry } from './retry.js';
import type { OffsetSpec } from './types.js';

export const EARLIEST_TIMESTAMP = -2;
export const LATEST_TIMESTAMP = -1;

export function specToTimestamp(spec: OffsetSpec): number {
  if (spec === 'earliest') return EARLIEST_TIMESTAMP;
  if (spec === 'latest') return LATEST_TIMESTAMP;
  if (spec && typeof spec === 'object' && Number.isFinite(spec.timestamp) && spec.timestamp >= 0) return spec.timestamp;
  throw new FerryError(ErrorCode.INVALID_REQUEST, `invalid offset spec ${JSON.stringify(spec)}: 'earliest', 'latest' or { timestamp: ms >= 0 }`);
}

export interface OffsetQuery {
  topic: string;
  partition: number;
  /** -2, -1 or ms. */
  timestamp: number;
}

export interface OffsetAnswer extends OffsetQuery {
  offset: number;
  /** Timestamp of the record found (-1 for earliest/latest). */
  foundTimestamp: number;
}

async function once(ctx: ClientContext, queries: OffsetQuery[]): Promise<OffsetAnswer[]> {
  const byAddress = new Map<string, Map<string, { partition: number; timestamp: number }[]>>();
  for (const q of queries) {
    const t = await ctx.metadata.getTopic(q.topic);
    if (q.partition < 0 || q.partition >= t.numPartitions) {
      throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${q.partition} of ${q.topic} does not exist`);
    }
    const address = t.partitions[q.partition]!.address;
    if (address === null) {
      ctx.metadata.markStale([q.topic]);
      throw new FerryError(ErrorCode.LEADER_NOT_AVAILABLE, `no leader for ${q.topic}-${q.partition}`);
    }
    let topics = byAddress.get(address);
    if (!topics) byAddress.set(address, (topics = new Map()));
    let parts = topics.get(q.topic);
    if (!parts) topics.set(q.topic, (parts = []));
    parts.push({ partition: q.partition, timestamp: q.timestamp });
  }
  const found = new Map<string, { offset: number; timestamp: number }>();
  await Promise.all(
    [...byAddress].map(async ([address, topics]) => {
      const client = ctx.pool.get(address).fetch;
      const request = { topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })) };
      let res: ListOffsetsResponse__Output;
      try {
        res = await unary<ListOffsetsResponse__Output>((o, cb) => client.ListOffsets(request, o, cb), ctx.requestTimeoutMs);
      } catch (raw) {
        const err = toFerryError(raw);
        if (isConnectionError(err)) ctx.metadata.brokerFailed(address);
        if (needsMetadataRefresh(err)) ctx.metadata.markStale(topics.keys());
        throw err;
      }
      for (const t of res.topics) {
        for (const p of t.partitions) {
          const err = fromResponseError(p.error);
          if (err) {
            const hinted = err.leader !== undefined && ctx.metadata.applyLeaderHint(t.topic, p.partition, err.leader, address);
            if (!hinted && needsMetadataRefresh(err)) ctx.metadata.markStale([t.topic]);
            throw err;
          }
          found.set(`${t.topic}\u0000${p.partition}`, { offset: p.offset, timestamp: p.timestamp });
        }
      }
    }),
  );
  return queries.map((q) => {
    const f = found.get(`${q.topic}\u0000${q.partition}`);
    if (!f) throw new FerryError(ErrorCode.UNKNOWN_SERVER_ERROR, `no offset returned for ${q.topic}-${q.partition}`);
    return { ...q, offset: f.offset, foundTimestamp: f.timestamp };
  });
}

export function listOffsets(ctx: ClientContext, queries: OffsetQuery[], isCancelled?: () => boolean): Promise<OffsetAnswer[]> {
  if (queries.length === 0) return Promise.resolve([]);
  return withRetry(() => once(ctx, queries), ctx.retry, isCancelled ? { isCancelled } : {});
}
