/**
 * The SDK end to end against a real broker: 100,000 keyed records over 8 partitions come back with
 * per-partition order, gapless offsets from 0, every key on the partition Kafka's murmur2 picks, and
 * every record at the offset its send() promise reported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ferry, partitionForKey } from '../../src/client/index.js';
import { startBroker, type BrokerHandle } from '../helpers/broker.js';

const RECORDS = 100_000;
const PARTITIONS = 8;
const KEYS = 1_000;

let broker: BrokerHandle;
let ferry: Ferry;

beforeAll(async () => {
  broker = await startBroker({ config: { 'flush.mode': 'os' } });
  ferry = new Ferry({ bootstrap: broker.bootstrap });
});

afterAll(async () => {
  await ferry?.close();
  await broker?.cleanup();
});

describe('SDK round trip', () => {
  it('100k keyed records across 8 partitions: order, gapless offsets, murmur2 placement', async () => {
    await ferry.admin().createTopics([{ name: 'roundtrip', partitions: PARTITIONS }]);
    const producer = ferry.producer({ acks: -1, lingerMs: 2 });
    const acked = new Map<string, { partition: number; offset: number }>();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < RECORDS; i++) {
      const key = `user-${i % KEYS}`;
      const value = `${key}:${i}`;
      pending.push(producer.send({ topic: 'roundtrip', key, value }).then((m) => void acked.set(value, { partition: m.partition, offset: m.offset })));
      if (pending.length >= 5_000) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    await producer.close();
    expect(acked.size).toBe(RECORDS);

    const consumer = ferry.consumer({ autoOffsetReset: 'earliest' });
    consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: 'roundtrip', partition, offset: 0 })));
    const byPartition = new Map<number, { offset: number; key: string; value: string }[]>();
    let seen = 0;
    for await (const r of consumer) {
      const list = byPartition.get(r.partition) ?? [];
      byPartition.set(r.partition, list);
      list.push({ offset: r.offset, key: r.key!.toString(), value: r.value!.toString() });
      if (++seen === RECORDS) break;
    }
    await consumer.close();

    expect(byPartition.size).toBe(PARTITIONS);
    for (const [partition, records] of byPartition) {
      // Gapless offsets from 0, in order.
      records.forEach((r, i) => expect(r.offset).toBe(i));
      // Per-key order: the sequence numbers of one key only grow within its partition.
      const lastSeq = new Map<string, number>();
      for (const r of records) {
        expect(partitionForKey(Buffer.from(r.key), PARTITIONS)).toBe(partition);
        const seq = Number(r.value.split(':')[1]);
        expect(seq).toBeGreaterThan(lastSeq.get(r.key) ?? -1);
        lastSeq.set(r.key, seq);
        expect(acked.get(r.value)).toEqual({ partition, offset: r.offset });
      }
    }
  });
});
