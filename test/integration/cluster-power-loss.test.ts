// Whole-cluster crash (issue 5, chaos seed 4000): every broker of a 3-broker cluster is SIGKILLed at
// once and restarted. No broker has a clean-shutdown record, so each registers as an unclean restart
// and leaves every ISR and ELR — before the recovery election, every partition stayed offline for
// good. Now the controller elects the most complete replica once all replicas have reported their
// logs, and with flush.mode=always nothing acknowledged is lost (RF 3 and RF 1 topics alike).
import { describe, expect, it } from 'vitest';
import { checkAcked, produceAll, readAll } from '../helpers/acked-log.js';
import { clusterPerTest, describeOn, lastLog, until, waitForReplicas } from '../helpers/cluster.js';

const setUp = clusterPerTest();

const PARTITIONS = 3;

describe('whole-cluster crash, 3 broker processes', () => {
  it('SIGKILL of every broker at once: all partitions lead again after the restart; no acknowledged record lost', async () => {
    const { cluster: c, ferry: f } = await setUp({ 'flush.mode': 'always' });
    const admin = f.admin();
    await admin.createTopics([
      { name: 'rf3', partitions: PARTITIONS, replicationFactor: 3 },
      { name: 'rf1', partitions: PARTITIONS, replicationFactor: 1 },
    ]);
    await waitForReplicas(c, ['rf3', 'rf1', '__consumer_offsets']);
    const before = { rf3: await produceAll(f, 'rf3', PARTITIONS, 200, 'before'), rf1: await produceAll(f, 'rf1', PARTITIONS, 200, 'before') };

    const epochsBefore = new Map<string, number>();
    for (const topic of ['rf3', 'rf1']) for (const p of await describeOn(c, 1, topic)) epochsBefore.set(`${topic}-${p.partition}`, p.leaderEpoch);
    await Promise.all(c.brokers.map((b) => b.kill('SIGKILL')));
    const marks = c.brokers.map((b) => b.logs.length);
    const restartAt = Date.now();
    await Promise.all(c.brokers.map((b) => b.restart()));
    c.brokers.forEach((b, i) => expect(b.logs.slice(marks[i]).some((l) => l.msg === 'no clean-shutdown record: registering as recovering')).toBe(true));

    // Right after the restart every broker's image is the pre-crash one (full ISRs, old leaders), so
    // first wait for the recovery elections, then for leaders at the new epochs with full ISRs.
    const recoveredPartitions = () => new Set(c.brokers.flatMap((b) => b.logs.slice(marks[c.idOf(b) - 1])
      .filter((l) => l.msg === 'controller: every replica had restarted uncleanly; elected the most complete replica (recovery election)' && (l.topic === 'rf3' || l.topic === 'rf1'))
      .map((l) => `${l.topic as string}-${l.partition as number}`)));
    await until('a recovery election for every partition', () => recoveredPartitions().size === 2 * PARTITIONS, 30_000, 200);
    for (const topic of ['rf3', 'rf1']) {
      await until(`${topic}: every partition led again at a new epoch, full ISR`, async () => {
        const parts = await describeOn(c, 1, topic).catch(() => []);
        const ok = parts.length === PARTITIONS && parts.every((p) => p.leaderId >= 0 && p.isr.length === p.replicas.length && p.leaderEpoch > epochsBefore.get(`${topic}-${p.partition}`)!);
        return ok ? parts : undefined;
      }, 30_000, 200);
    }
    console.log(`[whole-cluster crash] every partition led, full ISR, ${Date.now() - restartAt} ms after the restart began`);
    expect(lastLog(c.broker(1).logs, 'previous shutdown was clean', restartAt)).toBeUndefined();

    // Writes work again (acks=all on RF 3 needs the followers back), and nothing acknowledged is gone.
    const after = { rf3: await produceAll(f, 'rf3', PARTITIONS, 50, 'after'), rf1: await produceAll(f, 'rf1', PARTITIONS, 50, 'after') };
    for (const topic of ['rf3', 'rf1'] as const) {
      const acked = [...before[topic], ...after[topic]].map((a, seq) => ({ ...a, seq }));
      checkAcked(acked, await readAll(f, topic, PARTITIONS));
    }
  }, 90_000);
});
