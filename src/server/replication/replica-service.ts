/**
 * ReplicaService (proto/ferry/v1/replication.proto) on a partition leader: followers' long-poll
 * ReplicaFetch and OffsetForLeaderEpoch. Each partition goes through its LeaderPartition core —
 * which fences stale epochs, detects a diverging follower tail (KIP-320), records the follower's
 * position (ISR expansion, HW advance) — and the records come from the local log up to the leader's
 * replicable end. A fetch with nothing to return waits until a requested partition's leader log
 * grows or max_wait_ms passes; errors and divergences are answered at once.
 *
 * Records are read into pooled buffers with headroom (fetch-buffers.ts), and the answer is encoded
 * by hand with its headers in that headroom (replica-fetch-response-encoder.ts, installed in
 * grpc-definitions.ts); the buffers return to the pool once gRPC has serialized the answer. Before,
 * each fetch read into a fresh buffer that protobufjs then copied into another: at 1 KiB records
 * that garbage made GC the leader's top cost (docs/BENCHMARKS.md, "Closing the peer gaps").
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { OffsetForLeaderEpochRequest__Output } from '../../generated/ferry/v1/OffsetForLeaderEpochRequest.js';
import type { OffsetForLeaderEpochResponse } from '../../generated/ferry/v1/OffsetForLeaderEpochResponse.js';
import type { ReplicaFetchPartitionResult } from '../../generated/ferry/v1/ReplicaFetchPartitionResult.js';
import type { ReplicaFetchRequest__Output } from '../../generated/ferry/v1/ReplicaFetchRequest.js';
import type { ReplicaFetchResponse } from '../../generated/ferry/v1/ReplicaFetchResponse.js';
import type { ReplicaServiceHandlers } from '../../generated/ferry/v1/ReplicaService.js';
import { ErrorCode, FerryError, toWireError } from '../../protocol/errors.js';
import { markReadBuffer } from '../../protocol/topic-results-encoder.js';
import { FetchBufferPool, POOL_IDLE_MS, REPLICA_POOLED_MIN_BYTES, type FetchBuffers } from '../fetch-buffers.js';
import { asFerryError } from '../grpc-errors.js';
import type { BrokerLifecycle } from '../lifecycle.js';
import { unary } from '../unary.js';
import type { PartitionReplica } from './partition-replica.js';
import type { ReplicaManager } from './replica-manager.js';

/** Cap on a follower's max_wait_ms (a follower asking for more is still answered in time). */
const MAX_WAIT_CAP_MS = 5_000;

/** Read buffers of every follower fetch this process answers. */
const readBuffers = new FetchBufferPool(POOL_IDLE_MS, REPLICA_POOLED_MIN_BYTES);

export function replicaService(manager: ReplicaManager, lifecycle: BrokerLifecycle, logger: Logger): ReplicaServiceHandlers {
  return {
    ReplicaFetch: unary<ReplicaFetchRequest__Output, ReplicaFetchResponse>(logger, 'ReplicaFetch', async (req) => {
      lifecycle.checkAcceptingRequests();
      const deadline = performance.now() + Math.min(Math.max(0, req.maxWaitMs), MAX_WAIT_CAP_MS);
      for (;;) {
        const buffers = readBuffers.lease();
        const round = await fetchOnce(manager, req, buffers);
        // Without records nothing refers to the round's buffers; with records the serializer releases them.
        if (round.bytes === 0) buffers.release();
        if (round.bytes > 0 || round.answerNow || performance.now() >= deadline || lifecycle.isStopping) return round.response;
        await waitForAny(round.watched, deadline - performance.now());
      }
    }),
    OffsetForLeaderEpoch: unary<OffsetForLeaderEpochRequest__Output, OffsetForLeaderEpochResponse>(logger, 'OffsetForLeaderEpoch', async (req) => {
      lifecycle.checkAcceptingRequests();
      return {
        topics: req.topics.map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((p) => {
            const replica = manager.replica(t.topic, p.partition);
            const leader = replica?.leader;
            if (!replica || !leader) {
              return { partition: p.partition, leaderEpoch: -1, endOffset: -1, error: toWireError(new FerryError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `not the leader of ${t.topic}-${p.partition}`)) };
            }
            const answer = leader.offsetForLeaderEpoch(p.currentLeaderEpoch, p.leaderEpoch, replica.log);
            if ('error' in answer) return { partition: p.partition, leaderEpoch: -1, endOffset: -1, error: toWireError(new FerryError(answer.error, `${replica.name}: ${answer.error}`)) };
            return { partition: p.partition, leaderEpoch: answer.epoch, endOffset: answer.endOffset };
          }),
        })),
      };
    }),
  };
}

interface FetchRound {
  response: ReplicaFetchResponse;
  bytes: number;
  /** An error or a divergence: the follower must hear it now. */
  answerNow: boolean;
  watched: PartitionReplica[];
}

async function fetchOnce(manager: ReplicaManager, req: ReplicaFetchRequest__Output, buffers: FetchBuffers): Promise<FetchRound> {
  const release = () => buffers.release();
  const allocate = (bytes: number) => buffers.allocate(bytes);
  const round: FetchRound = { response: { topics: [] }, bytes: 0, answerNow: false, watched: [] };
  let budget = Math.max(0, req.maxBytes);
  for (const t of req.topics) {
    const results: ReplicaFetchPartitionResult[] = [];
    round.response.topics!.push({ topic: t.topic, partitions: results });
    for (const p of t.partitions) {
      const result: ReplicaFetchPartitionResult = { partition: p.partition, highWatermark: -1, logStartOffset: -1, logEndOffset: -1 };
      results.push(result);
      const replica = manager.replica(t.topic, p.partition);
      const leader = replica?.leader;
      if (!replica || !leader || !leader.isLeading) {
        result.error = toWireError(new FerryError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${manager.brokerId} does not lead ${t.topic}-${p.partition}`));
        round.answerNow = true;
        continue;
      }
      const log = replica.log;
      const fetchOffset = Number(p.fetchOffset);
      const outcome = leader.onFollowerFetch({
        followerId: req.replicaId, brokerEpoch: Number(req.brokerEpoch), fetchOffset, lastFetchedEpoch: p.lastFetchedEpoch, currentLeaderEpoch: p.currentLeaderEpoch,
      }, log, performance.now());
      manager.applyLeaderEffects(replica, leader, outcome.effects);
      result.logStartOffset = log.logStartOffset;
      result.logEndOffset = leader.logEndOffset;
      if (outcome.kind === 'error') {
        result.error = toWireError(new FerryError(outcome.error, `${replica.name}: ${outcome.error}`));
        round.answerNow = true;
        continue;
      }
      result.highWatermark = outcome.highWatermark;
      if (outcome.kind === 'diverging') {
        result.divergingEpoch = { epoch: outcome.divergingEpoch.epoch, endOffset: outcome.divergingEpoch.endOffset };
        round.answerNow = true;
        continue;
      }
      round.watched.push(replica);
      if (fetchOffset >= outcome.maxOffset || budget <= 0) continue;
      const limit = Math.min(p.partitionMaxBytes > 0 ? p.partitionMaxBytes : budget, budget);
      try {
        const read = await log.read(fetchOffset, limit, { maxOffset: outcome.maxOffset, minOneBatch: round.bytes === 0, buffers });
        if (read.records.length > 0) {
          result.recordBatches = read.records;
          markReadBuffer(result, buffers.headroom, release, allocate);
          round.bytes += read.records.length;
          budget -= read.records.length;
        }
      } catch (err) {
        result.error = toWireError(asFerryError(err));
        round.answerNow = true;
      }
    }
  }
  return round;
}

function waitForAny(replicas: readonly PartitionReplica[], ms: number): Promise<void> {
  if (replicas.length === 0 || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const cancels: Array<() => void> = [];
    const done = (): void => {
      clearTimeout(timer);
      for (const c of cancels) c();
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const r of replicas) cancels.push(r.onceAdvanced(done));
  });
}
