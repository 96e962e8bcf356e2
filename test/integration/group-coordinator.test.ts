/**
 * The group coordinator through a real broker, spoken raw over gRPC: join, heartbeat, incremental
 * handover, commits (and a stale one), fetch, admin calls, topic growth, session expiry, and a
 * SIGKILL + restart that must keep committed offsets and group membership.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../helpers/broker.js';
import { errorCodeOf, rawClients, type RawClients } from '../helpers/grpc.js';

let broker: BrokerHandle;
let rpc: RawClients;

beforeAll(async () => {
  broker = await startBroker({ config: { 'offsets.topic.num.partitions': '4' } });
  rpc = rawClients(broker.bootstrap);
});

afterAll(async () => {
  rpc?.close();
  await broker?.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries while the coordinator is loading (right after a start). */
async function group<T = any>(method: string, req: unknown): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await rpc.call<T>('group', method, req);
    } catch (err) {
      if (errorCodeOf(err) !== 'COORDINATOR_LOAD_IN_PROGRESS' || attempt > 100) throw err;
      await sleep(50);
    }
  }
}

interface Member {
  id: string;
  epoch: number;
  owned: Array<{ topic: string; partitions: number[] }>;
}

async function heartbeat(groupId: string, m: Member, extra: Record<string, unknown> = {}): Promise<any> {
  const res = await group('Heartbeat', { groupId, memberId: m.id, memberEpoch: m.epoch, ownedPartitions: m.owned, ...extra });
  m.id = res.memberId;
  m.epoch = res.memberEpoch;
  if (res.hasAssignment) m.owned = res.assignment;
  return res;
}

const count = (m: Member) => m.owned.reduce((n, t) => n + t.partitions.length, 0);

describe('group coordinator over gRPC', () => {
  it('join, handover, commit, fetch; a stale commit is rejected; state survives SIGKILL', async () => {
    await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'orders', numPartitions: 4 }] });
    const found = await group('FindCoordinator', { groupId: 'payments' });
    expect(found.port).toBe(broker.port);

    const a: Member = { id: '', epoch: 0, owned: [] };
    const joined = await heartbeat('payments', a, { subscribedTopicNames: ['orders'], subscriptionChanged: true });
    expect(joined.memberId).not.toBe('');
    expect(joined.memberEpoch).toBeGreaterThan(0);
    expect(joined.heartbeatIntervalMs).toBeGreaterThan(0);
    expect(a.owned).toEqual([{ topic: 'orders', partitions: [0, 1, 2, 3] }]);
    expect((await heartbeat('payments', a)).hasAssignment).toBe(false);

    const commit = await group('CommitOffsets', {
      groupId: 'payments', memberId: a.id, memberEpoch: a.epoch,
      topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: 17, metadata: 'm0' }, { partition: 3, offset: 5 }] }],
    });
    expect(commit.topics[0].partitions.map((p: any) => p.error)).toEqual([null, null]);
    const staleEpoch = a.epoch;

    // b joins: a gives up two partitions first, then b gets them.
    const b: Member = { id: '', epoch: 0, owned: [] };
    await heartbeat('payments', b, { subscribedTopicNames: ['orders'], subscriptionChanged: true });
    for (let i = 0; i < 4; i++) {
      await heartbeat('payments', a);
      await heartbeat('payments', b);
      const owners = [a, b].flatMap((m) => m.owned.flatMap((t) => t.partitions));
      expect(new Set(owners).size).toBe(owners.length); // never two owners
    }
    expect([count(a), count(b)]).toEqual([2, 2]);
    expect(a.epoch).toBeGreaterThan(staleEpoch);
    const stale = await group('CommitOffsets', { groupId: 'payments', memberId: a.id, memberEpoch: staleEpoch, topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: 99 }] }] }).catch((e) => e);
    expect(errorCodeOf(stale)).toBe('STALE_MEMBER_EPOCH');

    const described = await group('DescribeGroups', { groupIds: ['payments', 'nope'] });
    expect(described.groups[0]).toMatchObject({ groupId: 'payments', state: 'STABLE', error: null });
    expect(described.groups[0].members).toHaveLength(2);
    expect(described.groups[1].error.code).toBe('GROUP_ID_NOT_FOUND');

    await broker.kill('SIGKILL');
    await broker.restart();
    rpc.close();
    rpc = rawClients(broker.bootstrap);

    const fetched = await group('FetchOffsets', { groupId: 'payments', topics: [{ topic: 'orders', partitions: [0, 1, 3] }] });
    expect(fetched.topics[0].partitions.map((p: any) => [p.partition, p.offset, p.metadata])).toEqual([[0, 17, 'm0'], [1, -1, ''], [3, 5, '']]);
    // Members keep their place and epoch across the restart: heartbeats are accepted as before.
    const again = await heartbeat('payments', a);
    expect(again.memberEpoch).toBe(a.epoch);
    expect((await heartbeat('payments', b)).memberEpoch).toBe(b.epoch);
    const listed = await group('ListGroups', {});
    expect(listed.groups).toEqual([{ groupId: 'payments', state: 'STABLE', members: 2 }]);

    const notEmpty = await group('DeleteGroups', { groupIds: ['payments'] });
    expect(notEmpty.results[0].error.code).toBe('NON_EMPTY_GROUP');
    await heartbeat('payments', a, { memberEpoch: -1 });
    await heartbeat('payments', b, { memberEpoch: -1 });
    const altered = await group('AlterGroupOffsets', { groupId: 'payments', topics: [{ topic: 'orders', partitions: [{ partition: 1, offset: 3 }] }] });
    expect(altered.topics[0].partitions[0].error).toBeNull();
    const deleted = await group('DeleteGroups', { groupIds: ['payments'] });
    expect(deleted.results[0].error).toBeNull();
    expect((await group('ListGroups', {})).groups).toEqual([]);
  });

  it('reassigns when partitions are added, and removes a member that stops heartbeating', async () => {
    await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'grow', numPartitions: 2 }] });
    const a: Member = { id: '', epoch: 0, owned: [] };
    const b: Member = { id: '', epoch: 0, owned: [] };
    await heartbeat('growers', a, { subscribedTopicRegex: 'gr.*', subscriptionChanged: true, sessionTimeoutMs: 1_000 });
    expect(a.owned).toEqual([{ topic: 'grow', partitions: [0, 1] }]);
    await rpc.call('admin', 'CreatePartitions', { topic: 'grow', totalCount: 4 });
    await heartbeat('growers', a);
    expect(a.owned).toEqual([{ topic: 'grow', partitions: [0, 1, 2, 3] }]);

    await heartbeat('growers', b, { subscribedTopicNames: ['grow'], subscriptionChanged: true, sessionTimeoutMs: 10_000 });
    // a goes silent; within its 1 s session (+ tick) it is removed and b gets everything.
    await sleep(1_600);
    await heartbeat('growers', b);
    expect(b.owned).toEqual([{ topic: 'grow', partitions: [0, 1, 2, 3] }]);
    const stale = await heartbeat('growers', a).catch((e) => e);
    expect(errorCodeOf(stale)).toBe('UNKNOWN_MEMBER_ID');
    expect(broker.logs.some((l) => l.msg.startsWith('member expired') && l.member === a.id)).toBe(true);
  });
});
