/**
 * FetchService: unary long-poll Fetch, server-streaming Consume, ListOffsets.
 *
 * Fetch answers as soon as min_bytes are available, an error occurs, or max_wait_ms passes (capped
 * by fetch.max.wait.ms.limit); it waits on the partitions' high-watermark events, never polls.
 * Consume pushes results as data becomes visible; a slow reader is slowed by HTTP/2 flow control.
 * With heartbeat_ms, a quiet stream sends a record-less message (high watermarks) that often, which
 * the SDK uses to tell a quiet stream from a dead or paused broker.
 * A stream keeps at most two messages in the broker (the one HTTP/2 is sending, the next one): it
 * waits for the previous message to be handed to HTTP/2 before reading more. ('drain' alone let
 * grpc-js queue 16 messages of up to max_bytes each behind a reader that stopped.)
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/broker-config.js';
import type { ConsumeRequest__Output } from '../generated/ferry/v1/ConsumeRequest.js';
import type { FetchRequest__Output } from '../generated/ferry/v1/FetchRequest.js';
import type { FetchResponse } from '../generated/ferry/v1/FetchResponse.js';
import type { FetchServiceHandlers } from '../generated/ferry/v1/FetchService.js';
import type { FetchTopic__Output } from '../generated/ferry/v1/FetchTopic.js';
import type { FetchTopicResult } from '../generated/ferry/v1/FetchTopicResult.js';
import type { ListOffsetsPartitionResult } from '../generated/ferry/v1/ListOffsetsPartitionResult.js';
import type { ListOffsetsRequest__Output } from '../generated/ferry/v1/ListOffsetsRequest.js';
import type { ListOffsetsResponse } from '../generated/ferry/v1/ListOffsetsResponse.js';
import { ErrorCode, FerryError, toWireError } from '../protocol/errors.js';
import { asFerryError, toServiceError } from './grpc-errors.js';
import { rejectMalformed } from '../protocol/malformed-request.js';
import { waitForHighWatermark } from './hw-waiter.js';
import type { BrokerLifecycle } from './lifecycle.js';
import { readPartitions, type PartitionFetchOutcome, type PartitionFetchSpec } from './partition-reader.js';
import type { TopicManager } from './topic-manager.js';
import { unary } from './unary.js';

export const LIST_OFFSETS_EARLIEST = -2;
export const LIST_OFFSETS_LATEST = -1;
/** A Consume stream with nothing to send re-checks at least this often (belt and braces for waits). */
const CONSUME_IDLE_RECHECK_MS = 5_000;
/** Shortest heartbeat interval a Consume stream may ask for (a client cannot make the broker spin). */
const CONSUME_MIN_HEARTBEAT_MS = 50;

export function fetchService(topics: TopicManager, config: BrokerConfig, lifecycle: BrokerLifecycle, logger: Logger): FetchServiceHandlers {
  const brokerMaxBytes = config.int('fetch.max.bytes');
  const maxWaitLimitMs = config.int('fetch.max.wait.ms.limit');

  const fetch = async (req: FetchRequest__Output, call: grpc.ServerUnaryCall<FetchRequest__Output, FetchResponse>): Promise<FetchResponse> => {
    lifecycle.checkAcceptingRequests();
    if (req.maxBytes < 0 || req.minBytes < 0 || req.maxWaitMs < 0) {
      throw new FerryError(ErrorCode.INVALID_REQUEST, 'max_bytes, min_bytes and max_wait_ms must not be negative');
    }
    const maxBytes = req.maxBytes > 0 ? Math.min(req.maxBytes, brokerMaxBytes) : brokerMaxBytes;
    const minBytes = Math.max(1, req.minBytes);
    const specs = toSpecs(req.topics);
    const deadline = Date.now() + Math.min(req.maxWaitMs, maxWaitLimitMs);
    const cancelled = new AbortController();
    call.on('cancelled', () => cancelled.abort());
    for (;;) {
      const outcomes = await readPartitions(topics, specs, maxBytes, req.decodeRecords);
      const bytes = outcomes.reduce((sum, o) => sum + o.bytes, 0);
      const remainingMs = deadline - Date.now();
      if (bytes >= minBytes || outcomes.some((o) => o.failed) || remainingMs <= 0 || cancelled.signal.aborted || lifecycle.isStopping) {
        return toResponse(outcomes);
      }
      const watched = outcomes.flatMap((o) => (o.log ? [{ log: o.log, seenHighWatermark: o.seenHighWatermark }] : []));
      await waitForHighWatermark(watched, remainingMs, [cancelled.signal, lifecycle.shutdownSignal]);
    }
  };

  const consume = async (call: grpc.ServerWritableStream<ConsumeRequest__Output, FetchResponse>): Promise<void> => {
    rejectMalformed(call.request);
    lifecycle.checkAcceptingRequests();
    const req = call.request;
    if (req.maxBytes < 0 || req.heartbeatMs < 0) throw new FerryError(ErrorCode.INVALID_REQUEST, 'max_bytes and heartbeat_ms must not be negative');
    const maxBytes = req.maxBytes > 0 ? Math.min(req.maxBytes, brokerMaxBytes) : Math.min(brokerMaxBytes, 4 * 1024 * 1024);
    const heartbeatMs = req.heartbeatMs > 0 ? Math.max(CONSUME_MIN_HEARTBEAT_MS, req.heartbeatMs) : 0;
    let specs = toSpecs(req.topics);
    const cancelled = new AbortController();
    call.on('cancelled', () => cancelled.abort());
    call.on('error', () => cancelled.abort());
    logger.debug({ partitions: specs.length, heartbeatMs }, 'consume stream opened');
    let previousSent: Promise<void> = Promise.resolve();
    let lastSentAt = Date.now();
    const send = async (outcomes: PartitionFetchOutcome[]): Promise<void> => {
      const sent = new Promise<void>((resolve) => call.write(toResponse(outcomes), () => resolve()));
      lastSentAt = Date.now();
      await settledOrAborted(previousSent, [cancelled.signal, lifecycle.shutdownSignal]);
      previousSent = sent;
    };
    while (!cancelled.signal.aborted && !lifecycle.isStopping && specs.length > 0) {
      const outcomes = await readPartitions(topics, specs, maxBytes, req.decodeRecords);
      const toSend = outcomes.filter((o) => o.bytes > 0 || o.failed);
      // Advance positions; a failed partition is reported once and dropped from the stream.
      // Partitions that returned data go to the back, so a byte budget filled by the first ones
      // cannot starve the rest (Kafka's fetch session rotation).
      const idle: PartitionFetchSpec[] = [];
      const served: PartitionFetchSpec[] = [];
      for (let i = 0; i < specs.length; i++) {
        const o = outcomes[i]!;
        if (o.failed) continue;
        (o.bytes > 0 ? served : idle).push({ ...specs[i]!, fetchOffset: o.nextOffset });
      }
      specs = idle.concat(served);
      if (toSend.length > 0) {
        await send(toSend);
        continue;
      }
      const sinceSentMs = Date.now() - lastSentAt;
      if (heartbeatMs > 0 && sinceSentMs >= heartbeatMs) {
        await send(outcomes); // no records: each partition's high watermark, and proof of life
        continue;
      }
      const waitMs = heartbeatMs > 0 ? Math.min(heartbeatMs - sinceSentMs, CONSUME_IDLE_RECHECK_MS) : CONSUME_IDLE_RECHECK_MS;
      const watched = outcomes.flatMap((o) => (o.log ? [{ log: o.log, seenHighWatermark: o.seenHighWatermark }] : []));
      await waitForHighWatermark(watched, waitMs, [cancelled.signal, lifecycle.shutdownSignal]);
    }
    if (!cancelled.signal.aborted) {
      if (lifecycle.isStopping) call.emit('error', toServiceError(new FerryError(ErrorCode.SHUTTING_DOWN, 'broker is shutting down')));
      else call.end();
    }
  };

  return {
    Fetch: unary(logger, 'Fetch', fetch),
    Consume: (call) => {
      consume(call).catch((err: unknown) => {
        if (!(err instanceof FerryError)) logger.error({ err }, 'consume stream failed');
        // grpc-js sends a streaming call's status from _final: 'error' ends the stream with this
        // status, whereas destroy() skips _final and the client never hears back.
        call.emit('error', toServiceError(asFerryError(err)));
      });
    },
    ListOffsets: unary<ListOffsetsRequest__Output, ListOffsetsResponse>(logger, 'ListOffsets', async (req) => {
      lifecycle.checkAcceptingRequests();
      const response: ListOffsetsResponse = { topics: [] };
      for (const t of req.topics) {
        const partitions: ListOffsetsPartitionResult[] = [];
        response.topics!.push({ topic: t.topic, partitions });
        for (const p of t.partitions) {
          const result: ListOffsetsPartitionResult = { partition: p.partition, offset: -1, timestamp: -1, leaderEpoch: -1 };
          partitions.push(result);
          try {
            const { log, leaderEpoch } = topics.leaderLog(t.topic, p.partition, -1);
            result.leaderEpoch = leaderEpoch;
            if (p.timestamp === LIST_OFFSETS_EARLIEST) result.offset = log.logStartOffset;
            else if (p.timestamp === LIST_OFFSETS_LATEST) result.offset = log.highWatermark;
            else if (p.timestamp < 0) throw new FerryError(ErrorCode.INVALID_TIMESTAMP, `timestamp ${p.timestamp} is neither -2, -1 nor a time`);
            else {
              const found = await log.offsetForTimestamp(p.timestamp);
              if (found && found.offset < log.highWatermark) {
                result.offset = found.offset;
                result.timestamp = found.timestamp;
              }
            }
          } catch (err) {
            result.error = toWireError(asFerryError(err));
          }
        }
      }
      return response;
    }),
  };
}

function toSpecs(fetchTopics: FetchTopic__Output[]): PartitionFetchSpec[] {
  const specs: PartitionFetchSpec[] = [];
  for (const t of fetchTopics) {
    for (const p of t.partitions) {
      specs.push({ topic: t.topic, partition: p.partition, fetchOffset: p.fetchOffset, partitionMaxBytes: p.partitionMaxBytes, currentLeaderEpoch: p.currentLeaderEpoch });
    }
  }
  return specs;
}

function toResponse(outcomes: PartitionFetchOutcome[]): FetchResponse {
  const byTopic = new Map<string, FetchTopicResult>();
  for (const o of outcomes) {
    let t = byTopic.get(o.topic);
    if (!t) {
      t = { topic: o.topic, partitions: [] };
      byTopic.set(o.topic, t);
    }
    t.partitions!.push(o.result);
  }
  return { topics: [...byTopic.values()] };
}

/** Resolves when `promise` settles or a signal aborts, and leaves no listener behind on the signals. */
function settledOrAborted(promise: Promise<void>, signals: AbortSignal[]): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      for (const s of signals) s.removeEventListener('abort', done);
      resolve();
    };
    for (const s of signals) {
      if (s.aborted) return done();
      s.addEventListener('abort', done);
    }
    promise.then(done, done);
  });
}
