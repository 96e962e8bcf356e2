/**
 * failover (needs a private cluster: --brokers >= 3): how long a partition and the controller are
 * unavailable when their broker dies, with default configs.
 *
 *  - leader failover: a producer sends acks=all records to partition 0 every few ms; the leader of
 *    partition 0 gets SIGKILL; the figure is the time from the kill to the first acknowledgement of
 *    a record sent after it (the SDK's own retries and metadata refreshes included — what an
 *    application sees). Then every acknowledged record is read back (none may be missing).
 *  - controller failover: the active controller gets SIGKILL; the figure is the time until a topic
 *    creation through a surviving broker succeeds.
 * Each killed broker is restarted and the cluster waits until every broker is live again.
 */
import type { Ferry } from '../../src/client/index.js';
import type { BenchCluster } from '../bench-cluster.js';
import { round, type BenchContext } from '../context.js';
import type { RunResult } from '../report.js';

const SEND_INTERVAL_MS = 5;
const OUTAGE_TIMEOUT_MS = 60_000;

export async function benchFailover(ctx: BenchContext, cluster: BenchCluster, run: number): Promise<RunResult> {
  const leader = await leaderFailover(ctx, cluster, run);
  const controller = await controllerFailover(ctx, cluster, run);
  return {
    run,
    figures: { 'leader failover ms': round(leader.ms), 'controller failover ms': round(controller.ms), 'acked lost': leader.lost },
    details: { ...leader, controller },
  };
}

async function leaderFailover(ctx: BenchContext, cluster: BenchCluster, run: number): Promise<{ ms: number; killed: number; acked: number; lost: number; topic: string }> {
  const { ferry } = ctx;
  const topic = `bench-failover-${Date.now().toString(36)}-${run}`;
  const rf = cluster.brokers.length;
  await ferry.admin().createTopics([{ name: topic, partitions: 3, replicationFactor: rf }]);
  const leaderId = await leaderOf(ferry, topic, 0);
  const producer = ferry.producer({ acks: -1, lingerMs: 0, deliveryTimeoutMs: OUTAGE_TIMEOUT_MS });
  const acked: Array<{ value: string; offset: number }> = [];
  let killedAt = Infinity;
  let firstAckAfterKill = Infinity;
  let seq = 0;
  let sending = true;
  const inFlight = new Set<Promise<void>>();
  const sender = (async () => {
    while (sending) {
      const value = `r${run}-${seq++}`;
      const sentAt = performance.now();
      const p = producer.send({ topic, partition: 0, value: Buffer.from(value) }).then(
        (meta) => {
          acked.push({ value, offset: meta.offset });
          const now = performance.now();
          if (sentAt >= killedAt && now < firstAckAfterKill) firstAckAfterKill = now;
        },
        () => undefined, // unacknowledged: the outcome is unknown, the checker ignores it
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      await new Promise((r) => setTimeout(r, SEND_INTERVAL_MS));
    }
  })();
  await new Promise((r) => setTimeout(r, 1_000)); // steady state first
  process.stderr.write(`run ${run}: SIGKILL broker ${leaderId} (leader of ${topic}-0)\n`);
  killedAt = performance.now();
  await cluster.broker(leaderId).kill();
  const deadline = Date.now() + OUTAGE_TIMEOUT_MS;
  while (firstAckAfterKill === Infinity && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 500));
  sending = false;
  await sender;
  await Promise.all(inFlight);
  await producer.close();
  const ms = firstAckAfterKill - killedAt;
  process.stderr.write(`run ${run}: partition 0 writable again after ${Math.round(ms)} ms; restarting broker ${leaderId}\n`);
  await cluster.broker(leaderId).restart();
  await cluster.waitLiveBrokers(rf);
  const lost = await countMissing(ferry, topic, acked);
  return { ms, killed: leaderId, acked: acked.length, lost, topic };
}

async function controllerFailover(ctx: BenchContext, cluster: BenchCluster, run: number): Promise<{ ms: number; killed: number }> {
  const { ferry } = ctx;
  const controllerId = (await ferry.admin().metadata()).controllerId;
  process.stderr.write(`run ${run}: SIGKILL broker ${controllerId} (active controller)\n`);
  const killedAt = performance.now();
  await cluster.broker(controllerId).kill();
  let ms = Infinity;
  for (let attempt = 0; performance.now() < killedAt + OUTAGE_TIMEOUT_MS; attempt++) {
    try {
      await ferry.admin().createTopics([{ name: `bench-ctl-${Date.now().toString(36)}-${run}-${attempt}`, partitions: 1, replicationFactor: 1 }]);
      ms = performance.now() - killedAt;
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  process.stderr.write(`run ${run}: topic creation works again after ${Math.round(ms)} ms; restarting broker ${controllerId}\n`);
  await cluster.broker(controllerId).restart();
  await cluster.waitLiveBrokers(cluster.brokers.length);
  return { ms, killed: controllerId };
}

async function leaderOf(ferry: Ferry, topic: string, partition: number): Promise<number> {
  const meta = await ferry.admin().metadata([topic]);
  const p = meta.topics.find((t) => t.name === topic)?.partitions.find((x) => x.partition === partition);
  if (!p || p.leaderId < 0) throw new Error(`${topic}-${partition} has no leader`);
  return p.leaderId;
}

/** Reads partition 0 back and counts acknowledged records missing at their acknowledged offsets. */
async function countMissing(ferry: Ferry, topic: string, acked: Array<{ value: string; offset: number }>): Promise<number> {
  const byOffset = new Map<number, string>();
  const consumer = ferry.consumer({});
  consumer.assign([{ topic, partition: 0, offset: 0 }]);
  const want = Math.max(-1, ...acked.map((a) => a.offset));
  const deadline = Date.now() + 30_000;
  for await (const m of consumer) {
    byOffset.set(m.offset, m.value?.toString() ?? '');
    if (m.offset >= want || Date.now() > deadline) break;
  }
  await consumer.close();
  return acked.filter((a) => byOffset.get(a.offset) !== a.value).length;
}
