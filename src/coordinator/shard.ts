/**
 * GroupCoordinatorShard: the sans-I/O state machine for the groups of one __consumer_offsets
 * partition (groups hash to partitions, group-partition.ts).
 *
 * Contract:
 *  - Inputs are requests, the time (`nowMs`, given by the caller — the shard never reads a clock),
 *    the topic metadata (`onTopicMetadata`), and `tick(nowMs)` for deadlines. Randomness (new member
 *    ids) is injected.
 *  - Outputs are a response plus the records to append and events to log (CoordinatorResult). The
 *    state changes only through `replay(record)`, which handlers call on each record they write, and
 *    which recovery calls on every record read back from the log — so a shard rebuilt by replaying
 *    everything a shard wrote is identical to it (`snapshot()` compares them in tests).
 *  - Handlers run to completion synchronously; the caller appends their records in the order they
 *    return. Not for concurrent use from several threads (there are none in Node).
 * Operating errors (unknown member, stale epoch, ...) are thrown as FerryError before any record is
 * written; broken invariants are assertion failures.
 */
import { randomUUID } from 'node:crypto';
import type { FerryError } from '../protocol/errors.js';
import { ErrorCode, FerryError as Err } from '../protocol/errors.js';
import type {
  CommitRequest, CommitResponse, CoordinatorConfig, CoordinatorResult, FetchedOffsets, GroupDescriptionOut, GroupListingOut,
  HeartbeatRequest, HeartbeatResponse, OffsetCommitInput,
} from './api.js';
import { Group } from './group.js';
import { bumpGroupEpoch, chooseAssignor, computeTarget, removeMember, Writer, type ShardContext } from './group-ops.js';
import { heartbeat, heldBy } from './membership.js';
import { alterOffsets, commitOffsets, expireOffsets, fetchOffsets, forgetGroup } from './offsets.js';
import type { CoordinatorRecord } from './records.js';
import { groupTopicMetadata, sameTopicMetadata } from './subscription.js';
import { MemberTimers } from './timers.js';
import { assignmentOf, toJson, toList } from './topic-partitions.js';

/** Offset expiry scans every group; it runs at most this often. */
export const OFFSET_EXPIRY_INTERVAL_MS = 60_000;

export class GroupCoordinatorShard implements ShardContext {
  readonly groups = new Map<string, Group>();
  readonly timers = new MemberTimers();
  topics: ReadonlyMap<string, number> = new Map();
  private lastExpiryMs = -Infinity;

  constructor(
    readonly config: CoordinatorConfig,
    private readonly memberIdSource: () => string = randomUUID,
  ) {}

  newMemberId(): string {
    return this.memberIdSource();
  }

  // ---- state: replay ----

  replay(r: CoordinatorRecord): void {
    let group = this.groups.get(r.group);
    if (!group) {
      if (r.value === null) return;
      this.groups.set(r.group, (group = new Group(r.group)));
    }
    switch (r.kind) {
      case 'group':
        group.hasMetadata = r.value !== null;
        group.epoch = r.value?.epoch ?? 0;
        group.topics = r.value?.topics ?? {};
        group.emptySinceMs = r.value?.emptySinceMs ?? 0;
        break;
      case 'target-meta':
        group.assignmentEpoch = r.value?.assignmentEpoch ?? 0;
        break;
      case 'target':
        group.applyTarget(r.member, r.value ? assignmentOf(r.value.partitions) : null);
        break;
      case 'member':
        group.applyMember(r.member, r.value);
        break;
      case 'current':
        group.applyCurrent(r.member, r.value);
        break;
      case 'offset':
        group.applyOffset(r.topic, r.partition, r.value);
        break;
    }
    if (group.isForgettable) this.groups.delete(group.id);
  }

  /** After a load: every member gets a fresh session; members mid-revocation a fresh rebalance timeout. */
  onLoaded(nowMs: number): void {
    this.timers.clearAll();
    for (const g of this.groups.values()) {
      for (const m of g.members.values()) {
        this.timers.setSession(g.id, m.id, nowMs + m.subscription.sessionTimeoutMs);
        if (m.current.state === 'unrevoked') this.timers.setRevocation(g.id, m.id, nowMs + m.subscription.rebalanceTimeoutMs);
      }
    }
  }

  // ---- handlers ----

  heartbeat(req: HeartbeatRequest, nowMs: number): CoordinatorResult<HeartbeatResponse> {
    return heartbeat(this, req, nowMs);
  }

  commitOffsets(req: CommitRequest, nowMs: number): CoordinatorResult<CommitResponse> {
    return commitOffsets(this, req, nowMs);
  }

  alterOffsets(groupId: string, topics: OffsetCommitInput[], nowMs: number): CoordinatorResult<CommitResponse> {
    return alterOffsets(this, groupId, topics, nowMs);
  }

  fetchOffsets(groupId: string, topics: Array<{ topic: string; partitions: number[] }>): FetchedOffsets {
    return fetchOffsets(this, groupId, topics);
  }

  /** Deletes empty groups: per group null (done) or GROUP_ID_NOT_FOUND / NON_EMPTY_GROUP. */
  deleteGroups(groupIds: string[]): CoordinatorResult<Array<{ groupId: string; error: FerryError | null }>> {
    const w = new Writer(this);
    const response = groupIds.map((groupId) => {
      const group = this.groups.get(groupId);
      if (!group) return { groupId, error: new Err(ErrorCode.GROUP_ID_NOT_FOUND, `group ${groupId} does not exist`) };
      if (group.members.size > 0) return { groupId, error: new Err(ErrorCode.NON_EMPTY_GROUP, `group ${groupId} has ${group.members.size} members`) };
      forgetGroup(w, group);
      w.event({ msg: 'group deleted', group: groupId });
      return { groupId, error: null };
    });
    return { response, records: w.records, events: w.events };
  }

  listGroups(statesFilter: readonly string[]): GroupListingOut[] {
    const wanted = new Set(statesFilter.map((s) => s.toUpperCase()));
    const out: GroupListingOut[] = [];
    for (const g of this.groups.values()) {
      const state = g.state;
      if (wanted.size === 0 || wanted.has(state)) out.push({ groupId: g.id, state, members: g.members.size });
    }
    return out;
  }

  describeGroup(groupId: string): GroupDescriptionOut | null {
    const g = this.groups.get(groupId);
    if (!g) return null;
    return {
      groupId,
      state: g.state,
      groupEpoch: g.epoch,
      assignmentEpoch: g.assignmentEpoch,
      assignor: chooseAssignor(this.config, g),
      members: [...g.members.values()].map((m) => ({
        memberId: m.id,
        instanceId: m.subscription.instanceId,
        clientId: m.subscription.clientId,
        clientHost: m.subscription.clientHost,
        memberEpoch: m.current.epoch,
        subscribedTopicNames: m.subscription.topicNames,
        subscribedTopicRegex: m.subscription.topicRegex,
        assignment: toList(heldBy(m)),
        targetAssignment: toList(g.target(m.id)),
      })),
    };
  }

  // ---- time and topic changes ----

  /** Expires sessions and stuck revocations; every OFFSET_EXPIRY_INTERVAL_MS, committed offsets. */
  tick(nowMs: number): CoordinatorResult<null> {
    const w = new Writer(this);
    for (const { group: groupId, member: memberId, kind } of this.timers.takeExpired(nowMs)) {
      const group = this.groups.get(groupId);
      const member = group?.members.get(memberId);
      if (!group || !member) continue;
      if (kind === 'revocation' && member.current.state !== 'unrevoked') continue;
      const why = kind === 'session' ? `expired (no heartbeat for ${member.subscription.sessionTimeoutMs} ms)` : `fenced (did not revoke within ${member.subscription.rebalanceTimeoutMs} ms)`;
      removeMember(this, w, group, memberId, nowMs, why);
    }
    if (nowMs - this.lastExpiryMs >= OFFSET_EXPIRY_INTERVAL_MS) {
      this.lastExpiryMs = nowMs;
      expireOffsets(this, w, nowMs);
    }
    return { response: null, records: w.records, events: w.events };
  }

  /**
   * The topics that exist now (name → partition count, internal topics excluded). Every group whose
   * subscribed topics changed — created, deleted, grown, or newly matching a regex — gets a new
   * group epoch and target assignment. Committed offsets of topics that disappeared since the previous
   * call are deleted (never on the first call after a load, which has nothing to compare with).
   */
  onTopicMetadata(topics: ReadonlyMap<string, number>, nowMs: number): CoordinatorResult<null> {
    const previous = this.topics;
    this.topics = new Map(topics);
    const w = new Writer(this);
    for (const group of [...this.groups.values()]) {
      // Offsets of a topic deleted while we watched go too (as in Kafka), so a topic re-created
      // under the same name does not start from the old one's positions.
      for (const [topic, byPartition] of [...group.offsets]) {
        if (!previous.has(topic) || this.topics.has(topic)) continue;
        for (const partition of [...byPartition.keys()]) w.write({ kind: 'offset', group: group.id, topic, partition, value: null });
        w.event({ msg: 'committed offsets of a deleted topic removed', group: group.id, topic, partitions: byPartition.size });
      }
      if (group.members.size === 0) continue;
      const next = groupTopicMetadata([...group.members.values()].map((m) => m.subscription), this.topics);
      if (sameTopicMetadata(next, group.topics)) {
        computeTarget(this, w, group, 'target behind the group epoch');
        continue;
      }
      bumpGroupEpoch(this, w, group, nowMs, 'subscribed topics changed');
    }
    return { response: null, records: w.records, events: w.events };
  }

  /** The replayable state, normalised (sorted, plain JSON) so two shards can be compared. Timers excluded. */
  snapshot(): unknown {
    return [...this.groups.values()]
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((g) => ({
        id: g.id,
        epoch: g.epoch,
        assignmentEpoch: g.assignmentEpoch,
        topics: g.topics,
        emptySinceMs: g.emptySinceMs,
        hasMetadata: g.hasMetadata,
        members: [...g.members.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((m) => ({
          id: m.id,
          subscription: m.subscription,
          current: { ...m.current, assigned: toJson(m.current.assigned), pending: toJson(m.current.pending) },
          target: toJson(g.target(m.id)),
        })),
        owners: [...g.owners].sort(),
        staticMembers: [...g.staticMembers].sort(),
        offsets: [...g.offsets].sort().map(([t, byP]) => [t, [...byP].sort((a, b) => a[0] - b[0])]),
      }));
  }
}
