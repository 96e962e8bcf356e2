/**
 * The steps every handler composes: write a record (applying it at once, so the rest of the handler
 * sees its effect — the same `replay` that recovery runs), bump the group epoch, compute the target
 * assignment, remove a member, update a member's current assignment.
 *
 * Invariant asserted here, at the only place new ownership is written: a partition is never put in a
 * member's current assignment (or pending set) while another member holds it.
 */
import { strict as assert } from 'node:assert';
import { ASSIGNORS, type AssignorMember } from './assignors/index.js';
import type { CoordinatorConfig, CoordinatorEvent } from './api.js';
import { currentToValue, type Group, type MemberCurrent } from './group.js';
import type { CoordinatorRecord } from './records.js';
import { same } from './reconcile.js';
import { groupTopicMetadata, subscribedTopics } from './subscription.js';
import type { MemberTimers } from './timers.js';
import { describe, EMPTY_ASSIGNMENT, equals, fromPairs, pairsOf, toJson, union, type Assignment } from './topic-partitions.js';

/** At most this many moved partitions are listed in one rebalance log line (the count is always given). */
export const MOVED_LOG_MAX = 64;

export interface ShardContext {
  readonly config: CoordinatorConfig;
  readonly groups: Map<string, Group>;
  readonly topics: ReadonlyMap<string, number>;
  readonly timers: MemberTimers;
  replay(record: CoordinatorRecord): void;
  newMemberId(): string;
}

/** Collects one handler's records and events; each record is applied the moment it is written. */
export class Writer {
  readonly records: CoordinatorRecord[] = [];
  readonly events: CoordinatorEvent[] = [];
  constructor(private readonly shard: ShardContext) {}

  write(record: CoordinatorRecord): void {
    this.shard.replay(record);
    this.records.push(record);
  }

  event(e: CoordinatorEvent): void {
    this.events.push(e);
  }
}

/** The assignor the members prefer most (ties: config order), else the first enabled one. */
export function chooseAssignor(config: CoordinatorConfig, group: Group): string {
  const votes = new Map<string, number>();
  for (const m of group.members.values()) {
    const a = m.subscription.assignor;
    if (a && config.assignors.includes(a)) votes.set(a, (votes.get(a) ?? 0) + 1);
  }
  let best = config.assignors[0]!;
  let bestVotes = 0;
  for (const name of config.assignors) {
    const v = votes.get(name) ?? 0;
    if (v > bestVotes) [best, bestVotes] = [name, v];
  }
  return best;
}

export function bumpGroupEpoch(shard: ShardContext, w: Writer, group: Group, nowMs: number, reason: string): void {
  const topics = groupTopicMetadata([...group.members.values()].map((m) => m.subscription), shard.topics);
  const emptySinceMs = group.members.size === 0 ? group.emptySinceMs || nowMs : 0;
  w.write({ kind: 'group', group: group.id, value: { epoch: group.epoch + 1, topics, emptySinceMs } });
  computeTarget(shard, w, group, reason);
}

/** Runs the assignor when the group epoch moved past the target's; writes the targets that changed. */
export function computeTarget(shard: ShardContext, w: Writer, group: Group, reason: string): void {
  if (group.epoch <= group.assignmentEpoch) return;
  const assignorName = chooseAssignor(shard.config, group);
  const assignor = ASSIGNORS.get(assignorName);
  assert(assignor, `assignor ${assignorName} is enabled but not implemented`);
  const topics = new Map(Object.entries(group.topics));
  const members: AssignorMember[] = [...group.members.values()].map((m) => ({
    id: m.id,
    instanceId: m.subscription.instanceId,
    rackId: m.subscription.rackId,
    topics: subscribedTopics(m.subscription, topics),
  }));
  const result = assignor.assign({ members, topics, previous: group.targets });
  const moved: string[] = [];
  let movedCount = 0;
  for (const m of group.members.values()) {
    const next = result.get(m.id) ?? EMPTY_ASSIGNMENT;
    for (const [t, p] of pairsOf(next)) {
      const holder = group.ownerOf(t, p);
      if (holder === m.id) continue;
      movedCount++;
      if (moved.length < MOVED_LOG_MAX) moved.push(`${t}-${p}:${holder ?? '-'}->${m.id}`);
    }
    if (!equals(next, group.target(m.id))) w.write({ kind: 'target', group: group.id, member: m.id, value: { partitions: toJson(next) } });
  }
  w.write({ kind: 'target-meta', group: group.id, value: { assignmentEpoch: group.epoch } });
  w.event({ msg: 'group rebalanced', group: group.id, groupEpoch: group.epoch, assignor: assignorName, reason, members: group.members.size, movedCount, moved });
}

/** Writes the member's current assignment if it changed, keeping its revocation deadline in step. */
export function writeCurrent(shard: ShardContext, w: Writer, group: Group, memberId: string, next: MemberCurrent, nowMs: number): void {
  const member = group.members.get(memberId);
  assert(member, `writeCurrent: ${memberId} is not a member of ${group.id}`);
  const before = member.current;
  if (same(before, next)) return;
  for (const [t, p] of pairsOf(union(next.assigned, next.pending))) {
    const holder = group.ownerOf(t, p);
    assert(holder === undefined || holder === memberId, `${t}-${p} would be owned by ${memberId} while ${holder} holds it (group ${group.id})`);
  }
  w.write({ kind: 'current', group: group.id, member: memberId, value: currentToValue(next) });
  if (next.state === 'unrevoked') {
    const timeoutMs = member.subscription.rebalanceTimeoutMs;
    shard.timers.setRevocation(group.id, memberId, nowMs + timeoutMs);
  } else {
    shard.timers.setRevocation(group.id, memberId, null);
  }
  const added = fromPairs([...pairsOf(next.assigned)].filter(([t, p]) => !before.assigned.get(t)?.has(p) && !before.pending.get(t)?.has(p)));
  const revoking = next.pending;
  w.event({
    msg: 'member assignment updated',
    group: group.id,
    member: memberId,
    memberEpoch: next.epoch,
    previousEpoch: before.epoch,
    state: next.state,
    assigned: describe(next.assigned),
    added: describe(added),
    revoking: describe(revoking),
  });
}

/** Removes a member (tombstones for all of its keys), frees its partitions, and rebalances. */
export function removeMember(shard: ShardContext, w: Writer, group: Group, memberId: string, nowMs: number, reason: string): void {
  const member = group.members.get(memberId);
  if (!member) return;
  const held: Assignment = union(member.current.assigned, member.current.pending);
  w.write({ kind: 'current', group: group.id, member: memberId, value: null });
  w.write({ kind: 'target', group: group.id, member: memberId, value: null });
  w.write({ kind: 'member', group: group.id, member: memberId, value: null });
  shard.timers.clear(group.id, memberId);
  w.event({
    msg: `member ${reason}`,
    group: group.id,
    member: memberId,
    instanceId: member.subscription.instanceId || undefined,
    memberEpoch: member.current.epoch,
    released: describe(held),
    level: reason === 'left' ? 'info' : 'warn',
  });
  bumpGroupEpoch(shard, w, group, nowMs, `member ${memberId} ${reason}`);
}
