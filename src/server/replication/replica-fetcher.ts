/**
 * ReplicaFetcher: pulls every partition this broker follows from one leader broker (Kafka's
 * ReplicaFetcherThread), over one gRPC client. A round: poll each FollowerPartition core for its
 * next request (a fetch, or an OffsetForLeaderEpoch query), send them as one ReplicaFetch long poll
 * (and one OffsetForLeaderEpoch call), then carry out each partition's answer — append, truncate,
 * set the HW — before the next round, so every fetch reports the follower's real log end.
 *
 * A core parked in 'awaiting-metadata' is revived by the ReplicaManager after a backoff. A failed
 * call (the leader died, a timeout) puts every partition in it into backoff.
 */
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { fromResponseError, toFerryError } from '../../client/errors.js';
import type { OffsetForLeaderEpochResponse__Output } from '../../generated/ferry/v1/OffsetForLeaderEpochResponse.js';
import type { ReplicaFetchPartitionResult__Output } from '../../generated/ferry/v1/ReplicaFetchPartitionResult.js';
import type { ReplicaFetchResponse__Output } from '../../generated/ferry/v1/ReplicaFetchResponse.js';
import type { ReplicaServiceClient } from '../../generated/ferry/v1/ReplicaService.js';
import { loadFerryProto } from '../../protocol/grpc-definitions.js';
import type { FollowerAction, FollowerPartition, FollowerRequest } from '../../replication/isr/index.js';
import type { PartitionReplica } from './partition-replica.js';
import type { ReplicaManager } from './replica-manager.js';
import type { ReplicationSettings } from './replication-settings.js';

/** Upper bound of a follower connection's HTTP/2 receive window (the SDK uses the same for fetches). */
const REPLICA_FLOW_CONTROL_WINDOW_BYTES = 64 * 1024 * 1024;

export interface ReplicaFetcherOptions {
  leaderId: number;
  address: string;
  manager: ReplicaManager;
  settings: ReplicationSettings;
  logger: Logger;
}

interface Sent {
  replica: PartitionReplica;
  follower: FollowerPartition;
  request: FollowerRequest;
}

/** Upper bound on an idle wait, so new partitions and expired backoffs are picked up promptly. */
const IDLE_WAIT_MAX_MS = 100;

export class ReplicaFetcher {
  private readonly partitions = new Set<PartitionReplica>();
  private readonly client: ReplicaServiceClient;
  private stopped = false;
  private wake: (() => void) | null = null;
  private failing = false;

  constructor(private readonly options: ReplicaFetcherOptions) {
    const v1 = loadFerryProto().proto.ferry.v1;
    const maxResponseBytes = options.settings.fetchResponseMaxBytes + 2 * options.settings.fetchMaxBytes + 1024 * 1024;
    this.client = new v1.ReplicaService(options.address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': maxResponseBytes,
      // HTTP/2 receive window: with grpc-js's 64 KiB default a 1 MiB answer crawled through ~16
      // WINDOW_UPDATE round trips, which capped RF 3 replication at ~45 MB/s per partition (1 KiB
      // acks=all produce: 43.6k msgs/s). Answers are bounded by maxResponseBytes anyway.
      'grpc-node.flow_control_window': Math.min(maxResponseBytes, REPLICA_FLOW_CONTROL_WINDOW_BYTES),
    }) as unknown as ReplicaServiceClient;
  }

  get size(): number {
    return this.partitions.size;
  }

  add(replica: PartitionReplica): void {
    this.partitions.add(replica);
    this.kick();
  }

  remove(replica: PartitionReplica): void {
    this.partitions.delete(replica);
  }

  start(): void {
    void this.loop().catch((err: unknown) => this.options.logger.error({ err }, 'replica fetcher stopped on an unexpected error'));
  }

  stop(): void {
    this.stopped = true;
    this.kick();
    this.client.close();
  }

  private kick(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const now = performance.now();
      const fetches: Sent[] = [];
      const queries: Sent[] = [];
      let wakeAt = now + IDLE_WAIT_MAX_MS;
      for (const replica of this.partitions) {
        const follower = replica.follower;
        if (!follower || follower.leaderId !== this.options.leaderId) continue;
        const request = follower.poll(replica.log, now);
        if (request) (request.kind === 'fetch' ? fetches : queries).push({ replica, follower, request });
        else {
          const at = follower.wakeAtMs();
          if (at !== null) wakeAt = Math.min(wakeAt, at);
        }
      }
      if (fetches.length === 0 && queries.length === 0) {
        await this.sleep(Math.max(1, wakeAt - now));
        continue;
      }
      await Promise.all([this.fetch(fetches), this.queryEpochs(queries)]);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async fetch(sent: Sent[]): Promise<void> {
    if (sent.length === 0) return;
    const { settings, manager } = this.options;
    const byTopic = new Map<string, Sent[]>();
    for (const s of sent) {
      const list = byTopic.get(s.replica.topic) ?? [];
      list.push(s);
      byTopic.set(s.replica.topic, list);
    }
    const request = {
      replicaId: manager.brokerId,
      brokerEpoch: manager.brokerEpoch ?? -1,
      maxWaitMs: settings.fetchWaitMaxMs,
      minBytes: 1,
      maxBytes: settings.fetchResponseMaxBytes,
      topics: [...byTopic].map(([topic, list]) => ({
        topic,
        partitions: list.map(({ replica, request: r }) => ({
          partition: replica.partition,
          fetchOffset: r.kind === 'fetch' ? r.fetchOffset : 0,
          lastFetchedEpoch: r.kind === 'fetch' ? r.lastFetchedEpoch : -1,
          currentLeaderEpoch: r.currentLeaderEpoch,
          logStartOffset: replica.log.logStartOffset,
          partitionMaxBytes: settings.fetchMaxBytes,
        })),
      })),
    };
    let response: ReplicaFetchResponse__Output;
    try {
      response = await new Promise<ReplicaFetchResponse__Output>((resolve, reject) => {
        const deadline = new Date(Date.now() + settings.fetchWaitMaxMs + settings.socketTimeoutMs);
        this.client.ReplicaFetch(request, { deadline }, (err, res) => (err ? reject(err) : resolve(res!)));
      });
    } catch (err) {
      this.callFailed(sent, err);
      return;
    }
    if (this.failing) {
      this.failing = false;
      this.options.logger.info({ address: this.options.address }, 'replica fetches to the leader work again');
    }
    const results = new Map<string, ReplicaFetchPartitionResult__Output>();
    for (const t of response.topics) for (const p of t.partitions) results.set(`${t.topic}\u0000${p.partition}`, p);
    await Promise.all(sent.map((s) => this.onFetchResult(s, results.get(`${s.replica.topic}\u0000${s.replica.partition}`))));
  }

  private async onFetchResult(s: Sent, result: ReplicaFetchPartitionResult__Output | undefined): Promise<void> {
    const { replica, follower, request } = s;
    const now = performance.now();
    if (replica.follower !== follower) return; // the role changed while the call was out
    if (!result) {
      follower.onRequestFailed(request.requestId, now);
      return;
    }
    const error = fromResponseError(result.error)?.code ?? null;
    const diverging = result.divergingEpoch && result.divergingEpoch.epoch >= 0 ? { epoch: result.divergingEpoch.epoch, endOffset: Number(result.divergingEpoch.endOffset) } : null;
    const action = follower.onFetchResponse({
      requestId: request.requestId,
      error,
      highWatermark: Number(result.highWatermark),
      logStartOffset: Number(result.logStartOffset),
      logEndOffset: Number(result.logEndOffset),
      divergingEpoch: diverging,
      hasRecords: result.recordBatches.length > 0,
    }, replica.log, now);
    await this.carryOut(replica, follower, action, result.recordBatches);
  }

  private async queryEpochs(sent: Sent[]): Promise<void> {
    if (sent.length === 0) return;
    const request = {
      replicaId: this.options.manager.brokerId,
      topics: sent.map(({ replica, request: r }) => ({
        topic: replica.topic,
        partitions: [{ partition: replica.partition, currentLeaderEpoch: r.currentLeaderEpoch, leaderEpoch: r.kind === 'offset-for-leader-epoch' ? r.requestedEpoch : -1 }],
      })),
    };
    let response: OffsetForLeaderEpochResponse__Output;
    try {
      response = await new Promise<OffsetForLeaderEpochResponse__Output>((resolve, reject) => {
        this.client.OffsetForLeaderEpoch(request, { deadline: new Date(Date.now() + this.options.settings.socketTimeoutMs) }, (err, res) => (err ? reject(err) : resolve(res!)));
      });
    } catch (err) {
      this.callFailed(sent, err);
      return;
    }
    await Promise.all(sent.map(async ({ replica, follower, request: r }) => {
      if (replica.follower !== follower) return;
      const p = response.topics.find((t) => t.topic === replica.topic)?.partitions.find((x) => x.partition === replica.partition);
      if (!p) {
        follower.onRequestFailed(r.requestId, performance.now());
        return;
      }
      const action = follower.onOffsetForLeaderEpochResponse({
        requestId: r.requestId,
        error: fromResponseError(p.error)?.code ?? null,
        epochEnd: { epoch: p.leaderEpoch, endOffset: Number(p.endOffset) },
      }, replica.log, performance.now());
      await this.carryOut(replica, follower, action, Buffer.alloc(0));
    }));
  }

  private callFailed(sent: Sent[], err: unknown): void {
    const now = performance.now();
    for (const s of sent) if (s.replica.follower === s.follower) s.follower.onRequestFailed(s.request.requestId, now);
    if (!this.failing) {
      this.failing = true;
      const ferry = toFerryError(err);
      this.options.logger.warn({ address: this.options.address, code: ferry.code, err: ferry.message }, 'replica fetch to the leader failed; backing off');
    }
  }

  private async carryOut(replica: PartitionReplica, follower: FollowerPartition, action: FollowerAction, batches: Buffer): Promise<void> {
    const { logger, manager } = this.options;
    const log = replica.log;
    try {
      switch (action.kind) {
        case 'append': {
          await log.appendAsFollower(batches);
          const hw = follower.onAppended(log);
          if (replica.follower === follower) log.setHighWatermark(hw);
          return;
        }
        case 'truncate':
          logger.info({ topic: replica.topic, partition: replica.partition, offset: action.offset, logEndOffset: log.logEndOffset }, 'follower truncating a divergent tail');
          await log.truncateTo(action.offset);
          follower.onTruncated();
          return;
        case 'truncate-fully':
          // The leader's retention passed our whole log: continue from its log start.
          logger.warn({ topic: replica.topic, partition: replica.partition, leaderLogStartOffset: action.offset, logEndOffset: log.logEndOffset }, 'follower is behind the leader\'s log start; restarting its log there');
          await log.restartAt(action.offset);
          follower.onTruncated();
          return;
        case 'high-watermark':
          if (replica.follower === follower) log.setHighWatermark(action.highWatermark);
          return;
        case 'await-metadata':
          logger.debug({ topic: replica.topic, partition: replica.partition, error: action.error }, 'leader refused the fetch; waiting for metadata');
          manager.reviveFollower(replica, follower);
          return;
        case 'backoff':
          logger.debug({ topic: replica.topic, partition: replica.partition, error: action.error }, 'replica fetch error; backing off');
          return;
        case 'ignored':
          return;
      }
    } catch (err) {
      logger.error({ topic: replica.topic, partition: replica.partition, action: action.kind, err }, 'follower could not apply the leader\'s answer; restarting its fetch state');
      manager.reviveFollower(replica, follower);
    }
  }
}
