/**
 * LeaderPartition: the leader's side of one partition for one leader epoch (Kafka's
 * `Partition.scala` leader paths: updateFollowerFetchState, maybeExpandIsr, maybeShrinkIsr,
 * maybeIncrementLeaderHW, checkEnoughReplicasReachOffset), as a sans-I/O state machine. Time comes
 * in as `nowMs`; outputs are effects the caller applies (set the log's HW, send AlterPartition,
 * answer produce requests). A new instance is made for every leader epoch; `resign()` ends it.
 *
 * Invariants (asserted):
 *  - the high watermark never moves backwards in this epoch;
 *  - HW ≤ the leader's end offset and ≤ the known LEO of every member of the maximal ISR;
 *  - the HW advances only while the committed ISR has ≥ min.insync.replicas members (DESIGN §3,
 *    KIP-966): a record below the HW is on at least min.insync.replicas replicas, and a replica
 *    removed while the ISR is below that size still holds every committed record;
 *  - ISR ⊆ replicas, the leader is always in its ISR.
 *
 * The leader's own contribution to the HW is `leaderEndOffset`, fed by `onLocalAppend`. Kafka counts
 * its LEO (written, maybe not fsynced); a caller that wants "fsynced on the leader" passes the
 * flushed offset instead.
 */
import { strict as assert } from 'node:assert';
import { ErrorCode } from '../../protocol/errors.js';
import { AckWaiters, type CompletedWaiter } from './ack-waiters.js';
import { findDivergence } from './divergence.js';
import { FollowerProgress, UNKNOWN_LEO } from './follower-progress.js';
import { IsrChange, type AlterPartitionProposal, type IsrMember } from './isr-change.js';
import { ACKS_ALL, inReplicaOrder, type Acks, type BrokerId, type EpochEndOffset, type EpochLookup } from './types.js';

export interface LeaderConfig {
  /** replica.lag.time.max.ms */
  replicaLagTimeMaxMs: number;
  /** min.insync.replicas for this topic. */
  minInsyncReplicas: number;
  /** Resend an unanswered AlterPartition after this long. */
  alterPartitionRetryMs: number;
  /**
   * Whether metadata says a replica may join the ISR (registered, unfenced, not shutting down, not
   * recovering — KIP-841). The leader does not propose others: the controller would refuse them.
   * Absent: every replica may.
   */
  isIsrEligible?: (id: BrokerId) => boolean;
}

export interface LeaderInit {
  brokerId: BrokerId;
  replicas: readonly BrokerId[];
  isr: readonly BrokerId[];
  leaderEpoch: number;
  partitionEpoch: number;
  /** The local log when leadership starts: the epoch starts at its LEO (KIP-101). */
  logEndOffset: number;
  /** The local log's HW (≤ LEO); the leader's HW starts there and only grows. */
  highWatermark: number;
  nowMs: number;
  config: LeaderConfig;
}

/** What the caller must do after a call. Empty fields mean nothing to do. */
export interface LeaderEffects {
  /** The HW advanced to this offset: persist/expose it (log.setHighWatermark) and wake consumers. */
  highWatermark: number | null;
  /** Send this AlterPartition to the controller. */
  alterPartition: AlterPartitionProposal | null;
  /** acks=all produce requests that are now answered. */
  completed: CompletedWaiter[];
}

export interface FollowerFetch {
  followerId: BrokerId;
  brokerEpoch: number;
  fetchOffset: number;
  /** The epoch of the follower's last batch; -1 when its log is empty. */
  lastFetchedEpoch: number;
  /** The leader epoch the follower believes current; -1 skips fencing. */
  currentLeaderEpoch: number;
}

export type FollowerFetchResult =
  | { kind: 'error'; error: ErrorCode; effects: LeaderEffects }
  /** Serve [fetchOffset, maxOffset) of the local log (whole batches, bounded by the request's bytes). */
  | { kind: 'read'; fetchOffset: number; maxOffset: number; highWatermark: number; effects: LeaderEffects }
  /** No records: the follower must truncate (KIP-320). */
  | { kind: 'diverging'; divergingEpoch: EpochEndOffset; highWatermark: number; effects: LeaderEffects };

/** The controller's state for this partition as the leader sees it (from metadata or an AlterPartition answer). */
export interface LeaderPartitionState {
  leaderEpoch: number;
  partitionEpoch: number;
  isr: readonly BrokerId[];
}

export type AlterPartitionAnswer =
  | { requestId: number; accepted: true; state: LeaderPartitionState }
  /** Rejected; `state` is the controller's current state when it sent one. */
  | { requestId: number; accepted: false; state: LeaderPartitionState | null };

function noEffects(): LeaderEffects {
  return { highWatermark: null, alterPartition: null, completed: [] };
}

export class LeaderPartition {
  readonly brokerId: BrokerId;
  readonly leaderEpoch: number;
  readonly replicas: readonly BrokerId[];
  /** First offset written in this epoch: a follower below it is not in sync yet. */
  readonly epochStartOffset: number;
  private readonly config: LeaderConfig;
  private readonly isrState: IsrChange;
  private readonly followers = new Map<BrokerId, FollowerProgress>();
  private readonly waiters = new AckWaiters();
  private leaderEnd: number;
  private hw: number;
  private nextRequestId = 1;
  private state: 'leading' | 'fenced' | 'resigned' = 'leading';

  constructor(init: LeaderInit) {
    const { config } = init;
    assert.ok(init.replicas.includes(init.brokerId), 'the leader must be a replica');
    assert.ok(init.isr.includes(init.brokerId), 'the leader must be in its ISR');
    assert.ok(init.isr.every((id) => init.replicas.includes(id)), 'ISR ⊆ replicas');
    assert.ok(init.highWatermark >= 0 && init.highWatermark <= init.logEndOffset, 'HW must be within [0, LEO]');
    assert.ok(config.minInsyncReplicas >= 1 && config.replicaLagTimeMaxMs > 0 && config.alterPartitionRetryMs > 0, 'bad leader config');
    this.brokerId = init.brokerId;
    this.leaderEpoch = init.leaderEpoch;
    this.replicas = [...init.replicas];
    this.config = { ...config };
    this.isrState = new IsrChange(inReplicaOrder(init.replicas, init.isr), init.partitionEpoch);
    this.epochStartOffset = init.logEndOffset;
    this.leaderEnd = init.logEndOffset;
    this.hw = init.highWatermark;
    for (const id of init.replicas) {
      if (id !== init.brokerId) this.followers.set(id, new FollowerProgress(id, init.isr.includes(id), init.nowMs));
    }
  }

  get highWatermark(): number {
    return this.hw;
  }
  get logEndOffset(): number {
    return this.leaderEnd;
  }
  get isr(): readonly BrokerId[] {
    return this.isrState.committed;
  }
  get maximalIsr(): readonly BrokerId[] {
    return this.isrState.maximal;
  }
  get partitionEpoch(): number {
    return this.isrState.partitionEpoch;
  }
  get pendingAlter(): AlterPartitionProposal | null {
    return this.isrState.pending?.proposal ?? null;
  }
  get isLeading(): boolean {
    return this.state === 'leading';
  }
  get pendingAcks(): number {
    return this.waiters.size;
  }
  /** The follower's LEO as last accepted, or -1. */
  followerEndOffset(id: BrokerId): number {
    return this.followers.get(id)?.logEndOffset ?? UNKNOWN_LEO;
  }

  /** Before appending a produce batch: NOT_ENOUGH_REPLICAS for acks=all below min.insync.replicas. */
  appendCheck(acks: Acks): ErrorCode | null {
    if (this.state !== 'leading') return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (acks === ACKS_ALL && this.isrState.committed.length < this.config.minInsyncReplicas) return ErrorCode.NOT_ENOUGH_REPLICAS;
    return null;
  }

  /** The local log grew to `logEndOffset` (a leader append finished). */
  onLocalAppend(logEndOffset: number, nowMs: number): LeaderEffects {
    assert.ok(logEndOffset >= this.leaderEnd, 'a leader log never shrinks');
    this.leaderEnd = logEndOffset;
    const effects = noEffects();
    this.maybeAdvanceHw(effects);
    return effects;
  }

  /** An acks=all batch ending at `requiredOffset - 1` waits for the HW (may complete at once). */
  addAckWaiter(id: number, requiredOffset: number, deadlineMs: number): LeaderEffects {
    assert.ok(requiredOffset <= this.leaderEnd, 'waiting for an offset that was never appended');
    const effects = noEffects();
    if (this.state !== 'leading') {
      effects.completed.push({ id, error: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    } else if (requiredOffset <= this.hw) {
      effects.completed.push({ id, error: null });
    } else {
      this.waiters.add(id, requiredOffset, deadlineMs);
    }
    return effects;
  }

  onFollowerFetch(req: FollowerFetch, log: EpochLookup, nowMs: number): FollowerFetchResult {
    const effects = noEffects();
    const fail = (error: ErrorCode): FollowerFetchResult => ({ kind: 'error', error, effects });
    if (req.currentLeaderEpoch >= 0 && req.currentLeaderEpoch < this.leaderEpoch) return fail(ErrorCode.FENCED_LEADER_EPOCH);
    if (req.currentLeaderEpoch > this.leaderEpoch) return fail(ErrorCode.UNKNOWN_LEADER_EPOCH);
    if (this.state !== 'leading') return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const progress = this.followers.get(req.followerId);
    if (!progress) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const divergence = findDivergence(log, req.fetchOffset, req.lastFetchedEpoch);
    if (divergence === 'unknown') return fail(ErrorCode.OFFSET_OUT_OF_RANGE);
    if (divergence) return { kind: 'diverging', divergingEpoch: divergence, highWatermark: this.hw, effects };
    if (req.fetchOffset < log.logStartOffset || req.fetchOffset > this.leaderEnd) return fail(ErrorCode.OFFSET_OUT_OF_RANGE);

    progress.onFetch(req.fetchOffset, req.brokerEpoch, this.leaderEnd, nowMs);
    this.maybeExpandIsr(progress, nowMs, effects);
    this.maybeAdvanceHw(effects);
    return { kind: 'read', fetchOffset: req.fetchOffset, maxOffset: this.leaderEnd, highWatermark: this.hw, effects };
  }

  /** OffsetForLeaderEpoch on the leader (KIP-101): fenced like a fetch, then the log's answer. */
  offsetForLeaderEpoch(currentLeaderEpoch: number, requestedEpoch: number, log: EpochLookup): { error: ErrorCode } | EpochEndOffset {
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch < this.leaderEpoch) return { error: ErrorCode.FENCED_LEADER_EPOCH };
    if (currentLeaderEpoch > this.leaderEpoch) return { error: ErrorCode.UNKNOWN_LEADER_EPOCH };
    if (this.state !== 'leading') return { error: ErrorCode.NOT_LEADER_OR_FOLLOWER };
    return log.endOffsetForEpoch(requestedEpoch);
  }

  /** Periodic: ISR shrink for lagging followers, acks=all timeouts, AlterPartition resends. */
  tick(nowMs: number): LeaderEffects {
    const effects = noEffects();
    if (this.state !== 'leading') return effects;
    this.waiters.expire(nowMs, effects.completed);
    const pending = this.isrState.pending;
    if (pending) {
      if (nowMs - pending.sentAtMs >= this.config.alterPartitionRetryMs) {
        this.isrState.markResent(nowMs);
        effects.alterPartition = pending.proposal;
      }
      return effects;
    }
    const lagging = this.isrState.committed.filter((id) => {
      if (id === this.brokerId) return false;
      return !this.followers.get(id)!.isCaughtUp(this.leaderEnd, nowMs, this.config.replicaLagTimeMaxMs);
    });
    if (lagging.length > 0) {
      const newIsr = this.isrState.committed.filter((id) => !lagging.includes(id));
      effects.alterPartition = this.propose('shrink', newIsr, nowMs);
    }
    return effects;
  }

  onAlterPartitionAnswer(answer: AlterPartitionAnswer): LeaderEffects {
    const effects = noEffects();
    const pending = this.isrState.pending;
    if (this.state !== 'leading' || !pending || pending.proposal.requestId !== answer.requestId) return effects; // stale
    if (answer.state) this.applyState(answer.state, effects);
    if (!answer.accepted && this.isrState.pending?.proposal.requestId === answer.requestId) this.isrState.rejected();
    return effects;
  }

  /** Metadata from the controller for this partition. Another leader epoch is the caller's business. */
  onPartitionState(state: LeaderPartitionState): LeaderEffects {
    const effects = noEffects();
    if (this.state === 'resigned') return effects;
    this.applyState(state, effects);
    return effects;
  }

  /** Leadership ended (new epoch, or this broker stops): every waiter fails with `error`. */
  resign(error: ErrorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER): LeaderEffects {
    const effects = noEffects();
    this.state = 'resigned';
    this.waiters.failAll(error, effects.completed);
    return effects;
  }

  private applyState(state: LeaderPartitionState, effects: LeaderEffects): void {
    if (state.leaderEpoch > this.leaderEpoch) {
      // A newer epoch exists: we are fenced. Stop advancing anything until the caller swaps roles.
      this.state = 'fenced';
      this.waiters.failAll(ErrorCode.NOT_LEADER_OR_FOLLOWER, effects.completed);
      return;
    }
    if (state.leaderEpoch < this.leaderEpoch) return;
    assert.ok(state.isr.includes(this.brokerId), 'the controller removed the leader from the ISR in its own epoch');
    if (!this.isrState.commit(inReplicaOrder(this.replicas, state.isr), state.partitionEpoch)) return;
    if (this.isrState.committed.length < this.config.minInsyncReplicas) {
      this.waiters.failAll(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, effects.completed);
    }
    this.maybeAdvanceHw(effects);
  }

  /**
   * Kafka's isFollowerInSync — at least at the HW and at the start of this leader epoch — plus
   * "caught up" by the same rule the shrink uses. Without the last condition a follower far behind
   * the LEO but past a frozen HW (ISR below min.insync.replicas, KIP-966) would be added and shrunk
   * out again on the next tick, over and over.
   */
  private maybeExpandIsr(progress: FollowerProgress, nowMs: number, effects: LeaderEffects): void {
    if (this.isrState.pending || this.isrState.committed.includes(progress.brokerId)) return;
    if (this.config.isIsrEligible && !this.config.isIsrEligible(progress.brokerId)) return;
    if (progress.logEndOffset < this.hw || progress.logEndOffset < this.epochStartOffset) return;
    if (!progress.isCaughtUp(this.leaderEnd, nowMs, this.config.replicaLagTimeMaxMs)) return;
    effects.alterPartition = this.propose('expand', [...this.isrState.committed, progress.brokerId], nowMs);
  }

  private propose(kind: 'expand' | 'shrink', isr: readonly BrokerId[], nowMs: number): AlterPartitionProposal {
    const newIsr: IsrMember[] = inReplicaOrder(this.replicas, isr).map((id) => ({
      brokerId: id,
      brokerEpoch: id === this.brokerId ? -1 : this.followers.get(id)!.brokerEpoch,
    }));
    const proposal: AlterPartitionProposal = {
      requestId: this.nextRequestId++,
      leaderId: this.brokerId,
      leaderEpoch: this.leaderEpoch,
      partitionEpoch: this.isrState.partitionEpoch,
      newIsr,
    };
    this.isrState.propose(kind, proposal, nowMs);
    return proposal;
  }

  /** HW = min LEO over the maximal ISR, only while the committed ISR ≥ min.insync.replicas. */
  private maybeAdvanceHw(effects: LeaderEffects): void {
    if (this.state !== 'leading') return;
    if (this.isrState.committed.length < this.config.minInsyncReplicas) return;
    let candidate = this.leaderEnd;
    for (const id of this.isrState.maximal) {
      if (id === this.brokerId) continue;
      candidate = Math.min(candidate, this.followers.get(id)!.logEndOffset);
    }
    if (candidate <= this.hw) return;
    assert.ok(candidate <= this.leaderEnd, 'HW above the leader LEO');
    this.hw = candidate;
    effects.highWatermark = candidate;
    this.waiters.completeUpTo(candidate, effects.completed);
  }
}
