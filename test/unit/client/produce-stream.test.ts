/**
 * The producer's ProduceStream transport against the fake cluster (real gRPC servers): with
 * ProduceStream served (each message through the fake's Produce handler and hooks), leader moves,
 * retriable per-partition and whole-request errors, a stream that breaks, a broker that dies and
 * lost answers with idempotence keep every record once and in order, as over unary calls; without
 * it (UNIMPLEMENTED, as from an older broker) the producer falls back to unary calls per address.
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ErrorCode, Ferry, type Producer } from '../../../src/client/index.js';
import type { ProduceStreams } from '../../../src/client/produce-stream.js';
import { fakeClusterPerTest, statusError } from './fake-cluster.js';
import { expectExactlyInOrder, producer, sendAll } from './producer-helpers.js';

const setup = fakeClusterPerTest();

function stats(p: Producer): ProduceStreams['stats'] {
  return (p as unknown as { sender: { transport: ProduceStreams } }).sender.transport.stats;
}

describe('Producer over ProduceStream (fake cluster serving it)', () => {
  it('sends every request over one stream per broker', async () => {
    const { cluster, ferry } = await setup({ produceStream: true });
    const p = producer(ferry);
    const metas = await sendAll(p, 200);
    expectExactlyInOrder(cluster, 200, metas.map((m) => m.offset));
    const s = stats(p);
    expect(s.unaryRequests).toBe(0);
    expect(s.streamRequests).toBe(cluster.produceRequests.length);
    expect(s.streamRequests).toBeGreaterThan(2);
    expect(cluster.produceStreams).toEqual([1]);
  });

  it('follows leader moves to each new leader\'s stream, in order', async () => {
    const { cluster, ferry } = await setup({ produceStream: true });
    const p = producer(ferry);
    const metas = await sendAll(p, 300, (i) => {
      if (i === 100) cluster.moveLeader('t', 0, 2);
      if (i === 200) cluster.moveLeader('t', 0, 3);
    });
    expectExactlyInOrder(cluster, 300, metas.map((m) => m.offset));
    expect(new Set(cluster.produceStreams)).toEqual(new Set([1, 2, 3]));
    expect(stats(p).unaryRequests).toBe(0);
  });

  it.each([ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.REQUEST_TIMED_OUT])('retries %s in order', async (code) => {
    const { cluster, ferry } = await setup({ produceStream: true, onProduce: (c) => (c.attempt <= 3 ? { code } : undefined) });
    const metas = await sendAll(producer(ferry), 100);
    expectExactlyInOrder(cluster, 100, metas.map((m) => m.offset));
  });

  it('a whole-request error with a Ferry code fails that request only; a status without one breaks the stream, whose requests are retried on a new one', async () => {
    const errors = [statusError(grpc.status.UNAVAILABLE, ErrorCode.SHUTTING_DOWN), statusError(grpc.status.UNAVAILABLE, ErrorCode.NOT_CONTROLLER), statusError(grpc.status.UNAVAILABLE, null)];
    const { cluster, ferry } = await setup({ produceStream: true, onRequest: (_b, method, n) => (method === 'Produce' ? errors[n - 1] : undefined) });
    const p = producer(ferry);
    const metas = await sendAll(p, 60);
    expectExactlyInOrder(cluster, 60, metas.map((m) => m.offset));
    expect(cluster.produceStreams.length).toBe(2); // the third error ended the first stream
    expect(stats(p).unaryRequests).toBe(0);
  });

  it('survives the leader dying mid-stream: retried on the new leader', async () => {
    const { cluster, ferry } = await setup({ produceStream: true });
    const p = producer(ferry);
    const metas = await sendAll(p, 300, async (i) => {
      if (i === 150) {
        cluster.moveLeader('t', 0, 2);
        await cluster.kill(1);
      }
    });
    expectExactlyInOrder(cluster, 300, metas.map((m) => m.offset));
    expect(cluster.produceStreams).toContain(2);
  });

  it('idempotent, with lost answers and leader moves: each record stored once, in order', async () => {
    const { cluster, ferry } = await setup({ produceStream: true, loseAnswer: (c) => c.attempt % 4 === 2 });
    const p = producer(ferry, { idempotent: true });
    const metas = await sendAll(p, 400, (i) => {
      if (i % 50 === 25) cluster.moveLeader('t', 0, 1 + (Math.floor(i / 50) % 3));
    });
    expectExactlyInOrder(cluster, 400, metas.map((m) => m.offset));
    expect(stats(p).unaryRequests).toBe(0);
  });

  it('transport: \'unary\' never opens a stream', async () => {
    const { cluster, ferry } = await setup({ produceStream: true });
    const metas = await sendAll(producer(ferry, { transport: 'unary' }), 100);
    expectExactlyInOrder(cluster, 100, metas.map((m) => m.offset));
    expect(cluster.produceStreams).toEqual([]);
  });

  it('refuses an unknown transport', async () => {
    const { ferry } = await setup({ produceStream: true });
    expect(() => ferry.producer({ transport: 'carrier-pigeon' as 'stream' })).toThrow(/invalid transport/);
  });
});

describe('Producer against brokers without ProduceStream (UNIMPLEMENTED)', () => {
  it('falls back to unary Produce per address: the requests in flight on the failed stream are re-sent, later ones go unary at once', async () => {
    const { cluster } = await setup();
    const lines: Array<{ msg: string | undefined; obj: object }> = [];
    const log = (obj: object, msg?: string) => void lines.push({ obj, msg });
    const ferry = new Ferry({ bootstrap: cluster.bootstrap, logger: { debug: () => undefined, info: log, warn: log, error: log } });
    try {
      const p = producer(ferry, { maxInFlightRequests: 5 });
      const metas = await sendAll(p, 200);
      expectExactlyInOrder(cluster, 200, metas.map((m) => m.offset));
      const s = stats(p);
      expect(s.streamsOpened).toBe(1); // tried once; the address is remembered
      expect(s.unaryRequests).toBe(cluster.produceRequests.length);
      expect(lines.filter((l) => l.msg === 'broker does not implement ProduceStream; using unary Produce calls')).toHaveLength(1);
      // Another broker is tried on its own: move the leader and the new address gets its one attempt too.
      cluster.moveLeader('t', 0, 2);
      await p.send({ topic: 't', partition: 0, value: 'on broker 2' });
      expect(stats(p).streamsOpened).toBe(2);
      expect(cluster.produceRequests.at(-1)!.broker).toBe(2);
      await p.close();
    } finally {
      await ferry.close();
    }
  });
});
