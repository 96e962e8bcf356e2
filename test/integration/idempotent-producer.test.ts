/**
 * Idempotent produce against a real broker process: InitProducerId, a re-sent batch stored once at
 * its original offset (also after a SIGKILL and restart), sequence and epoch errors, producer ids
 * never reused across restarts, and the SDK's idempotent producer end to end.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { iterateBatches } from '../../src/protocol/record-batch.js';
import { encodeRecordBatch } from '../../src/protocol/record-builder.js';
import { decodeBatch } from '../../src/protocol/record-decoder.js';
import { Ferry } from '../../src/client/index.js';
import { startBroker, type BrokerHandle } from '../helpers/broker.js';
import { rawClients, type RawClients } from '../helpers/grpc.js';

let broker: BrokerHandle | undefined;
let rpc: RawClients | undefined;
let ferry: Ferry | undefined;

afterEach(async () => {
  await ferry?.close();
  ferry = undefined;
  rpc?.close();
  rpc = undefined;
  await broker?.cleanup();
  broker = undefined;
});

async function values(rpc: RawClients, topic: string): Promise<{ offset: number; value: string }[]> {
  const out: { offset: number; value: string }[] = [];
  let offset = 0;
  for (;;) {
    const res = await rpc.call('fetch', 'Fetch', { maxWaitMs: 0, maxBytes: 4 << 20, topics: [{ topic, partitions: [{ partition: 0, fetchOffset: offset }] }] });
    const p = res.topics[0].partitions[0];
    expect(p.error).toBeNull();
    if (p.recordBatches.length === 0) return out;
    for (const { pos } of iterateBatches(p.recordBatches)) {
      for (const r of decodeBatch(p.recordBatches, pos).records) if (r.offset >= offset) out.push({ offset: r.offset, value: r.value!.toString() });
    }
    offset = out[out.length - 1]!.offset + 1;
  }
}

function produceRequest(topic: string, batch: Buffer) {
  return { acks: -1, timeoutMs: 10_000, topics: [{ topic, partitions: [{ partition: 0, recordBatch: batch }] }] };
}

function batchOf(producerId: number, producerEpoch: number, baseSequence: number, vals: string[]): Buffer {
  return encodeRecordBatch(vals.map((value) => ({ value })), { producerId, producerEpoch, baseSequence });
}

describe('idempotent produce (single broker)', () => {
  it('stores a re-sent batch once, at the offset of the first answer, also after a crash and restart', async () => {
    broker = await startBroker({ config: { 'flush.mode': 'always' } });
    rpc = rawClients(broker.bootstrap);
    await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'idem', numPartitions: 1 }] });
    const init = await rpc.call('produce', 'InitProducerId', {});
    const pid = Number(init.producerId);
    expect(pid).toBeGreaterThanOrEqual(0);
    expect(init.producerEpoch).toBe(0);

    const first = produceRequest('idem', batchOf(pid, 0, 0, ['a', 'b', 'c']));
    const r1 = await rpc.call('produce', 'Produce', first);
    expect(r1.topics[0].partitions[0].error).toBeNull();
    expect(Number(r1.topics[0].partitions[0].baseOffset)).toBe(0);
    await rpc.call('produce', 'Produce', produceRequest('idem', encodeRecordBatch([{ value: 'other' }]))); // someone else, offset 3
    // the identical request again (a retry after a lost answer): same offsets, nothing appended
    const r2 = await rpc.call('produce', 'Produce', first);
    expect(r2.topics[0].partitions[0].error).toBeNull();
    expect(Number(r2.topics[0].partitions[0].baseOffset)).toBe(0);
    expect(Number(r2.topics[0].partitions[0].lastOffset)).toBe(2);
    expect((await values(rpc, 'idem')).map((v) => v.value)).toEqual(['a', 'b', 'c', 'other']);

    // a gap and a stale epoch are refused per partition
    const gap = await rpc.call('produce', 'Produce', produceRequest('idem', batchOf(pid, 0, 5, ['x'])));
    expect(gap.topics[0].partitions[0].error.code).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    const next = await rpc.call('produce', 'Produce', produceRequest('idem', batchOf(pid, 1, 0, ['d'])));
    expect(Number(next.topics[0].partitions[0].baseOffset)).toBe(4);
    const stale = await rpc.call('produce', 'Produce', produceRequest('idem', batchOf(pid, 0, 3, ['x'])));
    expect(stale.topics[0].partitions[0].error.code).toBe('INVALID_PRODUCER_EPOCH');

    // crash, restart: the state is rebuilt from the log; the last batch is still a duplicate
    rpc.close();
    await broker.kill('SIGKILL');
    await broker.restart();
    rpc = rawClients(broker.bootstrap);
    const again = await rpc.call('produce', 'Produce', produceRequest('idem', batchOf(pid, 1, 0, ['d'])));
    expect(again.topics[0].partitions[0].error).toBeNull();
    expect(Number(again.topics[0].partitions[0].baseOffset)).toBe(4);
    expect((await values(rpc, 'idem')).map((v) => v.value)).toEqual(['a', 'b', 'c', 'other', 'd']);
    expect(broker.logs.some((l) => l.msg === 'producer state loaded from the log')).toBe(true);

    // producer ids are never handed out twice, crashes included
    const after = Number((await rpc.call('produce', 'InitProducerId', {})).producerId);
    expect(after).toBeGreaterThan(pid);
  }, 60_000);

  it('the SDK producer with idempotent: true delivers in order, once; acks other than all are refused', async () => {
    broker = await startBroker();
    ferry = new Ferry({ bootstrap: broker.bootstrap });
    await ferry.admin().createTopics([{ name: 'sdk-idem', partitions: 1 }]);
    expect(() => ferry!.producer({ idempotent: true, acks: 1 })).toThrow(/acks/);
    const producer = ferry.producer({ idempotent: true, lingerMs: 2, batchSize: 512 });
    const sent = Array.from({ length: 2000 }, (_, i) => `v${i}`);
    const metas = await producer.sendBatch('sdk-idem', sent.map((value) => ({ value })));
    expect(metas.map((m) => m.offset)).toEqual(sent.map((_, i) => i));
    await producer.close();
    rpc = rawClients(broker.bootstrap);
    const read = await values(rpc, 'sdk-idem');
    expect(read.map((v) => v.value)).toEqual(sent);
    expect(broker.logs.some((l) => l.msg === 'producer state loaded from the log')).toBe(true);
  }, 60_000);
});
