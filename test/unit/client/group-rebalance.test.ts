/**
 * Consumer groups against the in-process fake GroupService: rebalances 1 → 3 → 2 members over 12
 * partitions while records keep arriving. Every member records its own assigned/revoked events
 * and processed records; from those: no partition is ever owned (or processed) by two members at
 * once, every partition ends with exactly one owner, and no record is skipped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Ferry } from '../../../src/client/index.js';
import { startFakeBroker, type FakeBroker } from './fake-broker.js';
import { addFakeGroupService, type FakeGroupService } from './fake-group-service.js';
import { RecordingMember, overlaps, processedOutsideOwnership, waitFor, type OwnershipEvent, type Processed } from '../../helpers/group-members.js';

const PARTITIONS = 12;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let broker: FakeBroker | undefined;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  await broker?.close();
  broker = undefined;
});

async function setup(): Promise<{ broker: FakeBroker; groups: FakeGroupService }> {
  let groups!: FakeGroupService;
  broker = await startFakeBroker({
    topics: { t: PARTITIONS },
    addServices: (server, port) => {
      groups = addFakeGroupService(server, port, { topics: { t: PARTITIONS }, heartbeatIntervalMs: 30 });
    },
  });
  return { broker, groups };
}

describe('consumer group rebalances (fake coordinator)', () => {
  it('1 → 3 → 2 members over 12 partitions: never two owners, all owned at the end, nothing skipped', async () => {
    const { broker } = await setup();
    const events: OwnershipEvent[] = [];
    const processed: Processed[] = [];
    const options = { groupId: 'g', autoOffsetReset: 'earliest' as const, fetchMaxWaitMs: 20, autoCommitIntervalMs: 100 };
    const producerClient = new Ferry({ bootstrap: broker.address });
    cleanups.push(() => producerClient.close());
    const producer = producerClient.producer({ lingerMs: 1 });
    let produced = 0;
    let producing = true;
    const producing$ = (async () => {
      while (producing) {
        await producer.sendBatch('t', Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, value: `v${produced}` })));
        produced += PARTITIONS;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

    const members: RecordingMember[] = [];
    const add = (name: string) => {
      const m = new RecordingMember(name, broker.address, 't', options, events, processed, 1);
      cleanups.push(() => m.close());
      m.run();
      members.push(m);
      return m;
    };
    const total = () => members.reduce((n, m) => n + m.owned.size, 0);

    const m1 = add('m1');
    await waitFor(() => m1.owned.size === PARTITIONS, 5000, 'm1 to own all partitions');
    await sleep(200);
    const m2 = add('m2');
    const m3 = add('m3');
    await waitFor(() => [m1, m2, m3].every((m) => m.owned.size === 4) && total() === PARTITIONS, 10_000, '3 members with 4 partitions each');
    await sleep(200);
    await m1.close();
    members.splice(members.indexOf(m1), 1);
    await waitFor(() => m2.owned.size === 6 && m3.owned.size === 6, 10_000, '2 members with 6 partitions each');

    await sleep(200);
    producing = false;
    await producing$;
    await producer.flush();
    await waitFor(
      () => {
        const seen = new Set(processed.map((r) => `${r.partition}/${r.offset}`));
        return seen.size === produced;
      },
      10_000,
      'every record processed',
    );

    expect(overlaps(events)).toEqual([]);
    expect(processedOutsideOwnership(events, processed)).toEqual([]);
    const owners = new Map<number, string[]>();
    for (const m of [m2, m3]) for (const p of m.consumer.assignment()) owners.set(p.partition, [...(owners.get(p.partition) ?? []), m.name]);
    expect([...owners.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: PARTITIONS }, (_, i) => i));
    expect([...owners.values()].every((o) => o.length === 1)).toBe(true);
    // Per partition, offsets processed form a gap-free range from 0 (re-deliveries allowed).
    for (let p = 0; p < PARTITIONS; p++) {
      const offs = new Set(processed.filter((r) => r.partition === p).map((r) => r.offset));
      expect(offs.size).toBe(produced / PARTITIONS);
      expect(Math.max(...offs)).toBe(produced / PARTITIONS - 1);
    }
    expect(events.some((e) => e.lost)).toBe(false);
    // Graceful handovers commit on revoke: the next owner starts exactly after the last processed record.
    expect(processed.length).toBe(produced);
    if (process.env.GROUP_TEST_DEBUG) console.log({ produced, processed: processed.length, events: events.map((e) => `${e.member} ${e.type} ${e.partitions.join(",")}`) });
  });
});
