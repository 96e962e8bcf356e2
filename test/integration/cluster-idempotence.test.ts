// Idempotent producers against three real broker processes: producer ids unique across brokers; a
// batch re-sent to the new leader after the old one was SIGKILLed is a duplicate there (the state
// comes from the replicated log); an idempotent SDK producer under acks=all load while the
// partition leader is SIGKILLed stores every value exactly once.
import { describe, expect, it } from 'vitest';
import { Ferry } from '../../src/client/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-builder.js';
import { checkAcked, firstAckSentAfter, readAll, startLoad } from '../helpers/acked-log.js';
import { clusterPerTest, until } from '../helpers/cluster.js';

const setUp = clusterPerTest();

async function leaderOf(f: Ferry, topic: string, partition: number): Promise<{ leaderId: number; leaderEpoch: number }> {
  const p = (await f.admin().metadata([topic])).topics[0]!.partitions[partition]!;
  return { leaderId: p.leaderId, leaderEpoch: p.leaderEpoch };
}

describe('idempotent producer, real cluster', () => {
  it('a batch re-sent to the new leader after a SIGKILL of the old one is stored once', async () => {
    const { cluster: c, ferry } = await setUp();
    const topic = 'idem-resend';
    await ferry.admin().createTopics([{ name: topic, partitions: 1, replicationFactor: 3 }]);
    const ids = await Promise.all([1, 2, 3, 1, 2, 3].map(async (id) => Number((await c.raw(id).call('produce', 'InitProducerId', {})).producerId)));
    expect(new Set(ids).size).toBe(6);
    const pid = ids[0]!;

    const before = await leaderOf(ferry, topic, 0);
    const request = {
      acks: -1,
      timeoutMs: 5_000,
      topics: [{ topic, partitions: [{ partition: 0, recordBatch: encodeRecordBatch(['a', 'b'].map((value) => ({ value })), { producerId: pid, producerEpoch: 0, baseSequence: 0 }) }] }],
    };
    const first = await until('the first append is acknowledged', async () => {
      const res = await c.raw(before.leaderId).call('produce', 'Produce', request).catch(() => null);
      const p = res?.topics[0].partitions[0];
      return p && !p.error ? p : undefined;
    });
    expect(Number(first.baseOffset)).toBe(0);
    await c.broker(before.leaderId).kill('SIGKILL');
    const after = await until('a new leader', async () => {
      const l = await leaderOf(ferry, topic, 0).catch(() => undefined);
      return l && l.leaderId !== before.leaderId && l.leaderId >= 0 ? l : undefined;
    });
    // The same bytes again, to the new leader: the original offsets, nothing appended.
    const again = await until('the re-sent batch is answered', async () => {
      const res = await c.raw(after.leaderId).call('produce', 'Produce', request).catch(() => null);
      const p = res?.topics[0].partitions[0];
      return p && !p.error ? p : undefined;
    });
    expect(Number(again.baseOffset)).toBe(0);
    expect(Number(again.lastOffset)).toBe(1);
    const log = await readAll(ferry, topic, 1);
    expect([...log.get(0)!.values()]).toEqual(['a', 'b']);
  }, 90_000);

  it('SIGKILL of a partition leader under idempotent acks=all load: every value stored exactly once', async () => {
    const { cluster, ferry } = await setUp();
    const topic = 'idem-kill-leader';
    await ferry.admin().createTopics([{ name: topic, partitions: 3, replicationFactor: 3 }]);
    const before = await leaderOf(ferry, topic, 0);
    // A short request timeout: answers lost with the dying leader are retried (and deduplicated) soon.
    const producer = ferry.producer({ idempotent: true, acks: 'all', lingerMs: 1, retryBackoffMs: 50, retryBackoffMaxMs: 200, requestTimeoutMs: 2_000, deliveryTimeoutMs: 60_000 });
    const load = startLoad(producer, topic, 3);
    await until('some acks before the kill', () => load.acked.filter((a) => a.partition === 0).length >= 300, 20_000);
    await cluster.broker(before.leaderId).kill('SIGKILL');
    const exitedAt = Date.now();
    await until('partition 0 acks a record sent after the kill', () => firstAckSentAfter(load, 0, exitedAt), 30_000);
    const ackedThen = load.acked.length;
    await until('more acks after the failover', () => load.acked.length >= ackedThen + 300, 20_000);
    await load.stop();
    await producer.close();
    expect(load.failed).toEqual([]);
    expect(load.acked.length).toBe(load.sent);

    const log = await readAll(ferry, topic, 3);
    checkAcked(load.acked, log);
    const counts = new Map<string, number>();
    for (const m of log.values()) for (const v of m.values()) counts.set(v, (counts.get(v) ?? 0) + 1);
    const duplicated = [...counts].filter(([, n]) => n > 1);
    console.log(`[idempotent kill -9 leader] ${load.acked.length} acked, ${counts.size} distinct values stored, ${duplicated.length} duplicated`);
    expect(duplicated).toEqual([]);
    expect(counts.size).toBe(load.sent);
  }, 120_000);
});
