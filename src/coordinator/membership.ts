/**
 * The Heartbeat handler: join (member_epoch 0), heartbeat (> 0), leave (-1), static leave (-2).
 *
 * Fencing (KIP-848): a heartbeat at an epoch above the member's is FENCED_MEMBER_EPOCH; below it,
 * it is accepted only as the retry of a lost answer (the epoch is the member's previous one and it
 * owns nothing outside its assignment), else FENCED_MEMBER_EPOCH; an unknown member id is
 * UNKNOWN_MEMBER_ID; a member id replaced by a newer incarnation of its static instance is
 * FENCED_INSTANCE_ID. Fenced members rejoin with epoch 0 after giving up their partitions.
 *
 * Static membership: a join carrying an instance id that another member id holds replaces that
 * member — same epoch, same assignment, no group epoch bump — whether the old one left with -2 or
 * died without a word (its process restarted within the session timeout). A static member leaving
 * with -2 keeps its place and partitions until its session timeout expires.
 *
 * The answer carries the member's epoch and, when the member must learn it (on join, when its
 * epoch or assignment changed, or when its owned partitions differ from its assignment), the
 * partitions it should own now. Mid-handover the heartbeat interval shrinks to
 * HANDOVER_HEARTBEAT_INTERVAL_MS so the handover does not wait a full interval per step.
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';
import type { CoordinatorResult, HeartbeatRequest, HeartbeatResponse } from './api.js';
import { currentToValue, Group, LEAVE_EPOCH, STATIC_LEAVE_EPOCH, type Member } from './group.js';
import { bumpGroupEpoch, computeTarget, removeMember, writeCurrent, Writer, type ShardContext } from './group-ops.js';
import type { MemberValue } from './records.js';
import { reconcile } from './reconcile.js';
import { compileTopicRegex } from './subscription.js';
import { equals, fromList, isEmpty, minus, toJson, toList, union } from './topic-partitions.js';

export const GROUP_ID_CHARS_MAX = 255;
export const SESSION_TIMEOUT_MS_MIN = 500;
export const SESSION_TIMEOUT_MS_MAX = 30 * 60_000;
/**
 * Heartbeat interval told to a member while it is mid-handover (revoking, or waiting for partitions
 * others still hold), ms: its next heartbeat is what moves the handover on, so it comes sooner.
 */
export const HANDOVER_HEARTBEAT_INTERVAL_MS = 200;
/** Used when a member sends rebalance_timeout_ms = 0 (Kafka's max.poll.interval.ms default). */
export const DEFAULT_REBALANCE_TIMEOUT_MS = 300_000;

export function validateGroupId(groupId: string): void {
  if (!groupId) throw new FerryError(ErrorCode.INVALID_GROUP_ID, 'group_id is empty');
  if (groupId.length > GROUP_ID_CHARS_MAX) throw new FerryError(ErrorCode.INVALID_GROUP_ID, `group_id is ${groupId.length} characters; at most ${GROUP_ID_CHARS_MAX}`);
}

export function heartbeat(shard: ShardContext, req: HeartbeatRequest, nowMs: number): CoordinatorResult<HeartbeatResponse> {
  validateGroupId(req.groupId);
  const w = new Writer(shard);
  let response: HeartbeatResponse;
  if (req.memberEpoch === 0) response = join(shard, w, req, nowMs);
  else if (req.memberEpoch === LEAVE_EPOCH || req.memberEpoch === STATIC_LEAVE_EPOCH) response = leave(shard, w, req, nowMs);
  else if (req.memberEpoch > 0) response = beat(shard, w, req, nowMs);
  else throw new FerryError(ErrorCode.INVALID_REQUEST, `member_epoch ${req.memberEpoch} is not 0, -1, -2 or a positive epoch`);
  return { response, records: w.records, events: w.events };
}

function sessionTimeoutOf(shard: ShardContext, req: HeartbeatRequest): number {
  const ms = req.sessionTimeoutMs || shard.config.sessionTimeoutMs;
  if (ms < SESSION_TIMEOUT_MS_MIN || ms > SESSION_TIMEOUT_MS_MAX) {
    throw new FerryError(ErrorCode.INVALID_REQUEST, `session_timeout_ms ${ms} is outside [${SESSION_TIMEOUT_MS_MIN}, ${SESSION_TIMEOUT_MS_MAX}]`);
  }
  return ms;
}

/** The subscription a request asks for, validated, with settings the request left out kept from `previous`. */
function subscriptionOf(shard: ShardContext, req: HeartbeatRequest, previous: MemberValue | undefined): MemberValue {
  if (req.subscribedTopicRegex) compileTopicRegex(req.subscribedTopicRegex);
  if (req.serverAssignor && !shard.config.assignors.includes(req.serverAssignor)) {
    throw new FerryError(ErrorCode.UNSUPPORTED_ASSIGNOR, `server_assignor ${req.serverAssignor} is not one of ${shard.config.assignors.join(', ')}`);
  }
  return {
    instanceId: req.instanceId,
    rackId: req.rackId || previous?.rackId || '',
    clientId: req.clientId || previous?.clientId || '',
    clientHost: req.clientHost || previous?.clientHost || '',
    topicNames: [...new Set(req.subscribedTopicNames)].sort(),
    topicRegex: req.subscribedTopicRegex,
    assignor: req.serverAssignor,
    rebalanceTimeoutMs: req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : previous?.rebalanceTimeoutMs || DEFAULT_REBALANCE_TIMEOUT_MS,
    sessionTimeoutMs: sessionTimeoutOf(shard, req),
  };
}

function sameSubscription(a: MemberValue, b: MemberValue): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Subscription changes that alter who gets what (everything else is bookkeeping). */
function assignmentRelevantChange(a: MemberValue, b: MemberValue): boolean {
  return a.topicRegex !== b.topicRegex || a.assignor !== b.assignor || a.rackId !== b.rackId || a.topicNames.join('\u0000') !== b.topicNames.join('\u0000');
}

function join(shard: ShardContext, w: Writer, req: HeartbeatRequest, nowMs: number): HeartbeatResponse {
  let group = shard.groups.get(req.groupId);
  const memberId = req.memberId || shard.newMemberId();
  const existing = group?.members.get(memberId);
  const subscription = subscriptionOf(shard, req, existing?.subscription);
  if (!group) {
    group = new Group(req.groupId);
    shard.groups.set(group.id, group);
  }
  let bump: string | null = null;
  const staticHolder = req.instanceId ? group.staticMembers.get(req.instanceId) : undefined;
  if (staticHolder !== undefined && staticHolder !== memberId && existing) {
    throw new FerryError(ErrorCode.UNRELEASED_INSTANCE_ID, `instance ${req.instanceId} is held by member ${staticHolder}, not ${memberId}`);
  }
  if (staticHolder !== undefined && staticHolder !== memberId) {
    replaceStaticMember(shard, w, group, staticHolder, memberId, subscription);
    if (assignmentRelevantChange(group.members.get(memberId)!.subscription, subscription)) bump = `member ${memberId} changed its subscription`;
  } else if (!existing) {
    if (group.members.size >= shard.config.maxGroupSize) {
      if (group.isForgettable) shard.groups.delete(group.id);
      throw new FerryError(ErrorCode.GROUP_MAX_SIZE_REACHED, `group ${group.id} already has ${group.members.size} members (group.max.size)`);
    }
    w.event({ msg: 'member joined', group: group.id, member: memberId, instanceId: req.instanceId || undefined, groupEpoch: group.epoch + 1 });
    bump = `member ${memberId} joined`;
  } else if (assignmentRelevantChange(existing.subscription, subscription)) {
    bump = `member ${memberId} changed its subscription`;
  }
  const member = group.members.get(memberId);
  if (!member || !sameSubscription(member.subscription, subscription)) {
    w.write({ kind: 'member', group: group.id, member: memberId, value: subscription });
  }
  if (existing) {
    w.event({ msg: 'member rejoined', group: group.id, member: memberId, memberEpoch: existing.current.epoch });
    const c = existing.current;
    if (c.epoch === STATIC_LEAVE_EPOCH) w.write({ kind: 'current', group: group.id, member: memberId, value: { ...currentToValue(c), epoch: c.previousEpoch } });
  }
  if (bump) bumpGroupEpoch(shard, w, group, nowMs, bump);
  return finish(shard, w, group, group.members.get(memberId)!, req, nowMs, true);
}

/** The new incarnation takes the old member's place: its epoch, target and current assignment. */
function replaceStaticMember(shard: ShardContext, w: Writer, group: Group, oldId: string, newId: string, subscription: MemberValue): void {
  const old = group.members.get(oldId)!;
  const current = { ...old.current };
  if (current.epoch === STATIC_LEAVE_EPOCH) current.epoch = current.previousEpoch;
  const target = group.targets.get(oldId);
  w.write({ kind: 'current', group: group.id, member: oldId, value: null });
  w.write({ kind: 'target', group: group.id, member: oldId, value: null });
  w.write({ kind: 'member', group: group.id, member: oldId, value: null });
  shard.timers.clear(group.id, oldId);
  // The old incarnation's subscription first, so a changed one is seen as a change and rebalances.
  w.write({ kind: 'member', group: group.id, member: newId, value: { ...old.subscription, instanceId: subscription.instanceId } });
  if (target) w.write({ kind: 'target', group: group.id, member: newId, value: { partitions: toJson(target) } });
  w.write({ kind: 'current', group: group.id, member: newId, value: currentToValue(current) });
  w.event({ msg: 'static member replaced', group: group.id, instanceId: subscription.instanceId, oldMember: oldId, member: newId, memberEpoch: current.epoch });
}

function leave(shard: ShardContext, w: Writer, req: HeartbeatRequest, nowMs: number): HeartbeatResponse {
  const group = shard.groups.get(req.groupId);
  const member = group?.members.get(req.memberId);
  const answer: HeartbeatResponse = { memberId: req.memberId, memberEpoch: req.memberEpoch, heartbeatIntervalMs: 0, hasAssignment: false, assignment: [] };
  // Leaving twice (a retried leave) is not an error.
  if (!group || !member) return answer;
  if (req.memberEpoch === STATIC_LEAVE_EPOCH && member.subscription.instanceId) {
    const c = member.current;
    if (c.epoch !== STATIC_LEAVE_EPOCH) {
      w.write({ kind: 'current', group: group.id, member: member.id, value: { ...currentToValue(c), epoch: STATIC_LEAVE_EPOCH, previousEpoch: c.epoch } });
      shard.timers.setRevocation(group.id, member.id, null);
    }
    w.event({ msg: 'static member left temporarily', group: group.id, member: member.id, instanceId: member.subscription.instanceId, memberEpoch: c.epoch });
    return answer;
  }
  removeMember(shard, w, group, member.id, nowMs, 'left');
  return answer;
}

function beat(shard: ShardContext, w: Writer, req: HeartbeatRequest, nowMs: number): HeartbeatResponse {
  const group = shard.groups.get(req.groupId);
  const member = group?.members.get(req.memberId);
  if (!group || !member) {
    const holder = req.instanceId ? group?.staticMembers.get(req.instanceId) : undefined;
    if (holder !== undefined) {
      throw new FerryError(ErrorCode.FENCED_INSTANCE_ID, `instance ${req.instanceId} of group ${req.groupId} is now held by member ${holder}`);
    }
    throw new FerryError(ErrorCode.UNKNOWN_MEMBER_ID, `member ${req.memberId} is not in group ${req.groupId}; rejoin with epoch 0`);
  }
  const c = member.current;
  const owned = fromList(req.ownedPartitions);
  const lostAnswerRetry = req.memberEpoch === c.previousEpoch && isEmpty(minus(owned, c.assigned));
  if (c.epoch === STATIC_LEAVE_EPOCH || req.memberEpoch > c.epoch || (req.memberEpoch < c.epoch && !lostAnswerRetry)) {
    throw new FerryError(ErrorCode.FENCED_MEMBER_EPOCH, `member ${member.id} of group ${group.id} is at epoch ${c.epoch}, not ${req.memberEpoch}; rejoin with epoch 0`);
  }
  const applySubscription = req.subscriptionChanged || req.subscribedTopicNames.length > 0 || req.subscribedTopicRegex !== '';
  if (applySubscription) {
    const next = subscriptionOf(shard, { ...req, instanceId: member.subscription.instanceId, sessionTimeoutMs: req.sessionTimeoutMs || member.subscription.sessionTimeoutMs }, member.subscription);
    if (!sameSubscription(next, member.subscription)) {
      const relevant = assignmentRelevantChange(member.subscription, next);
      w.write({ kind: 'member', group: group.id, member: member.id, value: next });
      if (relevant) bumpGroupEpoch(shard, w, group, nowMs, `member ${member.id} changed its subscription`);
    }
  }
  return finish(shard, w, group, member, req, nowMs, false);
}

/** Common tail: refresh the session, bring the target up to date, reconcile, answer. */
function finish(shard: ShardContext, w: Writer, group: Group, member: Member, req: HeartbeatRequest, nowMs: number, joining: boolean): HeartbeatResponse {
  shard.timers.setSession(group.id, member.id, nowMs + member.subscription.sessionTimeoutMs);
  computeTarget(shard, w, group, 'target behind the group epoch');
  const owned = fromList(req.ownedPartitions);
  const next = reconcile({
    memberId: member.id,
    current: member.current,
    target: group.target(member.id),
    targetEpoch: group.assignmentEpoch,
    owned,
    ownerOf: (t, p) => group.ownerOf(t, p),
  });
  const changed = next !== member.current;
  writeCurrent(shard, w, group, member.id, next, nowMs);
  const c = member.current;
  const send = joining || changed || c.epoch !== req.memberEpoch || !equals(owned, c.assigned);
  let intervalMs = Math.max(1, Math.min(shard.config.heartbeatIntervalMs, Math.floor(member.subscription.sessionTimeoutMs / 3)));
  if (c.state !== 'stable') intervalMs = Math.min(intervalMs, HANDOVER_HEARTBEAT_INTERVAL_MS);
  return {
    memberId: member.id,
    memberEpoch: c.epoch,
    heartbeatIntervalMs: intervalMs,
    hasAssignment: send,
    assignment: send ? toList(c.assigned) : [],
  };
}

/** Everything a member holds (for describe): its assignment plus what it is still revoking. */
export function heldBy(member: Member) {
  return union(member.current.assigned, member.current.pending);
}
