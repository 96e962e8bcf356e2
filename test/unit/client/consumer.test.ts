import { afterEach, describe, expect, it } from 'vitest';
import { Ferry, ErrorCode, type ConsumerRecord } from '../../../src/client/index.js';
import { decodeFetchedRecords } from '../../../src/client/fetch-decoder.js';
import { stampBatch } from '../../../src/protocol/record-batch.js';
import { encodeRecordBatch } from '../../../src/protocol/record-builder.js';
import { startFakeBroker, type FakeBroker } from './fake-broker.js';
import { take } from '../../helpers/consume.js';

let broker: FakeBroker | undefined;
let ferry: Ferry | undefined;

afterEach(async () => {
  await ferry?.close();
  await broker?.close();
  ferry = undefined;
  broker = undefined;
});

async function setup(partitions: number, perPartition: number) {
  broker = await startFakeBroker({ topics: { t: partitions } });
  ferry = new Ferry({ bootstrap: broker.address });
  const producer = ferry.producer({ batchSize: 2048 });
  for (let p = 0; p < partitions; p++) {
    await producer.sendBatch('t', Array.from({ length: perPartition }, (_, i) => ({ partition: p, key: `k${i}`, value: `p${p}-${i}` })));
  }
  await producer.close();
  return { broker, ferry };
}

describe('fetch decoding', () => {
  it('skips records below the fetch offset and advances past the last whole batch', () => {
    const a = encodeRecordBatch([{ value: 'a0' }, { value: 'a1' }, { value: 'a2' }]);
    stampBatch(a, 0, 10, 0);
    const b = encodeRecordBatch([{ value: 'b0' }]);
    stampBatch(b, 0, 13, 0);
    const partial = b.subarray(0, b.length - 3);
    const out: ConsumerRecord[] = [];
    const { nextOffset } = decodeFetchedRecords('t', 0, Buffer.concat([a, b, partial]), 11, out);
    expect(out.map((r) => [r.offset, r.value!.toString()])).toEqual([
      [11, 'a1'],
      [12, 'a2'],
      [13, 'b0'],
    ]);
    expect(nextOffset).toBe(14);
    expect(out[0]!.topic).toBe('t');
  });
});

describe('Consumer against a fake broker', () => {
  it('iterates every record of assigned partitions, in order per partition', async () => {
    const { ferry } = await setup(3, 200);
    const consumer = ferry.consumer({ autoOffsetReset: 'earliest', fetchMaxWaitMs: 20, maxPartitionFetchBytes: 4096 });
    consumer.assign([0, 1, 2].map((partition) => ({ topic: 't', partition })));
    const records = await take(consumer[Symbol.asyncIterator](), 600);
    expect(records.length).toBe(600);
    for (let p = 0; p < 3; p++) {
      const mine = records.filter((r) => r.partition === p);
      expect(mine.map((r) => r.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(mine[5]!.value!.toString()).toBe(`p${p}-5`);
      expect(mine[5]!.key!.toString()).toBe('k5');
    }
    expect(consumer.position({ topic: 't', partition: 1 })).toBe(200);
    await consumer.close();
  });

  it('falls back to long-poll Fetch when the broker answers Consume with UNIMPLEMENTED', async () => {
    const { broker, ferry: writer } = await setup(1, 50);
    await writer.close();
    const lines: string[] = [];
    const logger = { debug() {}, info: (_o: object, msg?: string) => void lines.push(msg ?? ''), warn() {}, error() {} };
    ferry = new Ferry({ bootstrap: broker.address, logger });
    const consumer = ferry.consumer({ autoOffsetReset: 'earliest', fetchMaxWaitMs: 20 });
    consumer.assign([{ topic: 't', partition: 0 }]);
    const records = await take(consumer[Symbol.asyncIterator](), 50);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(lines).toContain('broker does not support Consume streams; fetching instead');
    await consumer.close();
  });

  it('starts at an explicit offset and at latest by default', async () => {
    const { ferry } = await setup(1, 50);
    const c1 = ferry.consumer({ fetchMaxWaitMs: 20 });
    c1.assign([{ topic: 't', partition: 0, offset: 45 }]);
    const got = await take(c1[Symbol.asyncIterator](), 5);
    expect(got.map((r) => r.offset)).toEqual([45, 46, 47, 48, 49]);
    await c1.close();

    const c2 = ferry.consumer({ fetchMaxWaitMs: 20 });
    c2.assign([{ topic: 't', partition: 0 }]);
    const it = c2[Symbol.asyncIterator]();
    const pending = it.next();
    await new Promise((r) => setTimeout(r, 100));
    expect(c2.position({ topic: 't', partition: 0 })).toBe(50);
    await ferry.producer().send({ topic: 't', partition: 0, value: 'late' });
    const r = await pending;
    expect(r.done).toBe(false);
    expect((r.value as ConsumerRecord).offset).toBe(50);
    await c2.close();
  });

  it('seek() discards what was fetched and restarts at the new offset', async () => {
    const { ferry } = await setup(1, 100);
    const consumer = ferry.consumer({ autoOffsetReset: 'earliest', fetchMaxWaitMs: 20 });
    consumer.assign([{ topic: 't', partition: 0 }]);
    const it = consumer[Symbol.asyncIterator]();
    expect((await take(it, 3)).map((r) => r.offset)).toEqual([0, 1, 2]);
    await consumer.seek({ topic: 't', partition: 0 }, 90);
    expect((await take(it, 2)).map((r) => r.offset)).toEqual([90, 91]);
    await consumer.seek({ topic: 't', partition: 0 }, 'earliest');
    expect((await take(it, 1)).map((r) => r.offset)).toEqual([0]);
    await consumer.close();
  });

  it('run({ eachBatch }) delivers batches with the high watermark and resolves on stop()', async () => {
    const { ferry } = await setup(2, 100);
    const consumer = ferry.consumer({ autoOffsetReset: 'earliest', fetchMaxWaitMs: 20 });
    consumer.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
    let count = 0;
    const done = consumer.run({
      eachBatch: async ({ records, highWatermark }) => {
        expect(highWatermark).toBe(100);
        count += records.length;
        if (count === 200) void consumer.stop();
      },
    });
    await done;
    expect(count).toBe(200);
    await consumer.close();
  });

  it('pause() stops a partition; resume() continues where the application was', async () => {
    const { ferry } = await setup(2, 50);
    const consumer = ferry.consumer({ autoOffsetReset: 'earliest', fetchMaxWaitMs: 20 });
    consumer.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
    consumer.pause([{ topic: 't', partition: 1 }]);
    const it = consumer[Symbol.asyncIterator]();
    const first = await take(it, 50);
    expect(first.every((r) => r.partition === 0)).toBe(true);
    consumer.resume([{ topic: 't', partition: 1 }]);
    const second = await take(it, 50);
    expect(second.map((r) => r.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await consumer.close();
  });

  it("reports OFFSET_OUT_OF_RANGE with autoOffsetReset 'none', resets with 'earliest'", async () => {
    const { ferry } = await setup(1, 10);
    const strict = ferry.consumer({ autoOffsetReset: 'none', fetchMaxWaitMs: 20 });
    strict.assign([{ topic: 't', partition: 0, offset: 500 }]);
    await expect(strict[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: ErrorCode.OFFSET_OUT_OF_RANGE });
    await strict.close();

    const lenient = ferry.consumer({ autoOffsetReset: 'earliest', fetchMaxWaitMs: 20 });
    lenient.assign([{ topic: 't', partition: 0, offset: 500 }]);
    const got = await take(lenient[Symbol.asyncIterator](), 1);
    expect(got[0]!.offset).toBe(0);
    await lenient.close();
  });

  it('admin.listOffsets answers earliest and latest', async () => {
    const { ferry } = await setup(2, 7);
    const admin = ferry.admin();
    expect(await admin.listOffsets('t', undefined, 'latest')).toEqual([
      { partition: 0, offset: 7, timestamp: -1 },
      { partition: 1, offset: 7, timestamp: -1 },
    ]);
    expect((await admin.listOffsets('t', [1], 'earliest'))[0]!.offset).toBe(0);
  });
});
