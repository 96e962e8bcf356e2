import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { Ferry, FerryError, ErrorCode } from '../../../src/client/index.js';
import { partitionForKey } from '../../../src/client/murmur2.js';
import { startFakeBroker, type FakeBroker, type FakeBrokerOptions } from './fake-broker.js';

let broker: FakeBroker | undefined;
let ferry: Ferry | undefined;

afterEach(async () => {
  await ferry?.close();
  await broker?.close();
  ferry = undefined;
  broker = undefined;
});

async function setup(opts: FakeBrokerOptions) {
  broker = await startFakeBroker(opts);
  ferry = new Ferry({ bootstrap: broker.address, retry: { retries: 3, initialRetryTimeMs: 10, maxRetryTimeMs: 50 } });
  return { broker, ferry };
}

describe('Producer against a fake broker', () => {
  it('resolves each record with its partition and offset; keys land where Kafka puts them', async () => {
    const { broker, ferry } = await setup({ topics: { t: 4 } });
    const producer = ferry.producer({ lingerMs: 2 });
    const keys = ['a', 'b', 'c', 'd', 'e', 'a', 'a'];
    const metas = await Promise.all(keys.map((key, i) => producer.send({ topic: 't', key, value: `v${i}` })));
    metas.forEach((m, i) => expect(m.partition).toBe(partitionForKey(keys[i]!, 4)));
    const pA = partitionForKey('a', 4);
    const aOffsets = metas.filter((m) => m.partition === pA).map((m) => m.offset);
    expect(aOffsets).toEqual([...aOffsets].sort((x, y) => x - y));
    const stored = broker.records('t', pA);
    for (const m of metas.filter((x) => x.partition === pA)) {
      const idx = metas.indexOf(m);
      expect(stored.find((r) => r.offset === m.offset)?.value?.toString()).toBe(`v${idx}`);
    }
    await producer.close();
  });

  it('carries every ready partition in one Produce request per broker', async () => {
    const { broker, ferry } = await setup({ topics: { t: 8 } });
    const producer = ferry.producer({ lingerMs: 20 });
    await ferry.admin().metadata(['t']);
    const sends = [];
    for (let p = 0; p < 8; p++) sends.push(producer.send({ topic: 't', value: 'x', partition: p }));
    await Promise.all(sends);
    expect(broker.produceRequests.length).toBe(1);
    expect(broker.produceRequests[0]!.topics[0]!.partitions.length).toBe(8);
  });

  it('sendBatch returns one promise with results in input order and contiguous offsets', async () => {
    const { ferry } = await setup({ topics: { t: 1 } });
    const producer = ferry.producer({ batchSize: 1024 });
    const records = Array.from({ length: 500 }, (_, i) => ({ value: `value-${i}`, headers: [{ key: 'i', value: String(i) }] }));
    const metas = await producer.sendBatch('t', records);
    expect(metas.map((m) => m.offset)).toEqual(records.map((_, i) => i));
    expect(metas.every((m) => m.topic === 't' && m.partition === 0)).toBe(true);
  });

  it('null keys stick to one partition per batch', async () => {
    const { broker, ferry } = await setup({ topics: { t: 6 } });
    const producer = ferry.producer({ lingerMs: 50, batchSize: 100_000 });
    await ferry.admin().metadata(['t']);
    const metas = await Promise.all(Array.from({ length: 50 }, (_, i) => producer.send({ topic: 't', value: `v${i}` })));
    expect(new Set(metas.map((m) => m.partition)).size).toBe(1);
    expect(broker.produceRequests.length).toBe(1);
  });

  it('retries a retriable partition error and keeps per-partition order across the retry', async () => {
    const { broker, ferry } = await setup({
      topics: { t: 1 },
      // The first two produce attempts of t-0 fail with NOT_LEADER_OR_FOLLOWER.
      onProducePartition: (_t, _p, attempt) => (attempt <= 2 ? { code: 'NOT_LEADER_OR_FOLLOWER', retriable: true, message: 'moved' } : undefined),
    });
    const producer = ferry.producer({ lingerMs: 0, batchSize: 256, retryBackoffMs: 5, retryBackoffMaxMs: 20 });
    const sends = [];
    for (let i = 0; i < 200; i++) sends.push(producer.send({ topic: 't', value: `m${i}` }));
    const metas = await Promise.all(sends);
    const stored = broker.records('t', 0).map((r) => r.value!.toString());
    expect(stored).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`));
    expect(metas.map((m) => m.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    // Never more than one request per partition in flight: each request after the failures starts
    // where the previous one ended.
    expect(broker.produceRequests.length).toBeGreaterThanOrEqual(3);
  });

  it('retries whole-request UNAVAILABLE errors', async () => {
    const { broker, ferry } = await setup({
      topics: { t: 1 },
      onProduceRequest: (_req, n) =>
        n === 1 ? Object.assign(new Error('down'), { code: grpc.status.UNAVAILABLE, details: 'down', metadata: new grpc.Metadata() }) : undefined,
    });
    const producer = ferry.producer({ retryBackoffMs: 5 });
    const m = await producer.send({ topic: 't', value: 'hello' });
    expect(m.offset).toBe(0);
    expect(broker.produceRequests.length).toBe(2);
  });

  it('rejects with a non-retriable FerryError without retrying', async () => {
    const { broker, ferry } = await setup({
      topics: { t: 1 },
      onProducePartition: () => ({ code: 'MESSAGE_TOO_LARGE', message: 'too big' }),
    });
    const producer = ferry.producer();
    const err = await producer.send({ topic: 't', value: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    expect(broker.produceRequests.length).toBe(1);
  });

  it('reuses the buffers of acknowledged batches only, and every record arrives intact', async () => {
    let failPartition1 = true;
    const { broker, ferry } = await setup({
      topics: { t: 2 },
      onProducePartition: (_t, p) => (p === 1 && failPartition1 ? { code: 'MESSAGE_TOO_LARGE', message: 'refused' } : undefined),
    });
    const producer = ferry.producer({ batchSize: 1024, lingerMs: 0 });
    const spare = () => (producer as unknown as { acc: { spareBuffers: number } }).acc.spareBuffers;
    await expect(producer.send({ topic: 't', partition: 1, value: 'x'.repeat(300) })).rejects.toMatchObject({ code: ErrorCode.MESSAGE_TOO_LARGE });
    expect(spare()).toBe(0); // a failed batch's buffer is not reused
    failPartition1 = false;
    // Many rounds of batches of 1 KiB: later rounds are built in the buffers of earlier ones.
    for (let round = 0; round < 5; round++) {
      const values = Array.from({ length: 20 }, (_, i) => `r${round}-${i}-`.padEnd(300, String.fromCharCode(97 + round)));
      const metas = await producer.sendBatch('t', values.map((value) => ({ value, partition: round % 2 })));
      const stored = broker.records('t', round % 2);
      metas.forEach((m, i) => expect(stored.find((r) => r.offset === m.offset)?.value?.toString()).toBe(values[i]));
      expect(spare()).toBeGreaterThan(0);
    }
    await producer.close();
  });

  it('gives up after `retries` retries', async () => {
    const { broker, ferry } = await setup({
      topics: { t: 1 },
      onProducePartition: () => ({ code: 'NOT_ENOUGH_REPLICAS', retriable: true, message: 'isr' }),
    });
    const producer = ferry.producer({ retries: 2, retryBackoffMs: 1, retryBackoffMaxMs: 2 });
    await expect(producer.send({ topic: 't', value: 'x' })).rejects.toMatchObject({ code: ErrorCode.NOT_ENOUGH_REPLICAS });
    expect(broker.produceRequests.length).toBe(3);
  });

  it('acks=0 resolves with offset -1', async () => {
    const { broker, ferry } = await setup({ topics: { t: 1 } });
    const producer = ferry.producer({ acks: 0 });
    const m = await producer.send({ topic: 't', value: 'x' });
    expect(m.offset).toBe(-1);
    await producer.flush();
    expect(broker.produceRequests[0]!.acks).toBe(0);
  });

  it('rejects records for an unknown topic and an out-of-range partition', async () => {
    const { ferry } = await setup({ topics: { t: 2 } });
    const producer = ferry.producer();
    await expect(producer.send({ topic: 'nope', value: 'x' })).rejects.toMatchObject({ code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
    await expect(producer.send({ topic: 't', value: 'x', partition: 5 })).rejects.toMatchObject({ code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
  });

  it('applies back-pressure: send() waits while bufferMemory is used', async () => {
    const { ferry } = await setup({ topics: { t: 1 } });
    const producer = ferry.producer({ bufferMemory: 2048, batchSize: 1024, lingerMs: 1 });
    const sends = [];
    for (let i = 0; i < 300; i++) sends.push(producer.send({ topic: 't', value: 'y'.repeat(50) }));
    expect(producer.bufferedBytes).toBeLessThanOrEqual(2048 + 1024);
    const metas = await Promise.all(sends);
    expect(metas.map((m) => m.offset)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(producer.bufferedBytes).toBe(0);
  });

  it('flush() sends lingering batches at once; close() rejects later sends', async () => {
    const { ferry } = await setup({ topics: { t: 1 } });
    const producer = ferry.producer({ lingerMs: 60_000 });
    const p = producer.send({ topic: 't', value: 'x' });
    await producer.flush();
    await expect(p).resolves.toMatchObject({ offset: 0 });
    await producer.close();
    await expect(producer.send({ topic: 't', value: 'x' })).rejects.toBeInstanceOf(FerryError);
  });

  it('validates options', () => {
    const f = new Ferry({ bootstrap: '127.0.0.1:1' });
    expect(() => f.producer({ acks: 2 as never })).toThrow(/acks/);
    expect(() => f.producer({ batchSize: -1 })).toThrow(/batchSize/);
    expect(() => f.producer({ partitioner: 'x' as never })).toThrow(/partitioner/);
    expect(() => new Ferry({ bootstrap: 'nohostport' })).toThrow(/bootstrap/);
    void f.close();
  });
});
