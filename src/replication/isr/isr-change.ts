/**
 * IsrChange: the leader's ISR with at most one AlterPartition in flight (Kafka's PartitionState:
 * CommittedPartitionState / PendingExpandIsr / PendingShrinkIsr).
 *
 * `committed` is the ISR the controller last confirmed, with its partition epoch. While a change is
 * in flight the leader uses the *maximal* ISR for the high watermark — committed ∪ the replica being
 * added — so the HW waits for every replica that is or may become an ISR member, and the
 * controller's ISR is always a subset of what the HW counted. The min.insync.replicas check uses the
 * committed ISR only (an expansion counts once confirmed; a shrink stops counting once confirmed).
 *
 * One change at a time: a new proposal waits until the previous one is answered (or superseded by
 * newer metadata), as Kafka does.
 *
 * Lost and duplicated messages: a proposal built on partition epoch p can only ever be applied while
 * the controller is at p. A rejection does not prove a resent copy will not be applied later, so
 * every replica proposed at the current committed epoch stays in the maximal ISR ("maybe members")
 * until the leader learns a newer partition epoch — only then is each proposal either visible in
 * the committed state or void. Metadata at the same partition epoch settles nothing.
 */
import { strict as assert } from 'node:assert';
import type { BrokerId } from './types.js';

/** A member of a proposed ISR and the broker epoch the leader saw it fetch with (KIP-903). */
export interface IsrMember {
  brokerId: BrokerId;
  brokerEpoch: number;
}

/** What a leader sends the controller (the AlterPartition request for one partition). */
export interface AlterPartitionProposal {
  /** Matches the answer to the proposal; stale answers are ignored. */
  requestId: number;
  leaderId: BrokerId;
  leaderEpoch: number;
  /** The partition epoch the proposal was computed from; the controller rejects any other. */
  partitionEpoch: number;
  newIsr: IsrMember[];
}

export interface PendingChange {
  kind: 'expand' | 'shrink';
  proposal: AlterPartitionProposal;
  sentAtMs: number;
}

export class IsrChange {
  private committedIsr: readonly BrokerId[];
  private committedEpoch: number;
  private inFlight: PendingChange | null = null;
  /** Every replica proposed for addition at `committedEpoch` (may still be applied by a late copy). */
  private maybeMembers = new Set<BrokerId>();

  constructor(isr: readonly BrokerId[], partitionEpoch: number) {
    this.committedIsr = [...isr];
    this.committedEpoch = partitionEpoch;
  }

  get committed(): readonly BrokerId[] {
    return this.committedIsr;
  }

  get partitionEpoch(): number {
    return this.committedEpoch;
  }

  get pending(): PendingChange | null {
    return this.inFlight;
  }

  /** committed ∪ any replica proposed for addition at this partition epoch: what the HW waits for. */
  get maximal(): readonly BrokerId[] {
    if (this.maybeMembers.size === 0) return this.committedIsr;
    const ids = new Set(this.committedIsr);
    for (const id of this.maybeMembers) ids.add(id);
    return [...ids];
  }

  propose(kind: PendingChange['kind'], proposal: AlterPartitionProposal, nowMs: number): void {
    assert.equal(this.inFlight, null, 'an ISR change is already in flight');
    assert.equal(proposal.partitionEpoch, this.committedEpoch, 'a proposal must build on the committed partition epoch');
    if (kind === 'shrink') assert.ok(proposal.newIsr.every((m) => this.committedIsr.includes(m.brokerId)), 'a shrink only removes members');
    this.inFlight = { kind, proposal, sentAtMs: nowMs };
    for (const m of proposal.newIsr) if (!this.committedIsr.includes(m.brokerId)) this.maybeMembers.add(m.brokerId);
  }

  markResent(nowMs: number): void {
    if (this.inFlight) this.inFlight.sentAtMs = nowMs;
  }

  /**
   * The controller's state for our leader epoch. Adopted only when newer: then every proposal built
   * on an older epoch is settled (applied, and visible here, or void forever).
   */
  commit(isr: readonly BrokerId[], partitionEpoch: number): boolean {
    if (partitionEpoch <= this.committedEpoch) return false;
    this.committedIsr = [...isr];
    this.committedEpoch = partitionEpoch;
    this.inFlight = null;
    this.maybeMembers.clear();
    return true;
  }

  /** The in-flight proposal was rejected: another may be sent, its replicas stay in the maximal ISR. */
  rejected(): void {
    this.inFlight = null;
  }
}
