/**
 * Group membership: an AssignmentSource that joins a consumer group, keeps the membership alive
 * with heartbeats and hands partitions to and from the consumer as the coordinator decides
 * (group.proto: KIP-848-style heartbeats with member epochs, incremental handover).
 *
 * Life of a member:
 *  1. Join: Heartbeat with member_epoch 0 and the subscription; the answer names the member id,
 *     its epoch, the heartbeat interval and (maybe) a target assignment.
 *  2. Heartbeat every `heartbeat_interval_ms` with the current epoch and `owned_partitions`.
 *  3. Reconcile each new target, one at a time, in this order:
 *     - revoked = owned − target: `listener.onRevoked` (the consumer stops fetching them, waits for
 *       the record in processing, runs the application's listener, commits); only then are they
 *       dropped from `owned` and a heartbeat goes out at once, which acknowledges the revocation;
 *     - added = target − owned: committed offsets are fetched (FetchOffsets), `listener.onAssigned`
 *       starts them there (none committed → autoOffsetReset), they join `owned`, heartbeat at once.
 *  4. Leave on stop(): everything owned is revoked as above (so it is committed), then a Heartbeat
 *     with epoch -1 (-2 for a static member, which keeps its place for the session timeout).
 *
 * Errors: UNKNOWN_MEMBER_ID / FENCED_MEMBER_EPOCH → every owned partition is lost (`onLost`: dropped
 * without a commit, which would be rejected anyway) and the member rejoins with epoch 0 (a new
 * member id after UNKNOWN_MEMBER_ID). Coordinator moves and transport errors → rediscover with
 * exponential backoff. If no heartbeat succeeded for the session timeout, the coordinator has
 * given our partitions away: they are dropped as lost before anyone else can own them twice.
 * Anything else non-retriable (INVALID_GROUP_ID, GROUP_MAX_SIZE_REACHED, UNSUPPORTED_ASSIGNOR,
 * FENCED_INSTANCE_ID...) is fatal: partitions are lost, the loop stops and `onFatal` reports it.
 *
 * What a heartbeat reports as owned is conservative: `owned` plus whatever the coordinator has
 * assigned and the member may be about to take (the newest target, and the partitions of the step
 * in progress). A partition is never taken without being reported, so the coordinator cannot give
 * it to another member while this one starts on it.
 *
 * Async interleaving: reconciliation runs as one loop at a time (`reconciling`); heartbeats keep
 * going meanwhile. `generation` is bumped whenever everything is
 * lost, and a reconciliation step that awaited across such a bump abandons its result.
 */
import type { GroupHeartbeatResponse__Output } from '../generated/ferry/v1/GroupHeartbeatResponse.js';
import { ErrorCode, type FerryError } from '../protocol/errors.js';
import type { AssignmentListener, AssignmentSource } from './assignment.js';
import type { ClientContext } from './context.js';
import { isRetriableForGroup, type CoordinatorLink } from './coordinator.js';
import { toFerryError } from './errors.js';
import type { MemberIdentity } from './offset-committer.js';
import { DEFAULT_SESSION_TIMEOUT_MS, type ResolvedConsumerOptions } from './options.js';
import { diffAssignment, fromWire, toWire, tpKey } from './rebalance.js';
import { backoffMs, sleep } from './retry.js';
import type { Subscription, TopicPartition, TopicPartitionOffset } from './types.js';

export const LEAVE_EPOCH = -1;
export const STATIC_LEAVE_EPOCH = -2;
/** Deadline of the leave heartbeat sent on close, ms: leaving is best effort (the session timeout covers a lost one). */
export const LEAVE_TIMEOUT_MS = 5_000;

export interface MembershipDeps {
  ctx: ClientContext;
  options: ResolvedConsumerOptions & { groupId: string };
  link: CoordinatorLink;
  subscription: Subscription;
  /** Committed offsets of `parts`, -1 where none (FetchOffsets). */
  fetchCommitted(parts: TopicPartition[]): Promise<Map<string, number>>;
  /** A non-retriable failure: the membership has stopped. */
  onFatal(err: FerryError): void;
}

export class GroupMembership implements AssignmentSource {
  memberId = '';
  memberEpoch = 0;
  private subscription: Subscription;
  private subscriptionChanged = true;
  private readonly owned = new Map<string, TopicPartition>();
  /** Newest target not yet reconciled. */
  private target: TopicPartition[] | null = null;
  /** Newest target received (reconciled or not). */
  private latestTarget: TopicPartition[] = [];
  /** Partitions the reconciliation step in progress is taking on. */
  private readonly taking = new Map<string, TopicPartition>();
  private reconciling: Promise<void> | null = null;
  private generation = 0;
  private listener: AssignmentListener | null = null;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private beatAgain = false;
  private intervalMs: number;
  private failures = 0;
  /** When the last heartbeat was answered (or the member joined), ms; 0 = not a member. */
  private lastAnsweredMs = 0;
  private leaving = false;
  private stopped = false;

  constructor(private readonly deps: MembershipDeps) {
    this.subscription = deps.subscription;
    this.intervalMs = deps.options.heartbeatIntervalMs;
  }

  get groupId(): string {
    return this.deps.options.groupId;
  }

  /** Id and epoch for commits, as they are now (a commit retried after a heartbeat picks up the new epoch). */
  identity(): MemberIdentity {
    return { memberId: this.memberId, memberEpoch: this.memberEpoch };
  }

  ownedPartitions(): TopicPartition[] {
    return [...this.owned.values()];
  }

  start(listener: AssignmentListener): void {
    this.listener = listener;
    this.schedule(0);
  }

  /** A new subscription goes out with the next heartbeat, which is sent now. */
  setSubscription(subscription: Subscription): void {
    this.subscription = subscription;
    this.subscriptionChanged = true;
    this.beatNow();
  }

  /** Revokes (and so commits) everything owned, then leaves the group. */
  async stop(): Promise<void> {
    if (this.leaving || this.stopped) return;
    this.leaving = true;
    this.target = null;
    this.latestTarget = [];
    await this.reconciling;
    const parts = [...this.owned.values()];
    const gen = this.generation;
    if (parts.length > 0 && this.listener) {
      try {
        await this.listener.onRevoked(parts);
      } catch (err) {
        this.deps.ctx.logger.warn({ groupId: this.groupId, err: toFerryError(err).message }, 'revoke on leave failed');
      }
    }
    if (gen === this.generation) this.owned.clear();
    this.stopped = true;
    this.clearTimer();
    await this.inFlight;
    if (this.memberId !== '' && this.memberEpoch > 0) {
      const epoch = this.deps.options.groupInstanceId !== null ? STATIC_LEAVE_EPOCH : LEAVE_EPOCH;
      try {
        await this.deps.link.call<GroupHeartbeatResponse__Output>(
          (c, o, cb) => c.Heartbeat({ ...this.request(), memberEpoch: epoch, ownedPartitions: [] }, o, cb),
          LEAVE_TIMEOUT_MS,
        );
      } catch (err) {
        this.deps.ctx.logger.debug({ groupId: this.groupId, err: toFerryError(err).message }, 'leave heartbeat failed');
      }
    }
    this.memberEpoch = LEAVE_EPOCH;
    this.listener = null;
    this.deps.link.close();
  }

  // ── heartbeat loop ──

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.beat();
    }, Math.max(0, delayMs));
  }

  /** Heartbeat as soon as possible (after the one in flight, whose owned list is already stale). */
  private beatNow(): void {
    if (this.inFlight) this.beatAgain = true;
    else this.schedule(0);
  }

  private sessionTimeoutMs(): number {
    return this.deps.options.sessionTimeoutMs || DEFAULT_SESSION_TIMEOUT_MS;
  }

  private request() {
    const o = this.deps.options;
    const sub = this.subscription;
    const sendSubscription = this.subscriptionChanged || this.memberEpoch === 0;
    const pattern = 'pattern' in sub ? (typeof sub.pattern === 'string' ? sub.pattern : sub.pattern.source) : '';
    return {
      groupId: o.groupId,
      memberId: this.memberId,
      memberEpoch: this.memberEpoch,
      instanceId: o.groupInstanceId ?? '',
      rackId: '',
      rebalanceTimeoutMs: o.rebalanceTimeoutMs,
      sessionTimeoutMs: o.sessionTimeoutMs,
      subscribedTopicNames: sendSubscription && 'topics' in sub ? sub.topics : [],
      subscribedTopicRegex: sendSubscription ? pattern : '',
      serverAssignor: o.assignor,
      ownedPartitions: toWire(this.reportedOwned()),
      subscriptionChanged: sendSubscription,
    };
  }

  /** owned ∪ taking ∪ latestTarget: see the file comment. */
  private reportedOwned(): TopicPartition[] {
    const all = new Map(this.owned);
    for (const [k, p] of this.taking) all.set(k, p);
    for (const p of this.latestTarget) all.set(tpKey(p.topic, p.partition), p);
    return [...all.values()];
  }

  private beat(): void {
    if (this.stopped || this.inFlight) return;
    if (this.lastAnsweredMs > 0 && Date.now() - this.lastAnsweredMs > this.sessionTimeoutMs() && this.owned.size > 0) {
      this.deps.ctx.logger.warn({ groupId: this.groupId, memberId: this.memberId }, 'no heartbeat answered within the session timeout; partitions lost');
      this.loseAll(false);
    }
    const req = this.request();
    const sentSubscription = req.subscriptionChanged;
    const timeoutMs = Math.min(this.deps.ctx.requestTimeoutMs, Math.max(1000, Math.floor(this.sessionTimeoutMs() / 2)));
    this.inFlight = this.deps.link
      .call<GroupHeartbeatResponse__Output>((c, o, cb) => c.Heartbeat(req, o, cb), timeoutMs)
      .then(
        (res) => {
          if (sentSubscription) this.subscriptionChanged = false;
          this.onAnswer(res);
        },
        (err: unknown) => this.onFailure(toFerryError(err)),
      )
      .finally(() => {
        this.inFlight = null;
        if (this.beatAgain) {
          this.beatAgain = false;
          this.schedule(0);
        }
      });
  }

  private onAnswer(res: GroupHeartbeatResponse__Output): void {
    if (this.stopped) return;
    this.failures = 0;
    this.lastAnsweredMs = Date.now();
    const joined = this.memberEpoch === 0;
    this.memberId = res.memberId || this.memberId;
    this.memberEpoch = res.memberEpoch;
    if (res.heartbeatIntervalMs > 0) this.intervalMs = res.heartbeatIntervalMs;
    if (joined) this.deps.ctx.logger.info({ groupId: this.groupId, memberId: this.memberId, epoch: this.memberEpoch }, 'joined group');
    if (res.hasAssignment && !this.leaving) {
      this.target = fromWire(res.assignment);
      this.latestTarget = this.target;
      this.kickReconcile();
    }
    this.schedule(this.intervalMs);
  }

  private onFailure(err: FerryError): void {
    if (this.stopped) return;
    this.failures++;
    const log = { groupId: this.groupId, memberId: this.memberId, epoch: this.memberEpoch, code: err.code, err: err.message };
    switch (err.code) {
      case ErrorCode.UNKNOWN_MEMBER_ID:
      case ErrorCode.FENCED_MEMBER_EPOCH:
        this.deps.ctx.logger.warn(log, 'fenced by the coordinator; rejoining');
        if (err.code === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
        this.loseAll(true);
        this.schedule(0);
        return;
      default:
        break;
    }
    if (isRetriableForGroup(err)) {
      this.deps.ctx.logger.debug(log, 'heartbeat failed; retrying');
      const o = this.deps.options;
      this.schedule(Math.min(this.intervalMs, backoffMs(this.failures, o.retryBackoffMs, o.retryBackoffMaxMs)));
      return;
    }
    this.deps.ctx.logger.error(log, 'group membership failed');
    this.loseAll(false);
    this.stopped = true;
    this.clearTimer();
    this.deps.onFatal(err);
  }

  /** Drops every owned partition without a commit and resets to a joining member. */
  private loseAll(rejoin: boolean): void {
    this.generation++;
    this.target = null;
    this.latestTarget = [];
    this.taking.clear();
    const parts = [...this.owned.values()];
    this.owned.clear();
    this.memberEpoch = 0;
    this.lastAnsweredMs = 0;
    if (rejoin) this.subscriptionChanged = true;
    if (parts.length > 0) void this.listener?.onLost?.(parts);
  }

  // ── reconciliation ──

  private kickReconcile(): void {
    if (this.reconciling) return; // the running loop picks up the newest target when it gets there
    this.reconciling = this.reconcileLoop()
      .catch((err: unknown) => this.deps.ctx.logger.error({ groupId: this.groupId, err: toFerryError(err).message }, 'reconciliation failed'))
      .finally(() => {
        this.reconciling = null;
        if (this.target !== null && !this.leaving && !this.stopped) this.kickReconcile();
      });
  }

  private async reconcileLoop(): Promise<void> {
    while (this.target !== null && !this.leaving && !this.stopped && this.listener) {
      const target = this.target;
      this.target = null;
      const gen = this.generation;
      const { revoked, added } = diffAssignment(this.owned.values(), target);
      if (revoked.length > 0) {
        this.deps.ctx.logger.info({ groupId: this.groupId, memberId: this.memberId, revoked: toWire(revoked) }, 'revoking partitions');
        await this.listener.onRevoked(revoked);
        if (gen !== this.generation) continue;
        for (const p of revoked) this.owned.delete(tpKey(p.topic, p.partition));
        this.beatNow();
      }
      if (added.length === 0 || this.leaving) continue;
      for (const p of added) this.taking.set(tpKey(p.topic, p.partition), p);
      const offsets = await this.committedWithRetry(added, gen);
      if (offsets === null || gen !== this.generation || this.leaving) {
        if (gen === this.generation) for (const p of added) this.taking.delete(tpKey(p.topic, p.partition));
        continue;
      }
      const parts: TopicPartitionOffset[] = added.map((p) => {
        const off = offsets.get(tpKey(p.topic, p.partition)) ?? -1;
        return off >= 0 ? { ...p, offset: off } : { ...p };
      });
      this.deps.ctx.logger.info({ groupId: this.groupId, memberId: this.memberId, assigned: toWire(added) }, 'partitions assigned');
      for (const p of added) {
        this.owned.set(tpKey(p.topic, p.partition), p);
        this.taking.delete(tpKey(p.topic, p.partition));
      }
      await this.listener.onAssigned(parts);
      if (gen !== this.generation) {
        // Lost while the listener ran: loseAll saw them in `owned` and dropped them already.
        continue;
      }
      this.beatNow();
    }
  }

  /** FetchOffsets until it works, the membership moves on (null) or stops. */
  private async committedWithRetry(parts: TopicPartition[], gen: number): Promise<Map<string, number> | null> {
    const o = this.deps.options;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.deps.fetchCommitted(parts);
      } catch (err) {
        const e = toFerryError(err);
        if (!isRetriableForGroup(e)) {
          this.deps.ctx.logger.error({ groupId: this.groupId, err: e.message }, 'fetching committed offsets failed');
          this.deps.onFatal(e);
          return null;
        }
        await sleep(backoffMs(attempt, o.retryBackoffMs, o.retryBackoffMaxMs));
        if (gen !== this.generation || this.leaving || this.stopped) return null;
      }
    }
  }
}
