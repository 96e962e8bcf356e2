/**
 * SIGKILL during a produce load with flush.mode=always, then restart: every acknowledged record is
 * there at its acknowledged offset, in order, offsets are gapless, and every batch read back is whole
 * (CRC-checked by decodeBatch) — nothing unacknowledged is half-visible.
 * Also: a clean SIGTERM exits 0 and the next start needs no recovery rescan.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { iterateBatches } from '../../src/protocol/record-batch.js';
import { encodeRecordBatch } from '../../src/protocol/record-builder.js';
import { decodeBatch } from '../../src/protocol/record-decoder.js';
import { startBroker, type BrokerHandle } from '../helpers/broker.js';
import { rawClients, type RawClients } from '../helpers/grpc.js';

const PARTITIONS = 4;
let broker: BrokerHandle | undefined;

afterEach(async () => {
  await broker?.cleanup();
  broker = undefined;
});

interface Acked {
  partition: number;
  baseOffset: number;
  values: string[];
}

async function readAll(rpc: RawClients, topic: string, partition: number): Promise<{ offset: number; value: string }[]> {
  const out: { offset: number; value: string }[] = [];
  let offset = 0;
  for (;;) {
    const res = await rpc.call('fetch', 'Fetch', { maxWaitMs: 0, maxBytes: 4 << 20, topics: [{ topic, partitions: [{ partition, fetchOffset: offset }] }] });
    const p = res.topics[0].partitions[0];
    expect(p.error).toBeNull();
    if (p.recordBatches.length === 0) return out;
    for (const { pos } of iterateBatches(p.recordBatches)) {
      for (const r of decodeBatch(p.recordBatches, pos).records) {
        if (r.offset >= offset) out.push({ offset: r.offset, value: r.value!.toString() });
      }
    }
    offset = out[out.length - 1]!.offset + 1;
  }
}

describe('crash safety', () => {
  it('keeps every acknowledged record across SIGKILL under load (flush.mode=always)', async () => {
    broker = await startBroker({ config: { 'flush.mode': 'always', 'num.partitions': String(PARTITIONS), 'segment.bytes': String(256 * 1024) } });
    const rpc = rawClients(broker.bootstrap);
    await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'crash', numPartitions: PARTITIONS }] });
    const acked: Acked[] = [];
    let seq = 0;
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) {
        const partition = seq % PARTITIONS;
        const values = Array.from({ length: 20 }, () => `v-${seq++}-${'x'.repeat(80)}`);
        try {
          const res = await rpc.call('produce', 'Produce', {
            acks: 1,
            topics: [{ topic: 'crash', partitions: [{ partition, recordBatch: encodeRecordBatch(values.map((value) => ({ value }))) }] }],
          });
          const p = res.topics[0].partitions[0];
          if (!p.error) acked.push({ partition, baseOffset: p.baseOffset, values });
        } catch {
          return; // the broker died under us: that request is unacknowledged
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    await new Promise((r) => setTimeout(r, 1500));
    await broker.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    rpc.close();
    expect(acked.length).toBeGreaterThan(50);

    await broker.restart();
    expect(broker.logs.some((l) => String(l.msg).startsWith('recovery rescanned'))).toBe(true);
    const rpc2 = rawClients(broker.bootstrap);
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const records = await readAll(rpc2, 'crash', partition);
      // gapless from 0
      records.forEach((r, i) => expect(r.offset).toBe(i));
      const byOffset = new Map(records.map((r) => [r.offset, r.value]));
      for (const a of acked.filter((x) => x.partition === partition)) {
        a.values.forEach((v, i) => expect(byOffset.get(a.baseOffset + i)).toBe(v));
      }
    }
    // The broker accepts new writes after recovery, continuing the offsets.
    const res = await rpc2.call('produce', 'Produce', { acks: 1, topics: [{ topic: 'crash', partitions: [{ partition: 0, recordBatch: encodeRecordBatch([{ value: 'after' }]) }] }] });
    expect(res.topics[0].partitions[0].error).toBeNull();
    rpc2.close();
  });

  it('truncates a torn tail left on disk and logs what it removed', async () => {
    const { openSync, writeSync, closeSync, readdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    broker = await startBroker();
    const rpc = rawClients(broker.bootstrap);
    await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'torn', numPartitions: 1 }] });
    for (let i = 0; i < 10; i++) {
      await rpc.call('produce', 'Produce', { acks: 1, topics: [{ topic: 'torn', partitions: [{ partition: 0, recordBatch: encodeRecordBatch([{ value: `r${i}` }]) }] }] });
    }
    rpc.close();
    await broker.kill('SIGKILL');
    // Append half a batch, as a crash mid-write would leave it.
    const dir = join(broker.dataDir, 'torn-0');
    const segment = readdirSync(dir).find((f) => f.endsWith('.log'))!;
    const half = encodeRecordBatch([{ value: 'half-written' }]).subarray(0, 40);
    const fd = openSync(join(dir, segment), 'a');
    writeSync(fd, half);
    closeSync(fd);
    await broker.restart();
    const rpc2 = rawClients(broker.bootstrap);
    const records = await readAll(rpc2, 'torn', 0);
    expect(records.map((r) => r.value)).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`));
    const res = await rpc2.call('produce', 'Produce', { acks: 1, topics: [{ topic: 'torn', partitions: [{ partition: 0, recordBatch: encodeRecordBatch([{ value: 'next' }]) }] }] });
    expect(res.topics[0].partitions[0].baseOffset).toBe(10);
    rpc2.close();
    expect(broker.logs.some((l) => l.level === 40 && JSON.stringify(l).includes('torn'))).toBe(true);
  });

  it('SIGTERM is a clean shutdown: exit code 0, data intact after restart', async () => {
    broker = await startBroker({ config: { 'flush.mode': 'os' } });
    const rpc = rawClients(broker.bootstrap);
    await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'clean', numPartitions: 1 }] });
    await rpc.call('produce', 'Produce', { acks: 1, topics: [{ topic: 'clean', partitions: [{ partition: 0, recordBatch: encodeRecordBatch([{ value: 'a' }, { value: 'b' }]) }] }] });
    rpc.close();
    expect(await broker.stop()).toBe(0);
    expect(broker.logs.some((l) => l.msg === 'broker stopped cleanly')).toBe(true);
    const before = broker.logs.length;
    await broker.restart();
    // A clean stop leaves nothing to recover: no segment is rescanned at the next start.
    expect(broker.logs.slice(before).some((l) => String(l.msg).startsWith('recovery'))).toBe(false);
    const rpc2 = rawClients(broker.bootstrap);
    expect((await readAll(rpc2, 'clean', 0)).map((r) => r.value)).toEqual(['a', 'b']);
    rpc2.close();
  });
});
