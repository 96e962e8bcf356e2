/**
 * One consumer group's state, as rebuilt from its records (records.ts). Nothing here decides
 * anything: `apply` folds one record into the state, and the handlers (membership.ts, offsets.ts)
 * read the state to decide which records to write next.
 *
 * Derived indexes kept in step by `apply`:
 *  - `owners`: partition → the member holding it (assigned or still revoking). A partition is given
 *    to a new owner only when it has none here: that is the "never owned by two at once" rule.
 *  - `staticMembers`: instance id → member id.
 */
import type { CurrentValue, MemberState, MemberValue, OffsetValue } from './records.js';
import { assignmentOf, EMPTY_ASSIGNMENT, pairsOf, toJson, tpKey, type Assignment } from './topic-partitions.js';

export const LEAVE_EPOCH = -1;
export const STATIC_LEAVE_EPOCH = -2;

export type GroupStateName = 'EMPTY' | 'ASSIGNING' | 'RECONCILING' | 'STABLE' | 'DEAD';

export interface MemberCurrent {
  epoch: number;
  previousEpoch: number;
  state: MemberState;
  /** What the member owns now (excludes `pending`). */
  assigned: Assignment;
  /** Partitions the member still holds but must give up before anyone else gets them. */
  pending: Assignment;
}

export const NEW_MEMBER_CURRENT: MemberCurrent = { epoch: 0, previousEpoch: 0, state: 'stable', assigned: EMPTY_ASSIGNMENT, pending: EMPTY_ASSIGNMENT };

export const EMPTY_SUBSCRIPTION: MemberValue = {
  instanceId: '',
  rackId: '',
  clientId: '',
  clientHost: '',
  topicNames: [],
  topicRegex: '',
  assignor: '',
  rebalanceTimeoutMs: 0,
  sessionTimeoutMs: 0,
};

export class Member {
  subscription: MemberValue = EMPTY_SUBSCRIPTION;
  current: MemberCurrent = NEW_MEMBER_CURRENT;
  constructor(readonly id: string) {}
}

export function currentToValue(c: MemberCurrent): CurrentValue {
  return { epoch: c.epoch, previousEpoch: c.previousEpoch, state: c.state, assigned: toJson(c.assigned), pending: toJson(c.pending) };
}

export function currentFromValue(v: CurrentValue): MemberCurrent {
  return { epoch: v.epoch, previousEpoch: v.previousEpoch, state: v.state, assigned: assignmentOf(v.assigned), pending: assignmentOf(v.pending) };
}

export class Group {
  epoch = 0;
  assignmentEpoch = 0;
  /** Partition counts of the subscribed topics at `epoch`. */
  topics: Record<string, number> = {};
  emptySinceMs = 0;
  /** True once a group record exists (a simple group that only commits offsets has none). */
  hasMetadata = false;
  readonly members = new Map<string, Member>();
  readonly targets = new Map<string, Assignment>();
  readonly offsets = new Map<string, Map<number, OffsetValue>>();
  readonly owners = new Map<string, string>();
  readonly staticMembers = new Map<string, string>();

  constructor(readonly id: string) {}

  /** Nothing left to remember: the shard forgets the group. */
  get isForgettable(): boolean {
    return !this.hasMetadata && this.members.size === 0 && this.offsets.size === 0 && this.targets.size === 0 && this.assignmentEpoch === 0;
  }

  get state(): GroupStateName {
    if (this.members.size === 0) return 'EMPTY';
    if (this.epoch > this.assignmentEpoch) return 'ASSIGNING';
    for (const m of this.members.values()) {
      if (m.current.epoch !== this.assignmentEpoch || m.current.state !== 'stable') return 'RECONCILING';
    }
    return 'STABLE';
  }

  target(memberId: string): Assignment {
    return this.targets.get(memberId) ?? EMPTY_ASSIGNMENT;
  }

  ownerOf(topic: string, partition: number): string | undefined {
    return this.owners.get(tpKey(topic, partition));
  }

  offsetCount(): number {
    let n = 0;
    for (const m of this.offsets.values()) n += m.size;
    return n;
  }

  private getOrCreateMember(id: string): Member {
    let m = this.members.get(id);
    if (!m) this.members.set(id, (m = new Member(id)));
    return m;
  }

  applyMember(memberId: string, value: MemberValue | null): void {
    const existing = this.members.get(memberId);
    if (existing && existing.subscription.instanceId) this.staticMembers.delete(existing.subscription.instanceId);
    if (value === null) {
      if (existing) this.setCurrent(existing, NEW_MEMBER_CURRENT);
      this.members.delete(memberId);
      this.targets.delete(memberId);
      return;
    }
    const m = this.getOrCreateMember(memberId);
    m.subscription = value;
    if (value.instanceId) this.staticMembers.set(value.instanceId, memberId);
  }

  applyCurrent(memberId: string, value: CurrentValue | null): void {
    if (value === null) {
      const m = this.members.get(memberId);
      if (m) this.setCurrent(m, NEW_MEMBER_CURRENT);
      return;
    }
    this.setCurrent(this.getOrCreateMember(memberId), currentFromValue(value));
  }

  applyTarget(memberId: string, partitions: Assignment | null): void {
    if (partitions === null) this.targets.delete(memberId);
    else this.targets.set(memberId, partitions);
  }

  applyOffset(topic: string, partition: number, value: OffsetValue | null): void {
    let byPartition = this.offsets.get(topic);
    if (value === null) {
      byPartition?.delete(partition);
      if (byPartition?.size === 0) this.offsets.delete(topic);
      return;
    }
    if (!byPartition) this.offsets.set(topic, (byPartition = new Map()));
    byPartition.set(partition, value);
  }

  /** Replaces a member's current assignment, moving its partitions in the owner index. */
  private setCurrent(m: Member, next: MemberCurrent): void {
    for (const a of [m.current.assigned, m.current.pending]) {
      for (const [t, p] of pairsOf(a)) if (this.owners.get(tpKey(t, p)) === m.id) this.owners.delete(tpKey(t, p));
    }
    // Replay is last-writer-wins here; that a live handover never double-assigns is asserted where
    // the records are made (membership.ts), not at replay, so a log written by an older version
    // still loads.
    for (const a of [next.assigned, next.pending]) for (const [t, p] of pairsOf(a)) this.owners.set(tpKey(t, p), m.id);
    m.current = next;
  }
}
