/**
 * Test helpers for the coordinator: a shard with deterministic member ids and a log of every record it
 * wrote (for replay checks), and simulated members that behave as the SDK must — adopt every
 * assignment they receive at once (drop revoked partitions, start new ones) and report what they own.
 */
import { expect } from 'vitest';
import type { CoordinatorConfig, CoordinatorResult, HeartbeatResponse } from '../../../src/coordinator/api.js';
import { recordKey, type CoordinatorRecord } from '../../../src/coordinator/records.js';
import { GroupCoordinatorShard } from '../../../src/coordinator/shard.js';
import { fromPairs, toList, type TopicPartitionsList } from '../../../src/coordinator/topic-partitions.js';

export const CONFIG: CoordinatorConfig = {
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 1_000,
  maxGroupSize: 100,
  offsetsRetentionMs: 7 * 24 * 3600_000,
  assignors: ['sticky', 'range', 'roundrobin'],
};

export class Harness {
  readonly log: CoordinatorRecord[] = [];
  readonly shard: GroupCoordinatorShard;
  private next = 0;

  constructor(config: Partial<CoordinatorConfig> = {}) {
    this.shard = new GroupCoordinatorShard({ ...CONFIG, ...config }, () => `m${String(++this.next).padStart(3, '0')}`);
  }

  keep<T>(result: CoordinatorResult<T>): T {
    this.log.push(...result.records);
    return result.response;
  }

  topics(topics: Record<string, number>, now = 0): void {
    this.keep(this.shard.onTopicMetadata(new Map(Object.entries(topics)), now));
  }

  tick(now: number): void {
    this.keep(this.shard.tick(now));
  }

  /**
   * A fresh shard rebuilt from the records written so far, with the same topic metadata. `compacted`:
   * as log compaction leaves them — only the newest record per key, in log order, and optionally
   * without tombstones (removed after delete.retention.ms).
   */
  replayed(compacted: 'no' | 'keep-tombstones' | 'drop-tombstones' = 'no'): GroupCoordinatorShard {
    let records = this.log.map((r, offset) => ({ r, offset }));
    if (compacted !== 'no') {
      const newest = new Map<string, number>();
      for (const { r, offset } of records) newest.set(recordKey(r), offset);
      records = records.filter(({ r, offset }) => newest.get(recordKey(r)) === offset && (compacted === 'keep-tombstones' || r.value !== null));
    }
    const copy = new GroupCoordinatorShard(this.shard.config);
    copy.topics = this.shard.topics;
    for (const { r } of records) copy.replay(JSON.parse(JSON.stringify(r)) as CoordinatorRecord);
    return copy;
  }
}

export class SimMember {
  id = '';
  epoch = 0;
  owned = new Set<string>();
  /** Every partition this member ever started consuming (for overlap checks). */
  readonly history: string[] = [];

  constructor(
    private readonly h: Harness,
    readonly group: string,
    readonly opts: { topics?: string[]; regex?: string; instanceId?: string; sessionTimeoutMs?: number; assignor?: string } = {},
  ) {}

  get ownedList(): TopicPartitionsList {
    return toList(fromPairs([...this.owned].map((k) => [k.slice(0, k.lastIndexOf(':')), Number(k.slice(k.lastIndexOf(':') + 1))] as const)));
  }

  private request(epoch: number) {
    return {
      groupId: this.group,
      memberId: this.id,
      memberEpoch: epoch,
      instanceId: this.opts.instanceId ?? '',
      rackId: '',
      rebalanceTimeoutMs: 0,
      sessionTimeoutMs: this.opts.sessionTimeoutMs ?? 0,
      subscribedTopicNames: epoch === 0 ? this.opts.topics ?? [] : [],
      subscribedTopicRegex: epoch === 0 ? this.opts.regex ?? '' : '',
      serverAssignor: this.opts.assignor ?? '',
      ownedPartitions: this.ownedList,
      subscriptionChanged: epoch === 0,
    };
  }

  join(now = 0): HeartbeatResponse {
    this.owned.clear();
    return this.apply(this.h.keep(this.h.shard.heartbeat(this.request(0), now)));
  }

  beat(now = 0): HeartbeatResponse {
    return this.apply(this.h.keep(this.h.shard.heartbeat(this.request(this.epoch), now)));
  }

  leave(now = 0, epoch = -1): void {
    this.h.keep(this.h.shard.heartbeat(this.request(epoch), now));
    this.owned.clear();
  }

  private apply(res: HeartbeatResponse): HeartbeatResponse {
    this.id = res.memberId;
    this.epoch = res.memberEpoch;
    if (res.hasAssignment) {
      const next = new Set(res.assignment.flatMap((t) => t.partitions.map((p) => `${t.topic}:${p}`)));
      for (const k of next) if (!this.owned.has(k)) this.history.push(k);
      this.owned = next;
    }
    return res;
  }
}

/** No partition owned by two members at once. */
export function expectNoOverlap(members: SimMember[]): void {
  const seen = new Map<string, string>();
  for (const m of members) {
    for (const k of m.owned) {
      expect(seen.get(k), `${k} owned by ${seen.get(k)} and ${m.id}`).toBeUndefined();
      seen.set(k, m.id);
    }
  }
}

/** Every partition of `topics` owned by exactly one member. */
export function expectFullyOwned(members: SimMember[], topics: Record<string, number>): void {
  expectNoOverlap(members);
  const all = new Set(members.flatMap((m) => [...m.owned]));
  const expected = Object.entries(topics).flatMap(([t, n]) => Array.from({ length: n }, (_, p) => `${t}:${p}`));
  expect([...all].sort()).toEqual(expected.sort());
}

/**
 * Heartbeats every member in turn, checking for overlap after each answer, until the group is STABLE
 * and the members own what the coordinator says. Returns the rounds it took.
 */
export function converge(h: Harness, members: SimMember[], group: string, now = 0, maxRounds = 20): number {
  for (let round = 1; round <= maxRounds; round++) {
    for (const m of members) {
      m.beat(now);
      expectNoOverlap(members);
    }
    const d = h.shard.describeGroup(group)!;
    const settled = d.state === 'STABLE' && members.every((m) => {
      const desc = d.members.find((x) => x.memberId === m.id)!;
      return JSON.stringify(desc.assignment) === JSON.stringify(m.ownedList);
    });
    if (settled) return round;
  }
  throw new Error(`group ${group} did not converge in ${maxRounds} rounds: ${JSON.stringify(h.shard.describeGroup(group))}`);
}
