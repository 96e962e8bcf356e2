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

  it('drains batches in order, packs up to maxBytes, and keeps the partition back while its request is in flight', () => {
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
    acc.requestDone(q, taken);
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
    acc.requestDone(q, first);
    expect(q.batches[0]).toBe(first[0]);
    const check = acc.ready(4000, true);
    expect(check.ready).toEqual([]);
    expect(check.nextReadyInMs).toBe(1000);
    expect(acc.ready(5000, false).ready).toEqual([q]);
  });

  it('pipelines up to the window it is given; the window counts from the oldest unsettled request', () => {
    const acc = make(256, 0);
    for (let i = 0; i < 12; i++) acc.append('t', 0, 1, { key: null, value, timestamp: 1000 }, sink, i, 1000);
    const q = acc.queue('t', 0);
    const window3 = () => 3;
    const sent = [];
    for (let r = 0; r < 3; r++) {
      expect(acc.ready(1000, false, window3).ready).toEqual([q]);
      sent.push(acc.drain(q, 1));
    }
    expect(acc.ready(1000, false, window3).ready).toEqual([]); // 3 in flight
    expect(acc.ready(1000, false).ready).toEqual([]); // the default window is 1
    // The later two are answered, the first is not: still no room (a lost answer must not let
    // more than the window be stored after it).
    for (const r of [sent[1]!, sent[2]!]) {
      acc.release(q, r);
      acc.requestDone(q, r);
    }
    expect(acc.ready(1000, false, window3).ready).toEqual([]);
    acc.release(q, sent[0]!);
    acc.requestDone(q, sent[0]!);
    expect(acc.ready(1000, false, window3).ready).toEqual([q]);
  });

  it('with a request in flight, another goes once the oldest batch lingered or a whole request is queued', () => {
    const partitioner = new DefaultPartitioner(() => 0);
    const acc = new RecordAccumulator({ batchSizeBytes: 256, lingerMs: 5, batchOptions: {}, maxRequestBytes: 4 * 256 }, partitioner);
    const q = acc.queue('t', 0);
    const window5 = () => 5;
    for (let i = 0; i < 3; i++) acc.append('t', 0, 1, { key: null, value, timestamp: 1000 }, sink, i, 1000);
    acc.drain(q, 1); // one full batch in flight; a second full batch and an open one wait
    const early = acc.ready(1002, false, window5);
    expect(early.ready).toEqual([]);
    expect(early.nextReadyInMs).toBe(3); // the oldest waiting batch was created at 1000
    expect(acc.ready(1005, false, window5).ready).toEqual([q]);
    expect(acc.ready(1002, true, window5).ready).toEqual([q]); // flush() does not wait
    // A whole request's worth queued goes at once.
    for (let i = 0; i < 8; i++) acc.append('t', 0, 1, { key: null, value, timestamp: 1001 }, sink, i, 1001);
    expect(acc.ready(1001, false, window5).ready).toEqual([q]);
  });

  it('a failed request holds its batches until every request of the partition settled, then they go first, in the order first sent', () => {
    const acc = make(256, 0);
    for (let i = 0; i < 8; i++) acc.append('t', 0, 1, { key: null, value, timestamp: 1000 }, sink, i, 1000);
    const q = acc.queue('t', 0);
    const a = acc.drain(q, 1);
    const b = acc.drain(q, 1);
    const c = acc.drain(q, 1);
    const waiting = q.batches[0];
    // b fails first, then c is refused as out of order behind it: both held, nothing new goes.
    expect(q.hasEarlierUnacked(c[0]!)).toBe(true);
    acc.reenqueue(q, b, 2000);
    acc.requestDone(q, b);
    expect(acc.ready(5000, true, () => 5).ready).toEqual([]);
    acc.reenqueue(q, c, 1500);
    acc.requestDone(q, c);
    expect(q.recovering).toBe(true);
    expect(q.batches[0]).toBe(waiting);
    // a succeeds: nothing is in flight any more, so b and c go back to the head, b first, after the later backoff.
    acc.release(q, a);
    acc.requestDone(q, a);
    expect(q.recovering).toBe(false);
    expect(q.batches.slice(0, 3)).toEqual([b[0], c[0], waiting]);
    expect(q.hasEarlierUnacked(c[0]!)).toBe(true); // b is still unacknowledged
    expect(q.hasEarlierUnacked(b[0]!)).toBe(false); // a was acknowledged
    expect(acc.ready(1999, false, () => 5).ready).toEqual([]);
    expect(acc.ready(2000, false, () => 5).ready).toEqual([q]);
    // Re-drained, they keep their first drain order.
    const again = acc.drain(q, 1);
    expect(again[0]).toBe(b[0]);
    expect(again[0]!.drainOrder).toBeLessThan(c[0]!.drainOrder);
  });

  it('abortAll also takes batches held for retry', () => {
    const acc = make(256, 0);
    for (let i = 0; i < 4; i++) acc.append('t', 0, 1, { key: null, value, timestamp: 1000 }, sink, i, 1000);
    const q = acc.queue('t', 0);
    const a = acc.drain(q, 1);
    acc.drain(q, 1);
    acc.reenqueue(q, a, 2000);
    acc.requestDone(q, a);
    const total = acc.batchCount;
    expect(acc.abortAll().length).toBe(total - 1); // all but the one still in flight
    expect(q.returned).toEqual([]);
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
