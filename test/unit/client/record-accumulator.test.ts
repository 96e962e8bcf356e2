import { describe, expect, it } from 'vitest';
import { RecordAccumulator } from '../../../src/client/record-accumulator.js';
import { DefaultPartitioner } from '../../../src/client/partitioner.js';
import type { DeliveryTarget } from '../../../src/client/delivery.js';
import { decodeBatch } from '../../../src/protocol/record-decoder.js';

const sink: DeliveryTarget = { done() {}, fail() {} };
const value = 'x'.repeat(100);

function make(batchSizeBytes: number, lingerMs: number) {
  const partitioner = new DefaultPartitioner(() => 0);
  return new RecordAccumulator({ batchSizeBytes, lingerMs, batchOptions: {} }, partitioner);
}

describe('RecordAccumulator', () => {
  it('closes a batch when the next record does not fit in batchSize', () => {
    const acc = make(1024, 1000);
    let closed = 0;
    let n = 0;
    while (closed === 0) {
      if (acc.append('t', 0, 1, { key: null, value, timestamp: 1000 }, sink, n, 1000)) closed++;
      n++;
    }
    const q = acc.queue('t', 0);
    expect(q.batches.length).toBe(2);
    expect(q.batches[0]!.closed).toBe(true);
    expect(q.batches[0]!.bytes!.length).toBeLessThanOrEqual(1024);
    expect(q.batches[0]!.recordCount).toBe(n - 1);
    // Ready at once (full head), without waiting for linger.
    expect(acc.ready(1000, false).ready).toEqual([q]);
  });

  it('holds a non-full batch for lingerMs, then it is ready', () => {
    const acc = make(16384, 5);
    acc.append('t', 0, 1, { key: null, value, timestamp: 1000 }, sink, 0, 1000);
    const early = acc.ready(1002, false);
    expect(early.ready).toEqual([]);
    expect(early.nextReadyInMs).toBe(3);
    expect(acc.ready(1005, false).ready.length).toBe(1);
    // flush() makes it ready regardless of linger.
    expect(acc.ready(1001, true).ready.length).toBe(1);
  });

  it('drains batches in order, packs up to maxBytes, and mutes the partition', () => {
    const acc = make(256, 0);
    for (let i = 0; i < 20; i++) acc.append('t', 0, 1, { key: null, value, timestamp: 1000 + i }, sink, i, 1000);
    const q = acc.queue('t', 0);
    const total = q.batches.length;
    expect(total).toBeGreaterThan(3);
    const taken = acc.drain(q, 600);
    expect(taken.length).toBeGreaterThanOrEqual(1);
    expect(taken.reduce((s, b) => s + b.bytes!.length, 0)).toBeLessThanOrEqual(600);
    expect(q.muted).toBe(true);
    expect(acc.ready(2000, true).ready).toEqual([]);
    // Records decode back in order.
    const offsets = taken.flatMap((b) => decodeBatch(b.bytes!).records.map((r) => r.value!.length));
    expect(offsets.every((l) => l === 100)).toBe(true);
    acc.release(q, taken);
    expect(q.muted).toBe(false);
    expect(acc.batchCount).toBe(total - taken.length);
  });

  it('puts retried batches back at the head, not sendable before their backoff', () => {
    const acc = make(256, 0);
    for (let i = 0; i < 6; i++) acc.append('t', 0, 1, { key: null, value, timestamp: 1000 }, sink, i, 1000);
    const q = acc.queue('t', 0);
    const first = acc.drain(q, 1);
    expect(first.length).toBe(1);
    acc.reenqueue(q, first, 5000);
    expect(q.batches[0]).toBe(first[0]);
    const check = acc.ready(4000, true);
    expect(check.ready).toEqual([]);
    expect(check.nextReadyInMs).toBe(1000);
    expect(acc.ready(5000, false).ready).toEqual([q]);
  });

  it('tells the sticky partitioner when a batch closes', () => {
    const closedParts: number[] = [];
    const partitioner = { partition: () => 0, onBatchClosed: (_t: string, p: number) => void closedParts.push(p) };
    const acc = new RecordAccumulator({ batchSizeBytes: 200, lingerMs: 0, batchOptions: {} }, partitioner);
    acc.append('t', 2, 4, { key: null, value, timestamp: 1 }, sink, 0, 1);
    acc.append('t', 2, 4, { key: null, value, timestamp: 1 }, sink, 1, 1);
    expect(closedParts).toEqual([2]);
  });

  it('accounts buffered bytes until release', () => {
    const acc = make(1024, 0);
    acc.append('t', 0, 1, { key: null, value, timestamp: 1 }, sink, 0, 1);
    expect(acc.bufferedBytes).toBe(1024);
    const q = acc.queue('t', 0);
    const b = acc.drain(q, 1 << 20);
    acc.release(q, b);
    expect(acc.bufferedBytes).toBe(0);
  });

  it('builds new batches in the buffers of acknowledged ones, up to its limit', () => {
    const partitioner = new DefaultPartitioner(() => 0);
    const acc = new RecordAccumulator({ batchSizeBytes: 1024, lingerMs: 0, batchOptions: {}, recycledBuffersMax: 2 }, partitioner);
    for (let i = 0; i < 3; i++) acc.append('t', i, 3, { key: null, value, timestamp: 1 }, sink, i, 1);
    const drained = [0, 1, 2].map((p) => acc.drain(acc.queue('t', p), 1 << 20)[0]!);
    const used = drained.map((b) => b.buffer);
    for (const b of drained) acc.release(acc.queue('t', b.partition), [b]);
    acc.recycle(drained);
    expect(acc.spareBuffers).toBe(2); // the limit
    acc.append('t', 0, 3, { key: null, value: 'second', timestamp: 2 }, sink, 0, 2);
    const next = acc.drain(acc.queue('t', 0), 1 << 20)[0]!;
    expect(used).toContain(next.buffer);
    expect(acc.spareBuffers).toBe(1);
    // The recycled buffer holds the new batch only: it decodes to the new record.
    expect(decodeBatch(next.bytes!).records.map((r) => r.value!.toString())).toEqual(['second']);
  });

  it('never recycles a buffer grown past batchSize', () => {
    const acc = make(128, 0);
    acc.append('t', 0, 1, { key: null, value: 'y'.repeat(500), timestamp: 1 }, sink, 0, 1);
    const q = acc.queue('t', 0);
    const b = acc.drain(q, 1 << 20);
    acc.release(q, b);
    acc.recycle(b);
    expect(acc.spareBuffers).toBe(0);
  });
});
