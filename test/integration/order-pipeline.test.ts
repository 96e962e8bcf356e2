/**
 * The order pipeline (examples/order-pipeline) as a test: `order-events` keyed by user_id, three
 * consumer groups (payment-service ×3, inventory-service ×2, email-notifications ×2 member
 * processes) each receive every event; inside a group each partition has one owner. Mid-stream one
 * payment-service member is killed with SIGKILL: within the session timeout its partitions move
 * and processing resumes from the last commit — nothing is skipped; re-deliveries are counted.
 * Needs `npm run build` first (npm test does it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ferry } from '../../src/client/index.js';
import { GROUPS, PARTITIONS, TOPIC, encodeEvent, orderEvents } from '../../examples/order-pipeline/pipeline.js';
import { REPO_ROOT, startBroker, type BrokerHandle } from '../helpers/broker.js';
import { waitFor } from '../helpers/group-members.js';

const SERVICE_JS = join(REPO_ROOT, 'dist', 'examples', 'order-pipeline', 'service.js');
const SESSION_TIMEOUT_MS = 3000;
const MEMBERS: Record<string, number> = { 'payment-service': 3, 'inventory-service': 2, 'email-notifications': 2 };

interface Line {
  event: 'assigned' | 'revoked' | 'processed';
  member: string;
  group: string;
  partition?: number;
  partitions?: number[];
  offset?: number;
  orderId?: string;
  lost?: boolean;
  t: number;
}

interface MemberProcess {
  name: string;
  group: string;
  proc: ChildProcess;
  owned: Set<number>;
}

describe('order pipeline: 3 groups fan-out, member processes, SIGKILL mid-stream', () => {
  let broker: BrokerHandle;
  const members: MemberProcess[] = [];
  const lines: Line[] = [];
  const stderr: string[] = [];

  beforeAll(async () => {
    broker = await startBroker({ config: { 'group.heartbeat.interval.ms': '200', 'flush.mode': 'os' } });
  });

  afterAll(async () => {
    for (const m of members) if (m.proc.exitCode === null && m.proc.signalCode === null) m.proc.kill('SIGKILL');
    await broker?.cleanup();
  });

  function startMember(group: string, name: string): MemberProcess {
    const proc = spawn(
      process.execPath,
      [SERVICE_JS, '--group', group, '--member', name, '--bootstrap', broker.bootstrap, '--session-timeout-ms', String(SESSION_TIMEOUT_MS), '--processing-ms', '1'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const m: MemberProcess = { name, group, proc, owned: new Set() };
    createInterface({ input: proc.stdout! }).on('line', (raw) => {
      const l = JSON.parse(raw) as Line;
      lines.push(l);
      if (l.event === 'assigned') for (const p of l.partitions!) m.owned.add(p);
      if (l.event === 'revoked') for (const p of l.partitions!) m.owned.delete(p);
    });
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => stderr.push(`${name}: ${d}`));
    members.push(m);
    return m;
  }

  const groupOwnsAll = (group: string) => {
    const owners = members.filter((m) => m.group === group && m.proc.exitCode === null && m.proc.signalCode === null);
    const owned = owners.flatMap((m) => [...m.owned]);
    return owned.length === PARTITIONS && new Set(owned).size === PARTITIONS;
  };

  it('every group processes every event; the killed member’s partitions resume from the last commit', async () => {
    const ferry = new Ferry({ bootstrap: broker.bootstrap });
    try {
      await ferry.admin().createTopics([{ name: TOPIC, partitions: PARTITIONS }]);
      for (const group of GROUPS) for (let i = 1; i <= MEMBERS[group]!; i++) startMember(group, `${group}-${i}`);
      await waitFor(() => GROUPS.every(groupOwnsAll), 30_000, `all groups to own all partitions (${stderr.join('')})`);

      // Produce 600 orders (1800 events) at ~600 events/s; kill a payment member a third of the way in.
      const events = orderEvents(600, 40);
      const producer = ferry.producer({ lingerMs: 2 });
      const acks: Promise<unknown>[] = [];
      let killedAt = 0;
      let victim: MemberProcess | undefined;
      let victimPartitions: number[] = [];
      for (let i = 0; i < events.length; i++) {
        acks.push(producer.send({ topic: TOPIC, ...encodeEvent(events[i]!) }));
        if (i % 30 === 29) await new Promise((resolve) => setTimeout(resolve, 50));
        if (i === 600) {
          victim = members.find((m) => m.group === 'payment-service' && m.owned.size > 0)!;
          victimPartitions = [...victim.owned];
          victim.proc.kill('SIGKILL');
          killedAt = Date.now();
        }
      }
      await Promise.all(acks);
      const ends = await ferry.admin().listOffsets(TOPIC, undefined, 'latest');
      const total = ends.reduce((n, e) => n + e.offset, 0);
      expect(total).toBe(events.length);

      const processedBy = (group: string) => lines.filter((l) => l.event === 'processed' && l.group === group);
      const distinct = (group: string) => new Set(processedBy(group).map((l) => `${l.partition}/${l.offset}`)).size;
      await waitFor(() => GROUPS.every((g) => distinct(g) === total), 60_000, 'every group to process every event');

      // Fan-out: each group saw every order's three events.
      for (const group of GROUPS) {
        const orders = new Map<string, number>();
        for (const l of processedBy(group)) orders.set(l.orderId!, (orders.get(l.orderId!) ?? 0) + 1);
        expect(orders.size).toBe(600);
      }
      // The victim's partitions were taken over within the session timeout (plus a heartbeat or two).
      const takeover = lines.filter((l) => l.event === 'assigned' && l.group === 'payment-service' && l.t >= killedAt && l.partitions!.some((p) => victimPartitions.includes(p)));
      expect(takeover.length).toBeGreaterThan(0);
      const movedAfterMs = Math.max(...victimPartitions.map((p) => Math.min(...takeover.filter((l) => l.partitions!.includes(p)).map((l) => l.t)))) - killedAt;
      expect(movedAfterMs).toBeLessThan(SESSION_TIMEOUT_MS + 3000);
      // Only the payment group (and only the victim's partitions) may see re-deliveries.
      const redelivered = (group: string) => processedBy(group).length - distinct(group);
      for (const group of ['inventory-service', 'email-notifications']) expect(redelivered(group)).toBe(0);
      const dupPartitions = new Set<number>();
      const seen = new Set<string>();
      for (const l of processedBy('payment-service')) {
        const k = `${l.partition}/${l.offset}`;
        if (seen.has(k)) dupPartitions.add(l.partition!);
        seen.add(k);
      }
      expect([...dupPartitions].every((p) => victimPartitions.includes(p))).toBe(true);
      // Inside each group, at the end, each partition has exactly one owner among live members.
      for (const group of GROUPS) expect(groupOwnsAll(group)).toBe(true);
      console.log(
        `order pipeline: ${total} events × ${GROUPS.length} groups; ${victim!.name} (partitions ${victimPartitions.join(',')}) killed; ` +
          `partitions moved after ${movedAfterMs} ms; payment re-deliveries: ${redelivered('payment-service')}`,
      );
    } finally {
      await ferry.close();
    }
  }, 120_000);
});
