/**
 * Consumer group membership and commits against the in-process fake GroupService: where assigned
 * partitions start, manual / auto / close commits, leaving, fencing and rejoining, coordinator
 * errors, fatal errors, subscription validation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, Ferry, type ConsumerOptions } from '../../../src/client/index.js';
import { startFakeBroker, type FakeBroker } from './fake-broker.js';
import { addFakeGroupService, type FakeGroupService } from './fake-group-service.js';
import { waitFor } from '../../helpers/group-members.js';
import { take } from '../../helpers/consume.js';

let broker: FakeBroker | undefined;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  await broker?.close();
  broker = undefined;
});

async function setup(partitions: number, perPartition: number) {
  let groups!: FakeGroupService;
  broker = await startFakeBroker({
    topics: { t: partitions, other: 1 },
    addServices: (server, port) => {
      groups = addFakeGroupService(server, port, { topics: { t: partitions, other: 1 }, heartbeatIntervalMs: 30 });
    },
  });
  const ferry = new Ferry({ bootstrap: broker.address, retry: { retries: 3, initialRetryTimeMs: 10, maxRetryTimeMs: 50 } });
  cleanups.push(() => ferry.close());
  const producer = ferry.producer({ lingerMs: 0 });
  for (let p = 0; p < partitions; p++) {
    if (perPartition > 0) await producer.sendBatch('t', Array.from({ length: perPartition }, (_, i) => ({ partition: p, value: `p${p}-${i}` })));
  }
  await producer.close();
  const consumer = (o: ConsumerOptions = {}) => {
    const c = ferry.consumer({ groupId: 'g', autoOffsetReset: 'earliest', fetchMaxWaitMs: 20, ...o });
    cleanups.push(() => c.close());
    return c;
  };
  return { ferry, groups, consumer };
}

function committedIn(groups: FakeGroupService, partition: number): number | undefined {
  return groups.groups.get('g')?.offsets.get(`t/${partition}`)?.offset;
}

describe('consumer group membership (fake coordinator)', () => {
  it('starts at the committed offset, else at autoOffsetReset', async () => {
    const { groups, consumer } = await setup(2, 10);
    groups.groups.set('g', { id: 'g', epoch: 0, assignor: 'sticky', members: new Map(), offsets: new Map([['t/0', { offset: 7, metadata: '' }]]) });
    const c = consumer({ enableAutoCommit: false });
    c.subscribe({ topics: ['t'] });
    const got = await take(c[Symbol.asyncIterator](), 13);
    expect(got.filter((r) => r.partition === 0).map((r) => r.offset)).toEqual([7, 8, 9]);
    expect(got.filter((r) => r.partition === 1).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('commit() stores positions; explicit offsets carry metadata; committed() reads them back', async () => {
    const { groups, consumer } = await setup(1, 10);
    const c = consumer({ enableAutoCommit: false });
    c.subscribe({ topics: ['t'] });
    await take(c[Symbol.asyncIterator](), 4);
    await c.commit();
    expect(committedIn(groups, 0)).toBe(4);
    await c.commit([{ topic: 't', partition: 0, offset: 2, metadata: 'checkpoint-a' }]);
    const [committed] = await c.committed();
    expect(committed).toEqual({ topic: 't', partition: 0, offset: 2, metadata: 'checkpoint-a' });
    await expect(c.commit([{ topic: 't', partition: 0, offset: -3 }])).rejects.toMatchObject({ code: ErrorCode.INVALID_COMMIT_OFFSET });
  });

  it('auto-commits processed offsets and commits on close, then leaves (epoch -1; -2 when static)', async () => {
    const { groups, consumer } = await setup(2, 20);
    const c = consumer({ autoCommitIntervalMs: 50 });
    c.subscribe({ topics: ['t'] });
    let seen = 0;
    const done = c.run({ eachMessage: () => void seen++ });
    await waitFor(() => committedIn(groups, 0) === 20 && committedIn(groups, 1) === 20, 5000, 'auto-commit of everything processed');
    expect(seen).toBe(40);
    await c.close();
    await done;
    expect(groups.heartbeats.at(-1)!.memberEpoch).toBe(-1);

    const s = consumer({ autoCommitIntervalMs: 60_000, groupInstanceId: 'static-1' });
    s.subscribe({ topics: ['t'] });
    await waitFor(() => s.assignment().length === 2, 5000, 'static member assignment');
    await s.close();
    expect(groups.heartbeats.at(-1)!.memberEpoch).toBe(-2);
    expect(groups.heartbeats.at(-1)!.instanceId).toBe('static-1');
  });

  it('commits the processed offsets of revoked partitions before acknowledging the revocation', async () => {
    const { groups, consumer } = await setup(2, 30);
    const a = consumer({ autoCommitIntervalMs: 60_000 });
    a.subscribe({ topics: ['t'] });
    let processedByA = 0;
    const runA = a.run({
      eachMessage: async () => {
        processedByA++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      },
    });
    await waitFor(() => processedByA >= 5, 5000, 'a to process');
    const b = consumer({ autoCommitIntervalMs: 60_000 });
    const revokedCommitted: number[] = [];
    a.on('revoked', () => void revokedCommitted.push(groups.commits.length));
    b.subscribe({ topics: ['t'] });
    await waitFor(() => b.assignment().length === 1, 5000, 'b to get a partition');
    const moved = b.assignment()[0]!.partition;
    // The commit for the moved partition happened after the listener and before b got it.
    const commitOfMoved = groups.commits.find((cm) => cm.topics.some((t) => t.partitions.some((p) => p.partition === moved)));
    expect(commitOfMoved).toBeDefined();
    expect(b.position({ topic: 't', partition: moved })).toBe(committedIn(groups, moved));
    expect(revokedCommitted.length).toBe(1);
    await a.close();
    await runA;
  });

  it('fenced: partitions are lost (no commit), the member rejoins with epoch 0 and gets them back', async () => {
    const { groups, consumer } = await setup(2, 5);
    const c = consumer({ autoCommitIntervalMs: 60_000 });
    const events: string[] = [];
    c.on('assigned', (p) => void events.push(`assigned ${p.length}`));
    c.on('revoked', (p, info) => void events.push(`revoked ${p.length}${info.lost ? ' lost' : ''}`));
    c.subscribe({ topics: ['t'] });
    await waitFor(() => c.assignment().length === 2, 5000, 'assignment');
    const memberId = c.groupMember()!.memberId;
    const commitsBefore = groups.commits.length;
    groups.fenceMember('g', memberId);
    await waitFor(() => events.length === 3, 5000, 'lost and re-assigned');
    expect(events).toEqual(['assigned 2', 'revoked 2 lost', 'assigned 2']);
    expect(groups.commits.length).toBe(commitsBefore);
    expect(groups.heartbeats.some((h) => h.memberEpoch === 0 && h.memberId === memberId)).toBe(true);

    groups.removeMember('g', c.groupMember()!.memberId);
    await waitFor(() => events.length === 5, 5000, 'unknown member: lost and re-assigned');
    expect(c.groupMember()!.memberId).not.toBe(memberId);
  });

  it('rediscovers the coordinator after NOT_COORDINATOR and keeps going', async () => {
    const { groups, consumer } = await setup(1, 5);
    const c = consumer();
    c.subscribe({ topics: ['t'] });
    await waitFor(() => c.assignment().length === 1, 5000, 'assignment');
    const beats = groups.heartbeats.length;
    groups.failNext('Heartbeat', ErrorCode.NOT_COORDINATOR, 3);
    await waitFor(() => groups.heartbeats.length > beats + 5, 5000, 'heartbeats after the errors');
    expect(c.assignment().length).toBe(1);
  });

  it('a fatal group error ends run() with it', async () => {
    const { groups, consumer } = await setup(1, 0);
    groups.failNext('Heartbeat', ErrorCode.INVALID_GROUP_ID, 1);
    const c = consumer();
    c.subscribe({ topics: ['t'] });
    await expect(c.run({ eachMessage: () => undefined })).rejects.toMatchObject({ code: ErrorCode.INVALID_GROUP_ID });
  });

  it('subscribes by pattern and validates subscriptions', async () => {
    const { groups, consumer, ferry } = await setup(1, 3);
    const c = consumer();
    c.subscribe({ pattern: /^oth.*/ });
    await waitFor(() => c.assignment().length === 1, 5000, 'pattern assignment');
    expect(c.assignment()).toEqual([{ topic: 'other', partition: 0 }]);
    expect(groups.heartbeats[0]!.subscribedTopicRegex).toBe('^oth.*');

    expect(() => ferry.consumer({}).subscribe({ topics: ['t'] })).toThrow(/groupId/);
    expect(() => consumer().subscribe({ topics: [] })).toThrow(/non-empty/);
    expect(() => consumer().subscribe({ pattern: /x/i })).toThrow(/flags/);
    const m = consumer();
    m.assign([{ topic: 't', partition: 0 }]);
    expect(() => m.subscribe({ topics: ['t'] })).toThrow(/mixed/);
  });
});
