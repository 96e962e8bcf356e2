/** Producer helpers shared by the fake-cluster producer tests (leader moves, ProduceStream). */
import { expect } from 'vitest';
import type { Ferry, Producer } from '../../../src/client/index.js';
import type { FakeCluster } from './fake-cluster.js';

/** Small batches and no linger: many requests, so a move lands between batches of one partition. */
export function producer(f: Ferry, extra = {}): Producer {
  return f.producer({ lingerMs: 0, batchSize: 128, retryBackoffMs: 5, retryBackoffMaxMs: 20, ...extra });
}

/** Sends `n` records one by one (not awaited), calling `during(i)` before each. */
export async function sendAll(p: Producer, n: number, during: (i: number) => void | Promise<void> = () => {}) {
  const sends = [];
  for (let i = 0; i < n; i++) {
    await during(i);
    sends.push(p.send({ topic: 't', partition: 0, value: `m${i}` }));
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 2)); // let requests go out mid-stream
  }
  return Promise.all(sends);
}

/** Partition t-0 holds m0..m(n-1) once each, in order, at the offsets the sends reported. */
export function expectExactlyInOrder(c: FakeCluster, n: number, offsets: number[]) {
  expect(c.records('t', 0).map((r) => r.value!.toString())).toEqual(Array.from({ length: n }, (_, i) => `m${i}`));
  expect(offsets).toEqual(Array.from({ length: n }, (_, i) => i));
}
