import { describe, expect, it } from 'vitest';
import { ErrorCode, FerryError } from '../../../src/protocol/errors.js';
import { converge, expectFullyOwned, expectNoOverlap, Harness, SimMember } from './helpers.js';

const TOPICS = { orders: 12 };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof FerryError) return err.code;
    throw err;
  }
  return undefined;
}

describe('group membership and incremental handover', () => {
  it('1 → 3 → 2 members over 12 partitions: each partition always has at most one owner, all end owned, sticky', () => {
    const h = new Harness();
    h.topics(TOPICS);
    const a = new SimMember(h, 'g', { topics: ['orders'] });
    a.join();
    converge(h, [a], 'g');
    expectFullyOwned([a], TOPICS);
    expect(a.owned.size).toBe(12);

    const b = new SimMember(h, 'g', { topics: ['orders'] });
    const c = new SimMember(h, 'g', { topics: ['orders'] });
    const beforeA = new Set(a.owned);
    b.join();
    expectNoOverlap([a, b]);
    c.join();
    expectNoOverlap([a, b, c]);
    converge(h, [a, b, c], 'g');
    expectFullyOwned([a, b, c], TOPICS);
    expect([a, b, c].map((m) => m.owned.size)).toEqual([4, 4, 4]);
    for (const k of a.owned) expect(beforeA.has(k)).toBe(true); // a only lost partitions

    const beforeAB = [new Set(a.owned), new Set(b.owned)];
    c.leave();
    converge(h, [a, b], 'g');
    expectFullyOwned([a, b], TOPICS);
    expect([a.owned.size, b.owned.size]).toEqual([6, 6]);
    // Sticky: what a and b had, they kept.
    for (const k of beforeAB[0]!) expect(a.owned.has(k)).toBe(true);
    for (const k of beforeAB[1]!) expect(b.owned.has(k)).toBe(true);
    expect(h.shard.describeGroup('g')!.state).toBe('STABLE');
  });

  it('a member keeps consuming its unmoved partitions during a rebalance (no epoch bump needed to keep them)', () => {
    const h = new Harness();
    h.topics(TOPICS);
    const a = new SimMember(h, 'g', { topics: ['orders'] });
    a.join();
    converge(h, [a], 'g');
    const b = new SimMember(h, 'g', { topics: ['orders'] });
    const joined = b.join();
    expect(b.owned.size).toBe(0); // everything is still a's
    expect(joined.heartbeatIntervalMs).toBe(200); // waiting for partitions: heartbeat sooner
    const res = a.beat();
    expect(res.hasAssignment).toBe(true);
    expect(res.heartbeatIntervalMs).toBe(200); // revoking: the acknowledgement should come soon
    expect(a.owned.size).toBe(6); // told to drop 6, keeps 6 the whole time
    b.beat();
    expect(b.owned.size).toBe(0); // a has not confirmed yet
    a.beat(); // the heartbeat that no longer lists the 6: revocation done
    b.beat();
    expect(b.owned.size).toBe(6);
    expectFullyOwned([a, b], TOPICS);
  });

  it('a revoked partition is not handed over while its old owner still lists it', () => {
    const h = new Harness();
    h.topics(TOPICS);
    const a = new SimMember(h, 'g', { topics: ['orders'] });
    a.join();
    converge(h, [a], 'g');
    const b = new SimMember(h, 'g', { topics: ['orders'] });
    b.join();
    // a heartbeats but pretends it is still committing: it keeps reporting all 12.
    const all = new Set(a.owned);
    const res = a.beat();
    expect(res.hasAssignment).toBe(true);
    a.owned = all;
    a.beat();
    a.owned = all; // still revoking
    b.beat();
    expect(b.owned.size).toBe(0);
    expect(h.shard.describeGroup('g')!.state).toBe('RECONCILING');
    converge(h, [a, b], 'g');
    expectFullyOwned([a, b], TOPICS);
  });

  it('10 members joining together converge to a balanced assignment', () => {
    const h = new Harness();
    h.topics({ orders: 12, payments: 8 });
    const members = Array.from({ length: 10 }, () => new SimMember(h, 'g', { topics: ['orders', 'payments'] }));
    for (const m of members) m.join();
    expectNoOverlap(members);
    const rounds = converge(h, members, 'g');
    expect(rounds).toBeLessThanOrEqual(4);
    expectFullyOwned(members, { orders: 12, payments: 8 });
    expect(members.map((m) => m.owned.size).sort()).toEqual(Array(10).fill(2));
    const epochs = new Set(members.map((m) => m.epoch));
    expect(epochs.size).toBe(1);
    expect([...epochs][0]).toBe(h.shard.describeGroup('g')!.groupEpoch);
  });

  it('a member that stops heartbeating loses its partitions after the session timeout', () => {
    const h = new Harness();
    h.topics(TOPICS);
    const a = new SimMember(h, 'g', { topics: ['orders'], sessionTimeoutMs: 5_000 });
    const b = new SimMember(h, 'g', { topics: ['orders'], sessionTimeoutMs: 5_000 });
    a.join(0);
    b.join(0);
    converge(h, [a, b], 'g', 1_000);
    expect(b.owned.size).toBe(6);
    // b goes silent; a keeps heartbeating.
    h.tick(4_000);
    expect(h.shard.describeGroup('g')!.members).toHaveLength(2);
    a.beat(4_000);
    h.tick(6_001);
    expect(h.shard.describeGroup('g')!.members.map((m) => m.memberId)).toEqual([a.id]);
    a.beat(6_500);
    expect(a.owned.size).toBe(12);
    expect(codeOf(() => b.beat(7_000))).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a static member rejoining within its session timeout keeps its partitions; nobody else sees a new epoch', () => {
    const h = new Harness();
    h.topics(TOPICS);
    const a = new SimMember(h, 'g', { topics: ['orders'], instanceId: 'svc-a' });
    const b = new SimMember(h, 'g', { topics: ['orders'], instanceId: 'svc-b' });
    a.join();
    b.join();
    converge(h, [a, b], 'g');
    const groupEpoch = h.shard.describeGroup('g')!.groupEpoch;
    const bOwned = new Set(b.owned);
    const bEpoch = b.epoch;
    // b restarts (killed, no leave at all) and comes back with a new member id and the same instance id.
    const b2 = new SimMember(h, 'g', { topics: ['orders'], instanceId: 'svc-b' });
    const res = b2.join();
    expect(res.memberId).not.toBe(b.id);
    expect(res.memberEpoch).toBe(bEpoch);
    expect(b2.owned).toEqual(bOwned);
    expect(h.shard.describeGroup('g')!.groupEpoch).toBe(groupEpoch);
    expect(a.beat().hasAssignment).toBe(false);
    // The old incarnation is fenced for good.
    expect(codeOf(() => b.beat())).toBe(ErrorCode.FENCED_INSTANCE_ID);
  });

  it('a static member leaving with -2 keeps its place until its session expires', () => {
    const h = new Harness();
    h.topics(TOPICS);
    const a = new SimMember(h, 'g', { topics: ['orders'], instanceId: 'svc-a', sessionTimeoutMs: 5_000 });
    const b = new SimMember(h, 'g', { topics: ['orders'], instanceId: 'svc-b', sessionTimeoutMs: 5_000 });
    a.join(0);
    b.join(0);
    converge(h, [a, b], 'g', 0);
    const owned = new Set(b.owned);
    const epoch = h.shard.describeGroup('g')!.groupEpoch;
    b.leave(100, -2);
    expect(h.shard.describeGroup('g')!.groupEpoch).toBe(epoch);
    const b2 = new SimMember(h, 'g', { topics: ['orders'], instanceId: 'svc-b', sessionTimeoutMs: 5_000 });
    b2.join(1_000);
    expect(b2.owned).toEqual(owned);
    expect(h.shard.describeGroup('g')!.groupEpoch).toBe(epoch);
    // Leaves again and does not come back: after the session timeout a gets everything.
    b2.leave(2_000, -2);
    a.beat(4_000);
    h.tick(6_001);
    converge(h, [a], 'g', 6_001);
    expect(a.owned.size).toBe(12);
  });

  it('fences heartbeats at the wrong epoch and accepts the retry of a lost answer', () => {
    const h = new Harness();
    h.topics(TOPICS);
    const a = new SimMember(h, 'g', { topics: ['orders'] });
    a.join();
    converge(h, [a], 'g');
    const epoch = a.epoch;
    a.epoch = epoch + 5;
    expect(codeOf(() => a.beat())).toBe(ErrorCode.FENCED_MEMBER_EPOCH);
    a.epoch = epoch;
    // b joins: a must give up 6; the answer telling a is "lost", a retries at the same epoch.
    const b = new SimMember(h, 'g', { topics: ['orders'] });
    b.join();
    const owned = new Set(a.owned);
    const lost = a.beat();
    expect(lost.hasAssignment).toBe(true);
    a.owned = owned;
    a.epoch = epoch;
    expect(a.beat().hasAssignment).toBe(true); // told again
    converge(h, [a, b], 'g');
    expectFullyOwned([a, b], TOPICS);
    const stranger = new SimMember(h, 'g');
    stranger.id = 'nobody';
    stranger.epoch = 1;
    expect(codeOf(() => stranger.beat())).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('regex subscriptions follow topic creation, deletion and partition growth', () => {
    const h = new Harness();
    h.topics({ 'orders-eu': 2, other: 3 });
    const a = new SimMember(h, 'g', { regex: 'orders-.*' });
    a.join();
    converge(h, [a], 'g');
    expect(a.ownedList).toEqual([{ topic: 'orders-eu', partitions: [0, 1] }]);
    h.topics({ 'orders-eu': 4, 'orders-us': 1, other: 3 });
    converge(h, [a], 'g');
    expect(a.ownedList).toEqual([{ topic: 'orders-eu', partitions: [0, 1, 2, 3] }, { topic: 'orders-us', partitions: [0] }]);
    h.topics({ 'orders-us': 1, other: 3 });
    converge(h, [a], 'g');
    expect(a.ownedList).toEqual([{ topic: 'orders-us', partitions: [0] }]);
    expect(codeOf(() => new SimMember(h, 'g2', { regex: '(' }).join())).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('enforces group.max.size and known assignors', () => {
    const h = new Harness({ maxGroupSize: 2 });
    h.topics(TOPICS);
    new SimMember(h, 'g', { topics: ['orders'] }).join();
    new SimMember(h, 'g', { topics: ['orders'] }).join();
    expect(codeOf(() => new SimMember(h, 'g', { topics: ['orders'] }).join())).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED);
    expect(codeOf(() => new SimMember(h, 'g3', { topics: ['orders'], assignor: 'magic' }).join())).toBe(ErrorCode.UNSUPPORTED_ASSIGNOR);
  });

  it('replaying every record written rebuilds an identical state', () => {
    const h = new Harness();
    h.topics({ orders: 12, payments: 4 });
    const ms = [
      new SimMember(h, 'g1', { topics: ['orders'] }),
      new SimMember(h, 'g1', { topics: ['orders', 'payments'], instanceId: 'x' }),
      new SimMember(h, 'g1', { regex: 'pay.*', sessionTimeoutMs: 2_000 }),
      new SimMember(h, 'g2', { topics: ['payments'], assignor: 'range' }),
    ];
    for (const m of ms) m.join(0);
    converge(h, ms.slice(0, 3), 'g1', 500);
    converge(h, ms.slice(3), 'g2', 500);
    h.keep(h.shard.commitOffsets({ groupId: 'g1', memberId: ms[0]!.id, memberEpoch: ms[0]!.epoch, topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: 42, metadata: 'm', leaderEpoch: 0 }] }] }, 600));
    ms[3]!.leave(700);
    h.tick(3_000); // ms[2] expires
    h.topics({ orders: 16, payments: 4 }, 3_100);
    expect(h.replayed().snapshot()).toEqual(h.shard.snapshot());
  });
});
