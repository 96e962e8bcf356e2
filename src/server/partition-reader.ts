/**
 * Reads fetch results for a set of partitions within a byte budget: shared by unary Fetch and the
 * Consume stream. Returns whole batches only; the first non-empty partition may exceed the budget by
 * one batch so a consumer can never be stuck behind a batch larger than its limit.
 */
import type { FetchPartitionResult } from '../generated/ferry/v1/FetchPartitionResult.js';
import type { Record } from '../generated/ferry/v1/Record.js';
import { ErrorCode, FerryError, toWireError } from '../protocol/errors.js';
import { iterateBatches, batchLastOffset } from '../protocol/record-batch.js';
import { markReadBuffer } from '../protocol/fetch-response-encoder.js';
import { decodeBatch } from '../protocol/record-decoder.js';
import type { PartitionLog } from '../storage/index.js';
import { FetchBufferPool } from './fetch-buffers.js';
import { asFerryError } from './grpc-errors.js';
import type { TopicManager } from './topic-manager.js';

export interface PartitionFetchSpec {
  topic: string;
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
}

export interface PartitionFetchOutcome {
  topic: string;
  result: FetchPartitionResult;
  /** Present when the partition exists (used for long-poll waits). */
  log?: PartitionLog;
  seenHighWatermark: number;
  bytes: number;
  /** Offset after the last batch returned (the next fetch position), or the fetch offset if none. */
  nextOffset: number;
  failed: boolean;
}

/** Read buffers of every fetch answered by this process (see fetch-buffers.ts). */
const readBuffers = new FetchBufferPool();

export async function readPartitions(
  topics: TopicManager,
  specs: readonly PartitionFetchSpec[],
  maxBytes: number,
  decodeRecords: boolean,
): Promise<PartitionFetchOutcome[]> {
  // Raw batches are read into reused buffers, given back once the answer is serialized.
  const buffers = decodeRecords ? undefined : readBuffers.lease();
  const release = buffers ? () => buffers.release() : undefined;
  const outcomes: PartitionFetchOutcome[] = [];
  let budget = maxBytes;
  let anyData = false;
  for (const spec of specs) {
    const result: FetchPartitionResult = { partition: spec.partition, highWatermark: -1, logStartOffset: -1, logEndOffset: -1 };
    const outcome: PartitionFetchOutcome = { topic: spec.topic, result, seenHighWatermark: -1, bytes: 0, nextOffset: spec.fetchOffset, failed: false };
    outcomes.push(outcome);
    try {
      const { log } = topics.leaderLog(spec.topic, spec.partition, spec.currentLeaderEpoch);
      outcome.log = log;
      outcome.seenHighWatermark = log.highWatermark;
      if (spec.partitionMaxBytes < 0) throw new FerryError(ErrorCode.INVALID_FETCH_SIZE, `partition_max_bytes ${spec.partitionMaxBytes} is negative`);
      const limit = Math.min(spec.partitionMaxBytes > 0 ? spec.partitionMaxBytes : maxBytes, budget);
      const read = await log.read(spec.fetchOffset, Math.max(0, limit), { minOneBatch: !anyData, buffers });
      result.highWatermark = read.highWatermark;
      result.logStartOffset = read.logStartOffset;
      result.logEndOffset = read.logEndOffset;
      outcome.seenHighWatermark = read.highWatermark;
      if (read.records.length > 0) {
        anyData = true;
        budget -= read.records.length;
        outcome.bytes = read.records.length;
        outcome.nextOffset = nextOffsetAfter(read.records, spec.fetchOffset);
        if (decodeRecords) result.records = decodeAll(read.records, spec.fetchOffset);
        else {
          result.recordBatches = read.records;
          markReadBuffer(result, buffers!.headroom, release!);
        }
      }
    } catch (err) {
      const ferryErr = asFerryError(err);
      result.error = toWireError(ferryErr);
      if (outcome.log) {
        result.highWatermark = outcome.log.highWatermark;
        result.logStartOffset = outcome.log.logStartOffset;
        result.logEndOffset = outcome.log.logEndOffset;
      }
      outcome.failed = true;
    }
  }
  return outcomes;
}

function nextOffsetAfter(batches: Buffer, fallback: number): number {
  let next = fallback;
  for (const { pos } of iterateBatches(batches)) next = batchLastOffset(batches, pos) + 1;
  return next;
}

/** Simple path: records at or above fetchOffset, as proto Records. */
function decodeAll(batches: Buffer, fetchOffset: number): Record[] {
  const out: Record[] = [];
  for (const { pos } of iterateBatches(batches)) {
    for (const r of decodeBatch(batches, pos).records) {
      if (r.offset < fetchOffset) continue;
      const rec: Record = { offset: r.offset, timestamp: r.timestamp, headers: r.headers.map((h) => ({ key: h.key, value: h.value ?? Buffer.alloc(0) })) };
      if (r.key !== null) rec.key = r.key;
      if (r.value !== null) rec.value = r.value;
      out.push(rec);
    }
  }
  return out;
}
