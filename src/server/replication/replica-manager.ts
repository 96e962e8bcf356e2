/**
 * ReplicaManager: the broker's data plane in a cluster (Kafka's ReplicaManager). It turns each new
 * metadata image into local roles — `localChanges(applied, next, brokerId)` — and applies the
 * effects of the sans-I/O LeaderPartition / FollowerPartition cores:
 *
 *  - leader:   records the epoch start in the log (KIP-101), answers produce (acks=1 after the
 *              local append, acks=all once the HW passes the batch), serves followers' fetches
 *              (replica-fetch-handler.ts), sets the log's HW, sends ISR changes to the controller;
 *  - follower: a ReplicaFetcher per leader broker pulls, appends, truncates and sets the HW;
 *  - removed:  the topic was deleted: the logs go.
 *
 * Changes apply one at a time on a serial queue, always diffing the last applied image against the
 * newest (intermediate images are skipped, which localChanges allows). Nothing is applied before
 * the broker is registered and its image has caught up past that registration: followers need the
 * broker epoch (KIP-903) — a new registration re-creates every follower with the new epoch — and an
 * older image could make a restarted broker lead at a stale epoch.
 *
 * The leader counts its own end as the LEO, or with flush.mode=always the fsynced offset, so an
 * acks=all record is then on disk on every ISR member, not only in page caches.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { localChanges, MetadataImage, type LeaderlessReplicaReport, type LocalPartitionChange } from '../../controller/index.js';
import { ErrorCode, FerryError } from '../../protocol/errors.js';
import type { ValidatedBatches } from '../../protocol/record-batch.js';
import {
  ACKS_ALL, FollowerPartition, LeaderPartition, NO_LEADER,
  type Acks, type AlterPartitionAnswer, type AlterPartitionProposal, type LeaderEffects, type PartitionRegistration,
} from '../../replication/isr/index.js';
import type { AppendResult, LogConfig, LogManager, PartitionLog } from '../../storage/index.js';
import { SerialExecutor } from '../../util/serial-executor.js';
import { PartitionReplica } from './partition-replica.js';
import { ReplicaFetcher } from './replica-fetcher.js';
import type { ReplicationSettings } from './replication-settings.js';

/** How often leaders check ISR lag, acks=all deadlines and unanswered ISR changes. */
const LEADER_TICK_MS = 100;

export interface AlterPartitionSender {
  /** Sends one leader's ISR change to the active controller; resolves with the controller's answer. */
  (replica: PartitionReplica, proposal: AlterPartitionProposal, brokerEpoch: number): Promise<AlterPartitionOutcome>;
}

export interface AlterPartitionOutcome {
  accepted: boolean;
  /** The controller's registration after the call (null when it did not send one). */
  state: { leaderEpoch: number; partitionEpoch: number; isr: number[] } | null;
}

/**
 * Told when this broker starts leading a partition (a new leader epoch; the log already has the
 * epoch start) and when it stops (resigned, became follower, topic deleted, shutdown). Runs
 * synchronously inside the change; must not throw.
 */
export type LeadershipListener = (topic: string, partition: number, isLeader: boolean, leaderEpoch: number) => void;

export interface ReplicaManagerOptions {
  brokerId: number;
  logs: LogManager;
  logConfigFor: (topic: string) => LogConfig;
  /** min.insync.replicas in effect for a topic with `replicationFactor` replicas. */
  minInsyncFor: (topic: string, replicationFactor: number) => number;
  settings: ReplicationSettings;
  alterPartition: AlterPartitionSender;
  logger: Logger;
}

export class ReplicaManager {
  private readonly replicas = new Map<string, Map<number, PartitionReplica>>();
  private readonly fetchers = new Map<string, ReplicaFetcher>();
  private readonly changes = new SerialExecutor();
  private latest: MetadataImage = MetadataImage.EMPTY;
  private applied: MetadataImage = MetadataImage.EMPTY;
  private epoch: number | null = null;
  private refollowAll = false;
  private nextWaiterId = 1;
  private tickTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly leadershipListeners: LeadershipListener[] = [];

  constructor(private readonly options: ReplicaManagerOptions) {}

  /** See LeadershipListener (the group coordinator follows __consumer_offsets leadership). */
  onLeadershipChange(listener: LeadershipListener): void {
    this.leadershipListeners.push(listener);
  }

  private notifyLeadership(replica: PartitionReplica, isLeader: boolean, leaderEpoch: number): void {
    for (const listener of this.leadershipListeners) {
      try {
        listener(replica.topic, replica.partition, isLeader, leaderEpoch);
      } catch (err) {
        this.options.logger.error({ err, topic: replica.topic, partition: replica.partition }, 'replica manager: leadership listener failed');
      }
    }
  }

  get brokerId(): number {
    return this.options.brokerId;
  }

  get brokerEpoch(): number | null {
    return this.epoch;
  }

  /**
   * Local replicas of partitions that have no leader, no ISR and no ELR in the applied image (every
   * replica restarted uncleanly), with their logs' last epoch and end: the broker's heartbeat sends
   * them so the controller can elect the most complete replica. Such a replica neither leads nor
   * follows, so its log does not change while it is reported.
   */
  leaderlessReplicas(): LeaderlessReplicaReport[] {
    const out: LeaderlessReplicaReport[] = [];
    if (this.epoch === null || this.stopped) return out;
    for (const r of this.all()) {
      const reg = r.registration;
      if (!reg || reg.leader !== NO_LEADER || reg.isr.length > 0 || reg.elr.length > 0 || r.leader || r.follower) continue;
      out.push({ topicId: r.topicId, partition: r.partition, partitionEpoch: reg.partitionEpoch, lastEpoch: r.log.latestEpoch, logEndOffset: r.log.logEndOffset });
    }
    return out;
  }

  /** The newest image this broker knows (for hints). */
  get image(): MetadataImage {
    return this.latest;
  }

  /** A new committed image (MetadataStateMachine listener: synchronous, never throws). */
  onImage(next: MetadataImage): void {
    this.latest = next;
    this.scheduleApply();
  }

  /** The broker (re-)registered: apply images from now on; followers carry the new epoch. */
  onRegistered(brokerEpoch: number): void {
    if (this.epoch !== null && this.epoch !== brokerEpoch) this.refollowAll = true;
    this.epoch = brokerEpoch;
    if (!this.tickTimer && !this.stopped) {
      this.tickTimer = setInterval(() => this.tickLeaders(), LEADER_TICK_MS);
      this.tickTimer.unref();
    }
    this.scheduleApply();
  }

  replica(topic: string, partition: number): PartitionReplica | undefined {
    return this.replicas.get(topic)?.get(partition);
  }

  /** Every local replica (tests, describe). */
  all(): PartitionReplica[] {
    const out: PartitionReplica[] = [];
    for (const parts of this.replicas.values()) out.push(...parts.values());
    return out;
  }

  /**
   * The log of a partition this broker leads in `currentLeaderEpoch` (-1 = any), for consumers;
   * otherwise the typed error a client acts on (with the leader hint when one is known).
   */
  leaderLog(topic: string, partition: number, currentLeaderEpoch: number): { log: PartitionLog; leaderEpoch: number } {
    const leader = this.leaderOf(topic, partition);
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch < leader.leaderEpoch) {
      throw new FerryError(ErrorCode.FENCED_LEADER_EPOCH, `leader epoch ${currentLeaderEpoch} of ${topic}-${partition} is stale (current ${leader.leaderEpoch})`, this.hint(topic, partition));
    }
    if (currentLeaderEpoch > leader.leaderEpoch) {
      throw new FerryError(ErrorCode.UNKNOWN_LEADER_EPOCH, `leader epoch ${currentLeaderEpoch} of ${topic}-${partition} is newer than this broker's ${leader.leaderEpoch}`);
    }
    return { log: this.replica(topic, partition)!.log, leaderEpoch: leader.leaderEpoch };
  }

  /** Appends a produce batch as leader; with acks=all resolves only once the HW passed it. */
  async appendAsLeader(topic: string, partition: number, bytes: Buffer, validated: ValidatedBatches, acks: Acks, timeoutMs: number): Promise<AppendResult> {
    const leader = this.leaderOf(topic, partition);
    const replica = this.replica(topic, partition)!;
    const refused = leader.appendCheck(acks) ?? this.imageIsrCheck(topic, partition, acks, leader);
    if (refused) throw this.leaderError(refused, replica, leader);
    const appended = await replica.log.appendAsLeader(bytes, validated, leader.leaderEpoch);
    if (replica.leader !== leader || !leader.isLeading) {
      // Leadership changed while the append ran: the batch may be truncated away by the new leader.
      throw new FerryError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${replica.name}: leadership moved during the append`, this.hint(topic, partition));
    }
    this.onLeaderLogGrew(replica, leader);
    if (acks !== ACKS_ALL) return appended;
    const id = this.nextWaiterId++;
    const settled = new Promise<ErrorCode | null>((resolve) => replica.ackWaiters.set(id, resolve));
    this.applyLeaderEffects(replica, leader, leader.addAckWaiter(id, appended.lastOffset + 1, performance.now() + timeoutMs));
    const error = await settled;
    if (error) throw this.leaderError(error, replica, leader);
    return appended;
  }

  /**
   * The newest image may already show an ISR shrink the leader core has not applied yet (images are
   * applied on a queue): refuse acks=all on that too, so a client that saw the shrunk ISR in
   * metadata gets NOT_ENOUGH_REPLICAS rather than an append it cannot get acknowledged.
   */
  private imageIsrCheck(topic: string, partition: number, acks: Acks, leader: LeaderPartition): ErrorCode | null {
    if (acks !== ACKS_ALL) return null;
    const reg = this.latest.partition(topic, partition);
    if (!reg || reg.leaderEpoch !== leader.leaderEpoch) return null;
    return reg.isr.length < this.options.minInsyncFor(topic, reg.replicas.length) ? ErrorCode.NOT_ENOUGH_REPLICAS : null;
  }

  /** Stops fetching and leading (acks=all waiters fail); logs are closed by the log manager. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    await this.changes.run(async () => {
      for (const f of this.fetchers.values()) f.stop();
      this.fetchers.clear();
      for (const r of this.all()) {
        this.stopFollowing(r);
        this.resign(r, ErrorCode.SHUTTING_DOWN);
      }
    });
  }

  // ---- applying metadata ----

  private scheduleApply(): void {
    // Not before this broker's image includes its own registration (its broker epoch is that
    // entry's offset): an older image may still name it leader of partitions that moved while it
    // was down, at a stale leader epoch.
    if (this.epoch === null || this.stopped || this.latest.offset < this.epoch) return;
    void this.changes.run(() => this.applyLatest()).catch((err: unknown) => {
      this.options.logger.error({ err }, 'applying metadata to local replicas failed; retrying on the next image');
      this.applied = MetadataImage.EMPTY; // re-derive every role from scratch next time
    });
  }

  private async applyLatest(): Promise<void> {
    const next = this.latest;
    if (this.stopped || (next === this.applied && !this.refollowAll)) return;
    const refollow = this.refollowAll;
    this.refollowAll = false;
    const changes = localChanges(this.applied, next, this.options.brokerId);
    for (const c of changes.leaders) await this.becomeLeader(c);
    for (const c of changes.followers) await this.becomeFollower(c, false);
    if (refollow) {
      for (const r of this.all()) if (r.follower || (r.registration && r.registration.leader !== this.options.brokerId)) await this.refollow(r, next);
    }
    const deleted = new Set<string>();
    for (const r of changes.removed) {
      const replica = this.replica(r.topic, r.partition);
      if (replica) {
        this.stopFollowing(replica);
        this.resign(replica, ErrorCode.NOT_LEADER_OR_FOLLOWER);
        this.replicas.get(r.topic)?.delete(r.partition);
      }
      deleted.add(r.topic);
    }
    for (const topic of deleted) {
      if (this.replicas.get(topic)?.size === 0) this.replicas.delete(topic);
      if (next.topicByName(topic)) continue; // recreated under the same name: its new logs are in use
      await this.options.logs.deleteTopic(topic);
      this.options.logger.info({ topic }, 'replica manager: deleted the logs of a deleted topic');
    }
    this.applyConfigChanges(this.applied, next);
    this.applied = next;
    this.pruneFetchers();
  }

  private async ensureReplica(topic: string, partition: number, topicId: string): Promise<PartitionReplica> {
    const existing = this.replica(topic, partition);
    if (existing && existing.topicId === topicId) return existing;
    if (existing) {
      // Same name, new topic id: the old topic was deleted and recreated.
      this.stopFollowing(existing);
      this.resign(existing, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
    const log = this.options.logs.get(topic, partition) ?? (await this.options.logs.create(topic, partition, this.options.logConfigFor(topic)));
    await log.replicateHighWatermark();
    const replica = new PartitionReplica(topic, partition, topicId, log);
    let parts = this.replicas.get(topic);
    if (!parts) this.replicas.set(topic, (parts = new Map()));
    parts.set(partition, replica);
    return replica;
  }

  private async becomeLeader(change: LocalPartitionChange): Promise<void> {
    const reg = change.registration;
    const replica = await this.ensureReplica(change.topic, change.partition, change.topicId);
    replica.registration = reg;
    const current = replica.leader;
    if (current && current.leaderEpoch === reg.leaderEpoch && current.isLeading) {
      this.applyLeaderEffects(replica, current, current.onPartitionState({ leaderEpoch: reg.leaderEpoch, partitionEpoch: reg.partitionEpoch, isr: reg.isr }));
      return;
    }
    this.stopFollowing(replica);
    this.resign(replica, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const log = replica.log;
    await log.assignEpochStartOffset(reg.leaderEpoch);
    const leader = new LeaderPartition({
      brokerId: this.options.brokerId,
      replicas: reg.replicas,
      isr: reg.isr,
      leaderEpoch: reg.leaderEpoch,
      partitionEpoch: reg.partitionEpoch,
      logEndOffset: log.logEndOffset,
      highWatermark: Math.min(log.highWatermark, log.logEndOffset),
      nowMs: performance.now(),
      config: {
        replicaLagTimeMaxMs: this.options.settings.replicaLagTimeMaxMs,
        minInsyncReplicas: this.options.minInsyncFor(change.topic, reg.replicas.length),
        alterPartitionRetryMs: this.options.settings.alterPartitionRetryMs,
        isIsrEligible: (id) => {
          const b = this.latest.broker(id);
          return b !== undefined && !b.fenced && !b.inControlledShutdown && !b.recovering;
        },
      },
    });
    replica.leader = leader;
    this.options.logger.info(
      { topic: change.topic, partition: change.partition, leaderEpoch: reg.leaderEpoch, isr: reg.isr, replicas: reg.replicas, logEndOffset: log.logEndOffset, highWatermark: leader.highWatermark },
      'replica manager: became leader',
    );
    // A single-replica ISR can commit what it has at once.
    this.applyLeaderEffects(replica, leader, leader.onLocalAppend(log.logEndOffset, performance.now()));
    this.notifyLeadership(replica, true, reg.leaderEpoch);
  }

  private async becomeFollower(change: LocalPartitionChange, force: boolean): Promise<void> {
    const reg = change.registration;
    const replica = await this.ensureReplica(change.topic, change.partition, change.topicId);
    const before = replica.registration;
    replica.registration = reg;
    const f = replica.follower;
    const sameRole = !replica.leader && before !== null && before.leader === reg.leader && before.leaderEpoch === reg.leaderEpoch;
    if (sameRole && !force && (f !== null || reg.leader === NO_LEADER)) return; // an ISR-only change
    this.resign(replica, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    this.stopFollowing(replica);
    if (reg.leader === NO_LEADER) {
      this.options.logger.warn({ topic: change.topic, partition: change.partition, leaderEpoch: reg.leaderEpoch }, 'replica manager: partition offline (no leader)');
      return;
    }
    this.startFollowing(replica, reg);
    if (!sameRole) {
      this.options.logger.info(
        { topic: change.topic, partition: change.partition, leader: reg.leader, leaderEpoch: reg.leaderEpoch, logEndOffset: replica.log.logEndOffset },
        'replica manager: became follower',
      );
    }
  }

  private async refollow(replica: PartitionReplica, image: MetadataImage): Promise<void> {
    const topic = image.topicByName(replica.topic);
    const reg = topic?.partitions[replica.partition];
    if (!topic || !reg || reg.leader === this.options.brokerId) return;
    await this.becomeFollower({ topic: replica.topic, topicId: topic.id, partition: replica.partition, registration: reg, prev: null }, true);
  }

  private startFollowing(replica: PartitionReplica, reg: PartitionRegistration): void {
    const { settings } = this.options;
    replica.follower = new FollowerPartition({
      brokerId: this.options.brokerId,
      brokerEpoch: this.epoch ?? -1,
      leaderId: reg.leader,
      leaderEpoch: reg.leaderEpoch,
      truncateFirst: false,
      nowMs: performance.now(),
      fetchBackoffMs: settings.fetchBackoffMs,
      requestTimeoutMs: settings.fetchWaitMaxMs + settings.socketTimeoutMs,
    });
    this.fetcherFor(reg.leader)?.add(replica);
  }

  /**
   * A follower core parked in 'awaiting-metadata' (the leader answered NOT_LEADER_OR_FOLLOWER or an
   * epoch error) restarts after a backoff if the metadata still says the same: the leader may just
   * not have applied the image yet. A real change replaces the core anyway.
   */
  reviveFollower(replica: PartitionReplica, parked: FollowerPartition): void {
    const timer = setTimeout(() => {
      if (this.stopped || replica.follower !== parked || !replica.registration) return;
      this.stopFollowing(replica);
      this.startFollowing(replica, replica.registration);
    }, Math.max(50, this.options.settings.fetchBackoffMs));
    timer.unref();
  }

  private stopFollowing(replica: PartitionReplica): void {
    if (!replica.follower) return;
    for (const f of this.fetchers.values()) f.remove(replica);
    replica.follower = null;
  }

  private resign(replica: PartitionReplica, error: ErrorCode): void {
    const leader = replica.leader;
    if (!leader) return;
    replica.leader = null;
    this.applyLeaderEffects(replica, leader, leader.resign(error));
    replica.notifyAdvanced(); // wake replica long polls: they answer NOT_LEADER_OR_FOLLOWER now
    this.options.logger.info({ topic: replica.topic, partition: replica.partition, leaderEpoch: leader.leaderEpoch }, 'replica manager: resigned leadership');
    this.notifyLeadership(replica, false, leader.leaderEpoch);
  }

  private fetcherFor(leaderId: number): ReplicaFetcher | null {
    const address = this.latest.brokerAddress(leaderId);
    if (!address) {
      this.options.logger.warn({ leaderId }, 'replica manager: leader has no registered address; cannot fetch yet');
      return null;
    }
    const key = `${leaderId}@${address}`;
    let f = this.fetchers.get(key);
    if (!f) {
      f = new ReplicaFetcher({ leaderId, address, manager: this, settings: this.options.settings, logger: this.options.logger.child({ component: 'replica-fetcher', leaderId }) });
      this.fetchers.set(key, f);
      f.start();
    }
    return f;
  }

  private pruneFetchers(): void {
    for (const [key, f] of this.fetchers) {
      if (f.size > 0) continue;
      f.stop();
      this.fetchers.delete(key);
    }
  }

  private applyConfigChanges(prev: MetadataImage, next: MetadataImage): void {
    for (const [topic, parts] of this.replicas) {
      if (prev.topicConfigs(topic) === next.topicConfigs(topic)) continue;
      const config = this.options.logConfigFor(topic);
      for (const r of parts.values()) r.log.updateConfig(config);
    }
  }

  // ---- leader effects ----

  private leaderOf(topic: string, partition: number): LeaderPartition {
    const leader = this.replica(topic, partition)?.leader;
    if (leader && leader.isLeading) return leader;
    const t = this.latest.topicByName(topic);
    if (!t || partition < 0 || partition >= t.partitions.length || !Number.isInteger(partition)) {
      throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, t ? `topic ${topic} has no partition ${partition}` : `unknown topic ${topic}`);
    }
    const reg = t.partitions[partition]!;
    if (reg.leader === NO_LEADER) throw new FerryError(ErrorCode.LEADER_NOT_AVAILABLE, `${topic}-${partition} has no leader (no live in-sync replica)`);
    throw new FerryError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${this.options.brokerId} is not the leader of ${topic}-${partition}`, this.hint(topic, partition));
  }

  private hint(topic: string, partition: number): { leaderId: number; leaderAddress: string; leaderEpoch: number } | undefined {
    const reg = this.latest.partition(topic, partition);
    if (!reg || reg.leader === NO_LEADER || reg.leader === this.options.brokerId) return undefined;
    return { leaderId: reg.leader, leaderAddress: this.latest.brokerAddress(reg.leader) ?? '', leaderEpoch: reg.leaderEpoch };
  }

  private leaderError(code: ErrorCode, replica: PartitionReplica, leader: LeaderPartition): FerryError {
    const why: Partial<Record<ErrorCode, string>> = {
      [ErrorCode.NOT_ENOUGH_REPLICAS]: `the ISR ${JSON.stringify(leader.isr)} is smaller than min.insync.replicas`,
      [ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND]: 'appended, but the ISR shrank below min.insync.replicas before it committed',
      [ErrorCode.REQUEST_TIMED_OUT]: 'appended, but the ISR did not acknowledge it in time',
    };
    return new FerryError(code, `${replica.name}: ${why[code] ?? code}`, code === ErrorCode.NOT_LEADER_OR_FOLLOWER ? this.hint(replica.topic, replica.partition) : undefined);
  }

  /** The leader's replicable end: what followers may copy and what counts toward the HW. */
  leaderEnd(log: PartitionLog): number {
    return log.currentConfig.flushMode === 'always' ? log.flushedOffset : log.logEndOffset;
  }

  onLeaderLogGrew(replica: PartitionReplica, leader: LeaderPartition): void {
    const end = Math.max(leader.logEndOffset, this.leaderEnd(replica.log));
    if (end > leader.logEndOffset) {
      this.applyLeaderEffects(replica, leader, leader.onLocalAppend(end, performance.now()));
      replica.notifyAdvanced();
    }
  }

  applyLeaderEffects(replica: PartitionReplica, leader: LeaderPartition, effects: LeaderEffects): void {
    if (effects.highWatermark !== null) replica.log.setHighWatermark(effects.highWatermark);
    if (effects.alterPartition) this.sendAlterPartition(replica, leader, effects.alterPartition);
    for (const c of effects.completed) {
      const settle = replica.ackWaiters.get(c.id);
      if (!settle) continue;
      replica.ackWaiters.delete(c.id);
      settle(c.error);
    }
  }

  private sendAlterPartition(replica: PartitionReplica, leader: LeaderPartition, proposal: AlterPartitionProposal): void {
    const epoch = this.epoch;
    if (epoch === null) return;
    this.options.logger.info(
      { topic: replica.topic, partition: replica.partition, leaderEpoch: proposal.leaderEpoch, partitionEpoch: proposal.partitionEpoch, newIsr: proposal.newIsr.map((m) => m.brokerId), isr: leader.isr },
      'replica manager: proposing an ISR change',
    );
    this.options.alterPartition(replica, proposal, epoch).then(
      (outcome) => {
        if (replica.leader !== leader) return;
        if (!outcome.accepted) this.options.logger.warn({ topic: replica.topic, partition: replica.partition, state: outcome.state }, 'replica manager: ISR change refused');
        const answer: AlterPartitionAnswer = outcome.accepted && outcome.state
          ? { requestId: proposal.requestId, accepted: true, state: outcome.state }
          : { requestId: proposal.requestId, accepted: false, state: outcome.state };
        this.applyLeaderEffects(replica, leader, leader.onAlterPartitionAnswer(answer));
      },
      (err: unknown) => this.options.logger.warn({ topic: replica.topic, partition: replica.partition, err: (err as Error).message }, 'replica manager: ISR change not delivered; the leader resends it'),
    );
  }

  private tickLeaders(): void {
    const now = performance.now();
    for (const r of this.all()) {
      const leader = r.leader;
      if (!leader || !leader.isLeading) continue;
      this.onLeaderLogGrew(r, leader); // flush.mode=always: fsyncs finished since the last append
      this.applyLeaderEffects(r, leader, leader.tick(now));
    }
  }
}
