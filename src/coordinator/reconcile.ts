/**
 * Incremental handover for one member (the role of Kafka's CurrentAssignmentBuilder, KIP-848): moves
 * a member's current assignment towards its target without ever giving a partition to two members.
 *
 *  - Partitions leaving the member (in its assignment, not in its target) are first taken out of its
 *    assignment and parked in `pending`; the member stays at its epoch (its commits stay valid) in
 *    state `unrevoked` until its heartbeat's owned partitions no longer list any of them.
 *  - Only then does it move to the target epoch and receive new partitions — each only if no other
 *    member holds it (assigned or pending). Partitions still held elsewhere leave the member in
 *    state `unreleased`; later heartbeats pick them up as their holders let go.
 *  - Partitions in both the assignment and the target are never touched, so a member whose
 *    partitions did not move keeps consuming through the whole rebalance.
 *
 * Pure: returns the next MemberCurrent (the same object when nothing changes).
 */
import type { MemberCurrent } from './group.js';
import { EMPTY_ASSIGNMENT, equals, intersect, isEmpty, minus, overlaps, pairsOf, fromPairs, union, type Assignment } from './topic-partitions.js';

export interface ReconcileInput {
  memberId: string;
  current: MemberCurrent;
  target: Assignment;
  targetEpoch: number;
  /** What the member's heartbeat says it owns right now. */
  owned: Assignment;
  ownerOf: (topic: string, partition: number) => string | undefined;
}

export function reconcile(input: ReconcileInput): MemberCurrent {
  const { current } = input;
  switch (current.state) {
    case 'stable':
      return current.epoch === input.targetEpoch ? current : next(input);
    case 'unrevoked':
      // Still holding something it must give up: nothing else can happen until it lets go.
      return overlaps(input.owned, current.pending) ? current : next(input);
    case 'unreleased':
      return next(input);
  }
}

function next(input: ReconcileInput): MemberCurrent {
  const { current, target, memberId } = input;
  const keep = intersect(current.assigned, target);
  const revoke = minus(current.assigned, target);
  const wanted = minus(target, current.assigned);
  const free = fromPairs([...pairsOf(wanted)].filter(([t, p]) => {
    const owner = input.ownerOf(t, p);
    return owner === undefined || owner === memberId;
  }));
  const unreleased = !equals(free, wanted);
  if (!isEmpty(revoke) && overlaps(input.owned, revoke)) {
    const out: MemberCurrent = { epoch: current.epoch, previousEpoch: current.previousEpoch, state: 'unrevoked', assigned: keep, pending: revoke };
    return same(out, current) ? current : out;
  }
  const out: MemberCurrent = {
    epoch: input.targetEpoch,
    previousEpoch: input.targetEpoch === current.epoch ? current.previousEpoch : current.epoch,
    state: unreleased ? 'unreleased' : 'stable',
    assigned: union(keep, free),
    pending: EMPTY_ASSIGNMENT,
  };
  return same(out, current) ? current : out;
}

export function same(a: MemberCurrent, b: MemberCurrent): boolean {
  return a.epoch === b.epoch && a.previousEpoch === b.previousEpoch && a.state === b.state && equals(a.assigned, b.assigned) && equals(a.pending, b.pending);
}
