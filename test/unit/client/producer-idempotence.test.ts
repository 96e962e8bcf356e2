/**
 * The idempotent producer against the fake cluster, whose "brokers" run the real producer-state
 * checks over a shared log: lost answers and leader moves never duplicate, sequence errors bump the
 * epoch (KIP-360), and a refused mix of old and new batches is resent one batch per request.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, Ferry, type Producer } from '../../../src/client/index.js';
import { readBatchHeader } from '../../../src/protocol/record-batch.js';
import { fakeClusterPerTest, statusError, type FakeCluster } from './fake-cluster.js';
import { expectExactlyInOrder } from './producer-helpers.js';
import { resolveProducerOptions } from '../../../src/client/options.js';
import * as grpc from '@grpc/grpc-js';

const setup = fakeClusterPerTest();

function producer(f: Ferry, extra = {}): Producer {
  return f.producer({ idempotent: true, lingerMs: 0, batchSize: 128, retryBackoffMs: 5, retryBackoffMaxMs: 20, ...extra });
}

async function sendAll(p: Producer, n: number, during: (i: number) => void | Promise<void> = () => {}) {
  const sends = [];
  for (let i = 0; i < n; i++) {
    await during(i);
    sends.push(p.send({ topic: 't', partition: 0, value: `m${i}` }));
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 2));
  }
  return Promise.all(sends);
}

/** 5 records every millisecond or so: new batches keep coming while requests are in flight. */
async function sendSlowly(p: Producer, n: number) {
  const sends = [];
  for (let i = 0; i < n; i++) {
    sends.push(p.send({ topic: 't', partition: 0, value: `m${i}` }));
    if (i % 5 === 4) await new Promise((r) => setTimeout(r, 1));
  }
  return Promise.all(sends);
}

/** Headers of the batches the producer sent for t-0, per request. */
function sentHeaders(c: FakeCluster) {
  return c.produceRequests.map(({ req }) => {
    const bytes = req.topics[0]!.partitions[0]!.recordBatch;
    const out = [];
    for (let pos = 0; pos < bytes.length; pos += 12 + bytes.readInt32BE(pos + 8)) out.push(readBatchHeader(bytes, pos));
    return out;
  });
}

describe('Producer: idempotent', () => {
  it('pipelines up to 5 requests per partition once the leader knows the producer there; without idempotence one at a time', async () => {
    const { cluster, ferry } = await setup({ produceAnswerDelayMs: 15 });
    const metas = await sendSlowly(producer(ferry), 300);
    expectExactlyInOrder(cluster, 300, metas.map((m) => m.offset));
    expect(cluster.maxProducesUnanswered).toBe(5);
    // The first request went alone: until it is acknowledged, the leader would take any sequence.
    expect(sentHeaders(cluster)[0]![0]!.baseSequence).toBe(0);
  });

  it('without idempotence a partition has one request in flight at a time', async () => {
    const { cluster, ferry } = await setup({ produceAnswerDelayMs: 15 });
    const metas = await sendSlowly(producer(ferry, { idempotent: false }), 100);
    expectExactlyInOrder(cluster, 100, metas.map((m) => m.offset));
    expect(cluster.maxProducesUnanswered).toBe(1);
  });

  it('pipelined, with lost answers, failed requests and leader moves: each record stored once, in order', async () => {
    const { cluster, ferry } = await setup({
      produceAnswerDelayMs: 3,
      loseAnswer: (c) => c.attempt % 7 === 3,
      onProduce: (c) => (c.attempt % 11 === 5 ? { code: 'NOT_ENOUGH_REPLICAS', retriable: true } : undefined),
    });
    const metas = await sendAll(producer(ferry), 500, (i) => {
      if (i % 100 === 60) cluster.moveLeader('t', 0, 1 + (Math.floor(i / 100) % 3));
    });
    expectExactlyInOrder(cluster, 500, metas.map((m) => m.offset));
    expect(cluster.maxProducesUnanswered).toBeGreaterThan(1);
  });

  it('a batch whose answer was lost is stored once and resolves with its original offsets', async () => {
    const { cluster, ferry } = await setup({ loseAnswer: (c) => c.attempt % 3 === 1 });
    const metas = await sendAll(producer(ferry), 300);
    expect(cluster.records('t', 0).map((r) => r.value!.toString())).toEqual(Array.from({ length: 300 }, (_, i) => `m${i}`));
    expect(metas.map((m) => m.offset)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    const headers = sentHeaders(cluster).flat();
    expect(new Set(headers.map((h) => h.producerId))).toEqual(new Set([1000]));
    expect(headers.every((h) => h.producerEpoch === 0)).toBe(true);
  });

  it('survives leader moves with lost answers: exactly once, in order', async () => {
    const { cluster, ferry } = await setup({ loseAnswer: (c) => c.attempt % 4 === 2 });
    const metas = await sendAll(producer(ferry), 400, (i) => {
      if (i % 50 === 25) cluster.moveLeader('t', 0, 1 + (Math.floor(i / 50) % 3));
    });
    expect(cluster.records('t', 0).map((r) => r.value!.toString())).toEqual(Array.from({ length: 400 }, (_, i) => `m${i}`));
    expect(metas.map((m) => m.offset)).toEqual(Array.from({ length: 400 }, (_, i) => i));
  });

  it('OUT_OF_ORDER_SEQUENCE_NUMBER fails the batch and bumps the epoch; later sends start at sequence 0', async () => {
    const { cluster, ferry } = await setup({ onProduce: (c) => (c.attempt === 2 ? { code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER } : undefined) });
    const p = producer(ferry);
    await p.send({ topic: 't', partition: 0, value: 'a' });
    await expect(p.send({ topic: 't', partition: 0, value: 'b' })).rejects.toMatchObject({ code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    await p.send({ topic: 't', partition: 0, value: 'c' });
    const headers = sentHeaders(cluster).flat();
    expect(headers.map((h) => [h.producerEpoch, h.baseSequence])).toEqual([[0, 0], [0, 1], [1, 0]]);
    expect(cluster.records('t', 0).map((r) => r.value!.toString())).toEqual(['a', 'c']);
  });

  it('DUPLICATE_SEQUENCE_NUMBER resends the batches of the request one per request', async () => {
    let refused = false;
    const { cluster, ferry } = await setup({
      onProduce: (c) => {
        const last = cluster!.produceRequests.at(-1)!.req.topics[0]!.partitions[0]!.recordBatch;
        const batches = 12 + last.readInt32BE(8) < last.length;
        if (!refused && batches) {
          refused = true;
          return { code: ErrorCode.DUPLICATE_SEQUENCE_NUMBER };
        }
        return undefined;
      },
    });
    const p = producer(ferry, { lingerMs: 20 });
    const metas = await Promise.all(Array.from({ length: 30 }, (_, i) => p.send({ topic: 't', partition: 0, value: `m${i}-${'x'.repeat(40)}` })));
    expect(refused).toBe(true);
    expect(metas.map((m) => m.offset)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    const perRequest = sentHeaders(cluster).map((r) => r.length);
    const at = perRequest.findIndex((n) => n > 1);
    expect(perRequest.slice(at + 1, at + 1 + perRequest[at]!)).toEqual(Array(perRequest[at]).fill(1));
  });

  it('InitProducerId: retriable failures are retried (on other brokers), then the batches go out', async () => {
    const { cluster, ferry } = await setup({ onRequest: (_b, method, n) => (method === 'InitProducerId' && n <= 2 ? statusError(grpc.status.UNAVAILABLE, ErrorCode.BROKER_NOT_AVAILABLE) : undefined) });
    const metas = await sendAll(producer(ferry), 20);
    expect(metas.map((m) => m.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(new Set(sentHeaders(cluster).flat().map((h) => h.producerId)).size).toBe(1);
  });

  it('InitProducerId: a non-retriable failure fails the waiting sends with it', async () => {
    const { cluster, ferry } = await setup({ onRequest: (_b, method) => (method === 'InitProducerId' ? statusError(grpc.status.UNIMPLEMENTED, null) : undefined) });
    await expect(producer(ferry).send({ topic: 't', partition: 0, value: 'x' })).rejects.toMatchObject({ code: ErrorCode.INVALID_REQUEST });
    expect(cluster.produceRequests).toEqual([]);
  });

  it('refuses acks other than all with INVALID_CONFIG', async () => {
    const { ferry } = await setup();
    expect(() => ferry.producer({ idempotent: true, acks: 0 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_CONFIG }));
    expect(() => ferry.producer({ idempotent: true, acks: 'all' })).not.toThrow();
  });

  it('is the default with acks all (Kafka KIP-679), not with acks 0 or 1, and can be turned off', () => {
    expect(resolveProducerOptions({}, 1000).idempotent).toBe(true);
    expect(resolveProducerOptions({ acks: 'all' }, 1000).idempotent).toBe(true);
    expect(resolveProducerOptions({ acks: 1 }, 1000).idempotent).toBe(false);
    expect(resolveProducerOptions({ acks: 0 }, 1000).idempotent).toBe(false);
    expect(resolveProducerOptions({ idempotent: false }, 1000).idempotent).toBe(false);
  });

  it('by default a producer asks for a producer id and numbers its batches', async () => {
    const { cluster, ferry } = await setup();
    const p = ferry.producer({ lingerMs: 0 });
    await p.send({ topic: 't', partition: 0, value: 'x' });
    expect(sentHeaders(cluster)[0]![0]!.producerId).toBeGreaterThanOrEqual(0);
    await p.close();
  });
});
