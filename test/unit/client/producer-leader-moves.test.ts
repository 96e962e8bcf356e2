/**
 * The producer across leader moves, against a fake cluster of real gRPC servers (fake-cluster.ts):
 * every record acknowledged exactly once, in send order per partition, whatever the leader did.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/client/index.js';
import { fakeClusterPerTest, statusError } from './fake-cluster.js';
import * as grpc from '@grpc/grpc-js';
import { expectExactlyInOrder, producer, sendAll } from './producer-helpers.js';

const setup = fakeClusterPerTest();

describe('Producer: leader moves', () => {
  it('follows NOT_LEADER_OR_FOLLOWER with a leader hint to the new leader, without a metadata round trip', async () => {
    const { cluster, ferry } = await setup();
    const p = producer(ferry);
    const metas = await sendAll(p, 300, (i) => {
      if (i === 100) cluster.moveLeader('t', 0, 2);
      if (i === 200) cluster.moveLeader('t', 0, 3);
    });
    expectExactlyInOrder(cluster, 300, metas.map((m) => m.offset));
    expect(new Set(cluster.produceRequests.map((r) => r.broker))).toEqual(new Set([1, 2, 3]));
    // One metadata request to start with; the hints did the rest.
    expect(cluster.metadataRequests.length).toBe(1);
  });

  it('refreshes metadata on NOT_LEADER_OR_FOLLOWER without a hint', async () => {
    const { cluster, ferry } = await setup({ leaderHints: false });
    const p = producer(ferry);
    const metas = await sendAll(p, 300, (i) => {
      if (i === 150) cluster.moveLeader('t', 0, 2);
    });
    expectExactlyInOrder(cluster, 300, metas.map((m) => m.offset));
    expect(cluster.metadataRequests.length).toBeGreaterThan(1);
    expect(cluster.produceRequests.at(-1)!.broker).toBe(2);
  });

  it.each([
    ErrorCode.NOT_LEADER_OR_FOLLOWER,
    ErrorCode.FENCED_LEADER_EPOCH,
    ErrorCode.UNKNOWN_LEADER_EPOCH,
    ErrorCode.LEADER_NOT_AVAILABLE,
    ErrorCode.NOT_ENOUGH_REPLICAS,
    ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    ErrorCode.REQUEST_TIMED_OUT,
    ErrorCode.NOT_CONTROLLER,
  ])('retries %s (first 3 attempts) and keeps order', async (code) => {
    const { cluster, ferry } = await setup({ onProduce: (c) => (c.attempt <= 3 ? { code } : undefined) });
    const p = producer(ferry);
    const metas = await sendAll(p, 100);
    expectExactlyInOrder(cluster, 100, metas.map((m) => m.offset));
  });

  it('retries whole-request errors with a Ferry code (NOT_CONTROLLER, SHUTTING_DOWN) and plain UNAVAILABLE', async () => {
    const errors = [statusError(grpc.status.UNAVAILABLE, ErrorCode.NOT_CONTROLLER), statusError(grpc.status.UNAVAILABLE, ErrorCode.SHUTTING_DOWN), statusError(grpc.status.UNAVAILABLE, null)];
    const { cluster, ferry } = await setup({ onRequest: (_b, method, n) => (method === 'Produce' ? errors[n - 1] : undefined) });
    const p = producer(ferry);
    const metas = await sendAll(p, 60);
    expectExactlyInOrder(cluster, 60, metas.map((m) => m.offset));
  });

  it('survives the leader dying: UNAVAILABLE, then metadata from a live broker names the new leader', async () => {
    const { cluster, ferry } = await setup({ leaderHints: false });
    const p = producer(ferry, { acks: -1 });
    const metas = await sendAll(p, 300, async (i) => {
      if (i === 120) {
        await cluster.kill(1);
        setTimeout(() => cluster.moveLeader('t', 0, 3), 50); // the controller notices a moment later
      }
    });
    expectExactlyInOrder(cluster, 300, metas.map((m) => m.offset));
    expect(cluster.produceRequests.at(-1)!.broker).toBe(3);
  });

  it('retries as soon as metadata names a newer leader, not after the retry backoff (leader watch)', async () => {
    const { cluster, ferry } = await setup({ leaderHints: false });
    // A backoff far longer than the move: without the watch the retry would wait it out.
    const p = producer(ferry, { acks: -1, retryBackoffMs: 3_000, retryBackoffMaxMs: 3_000 });
    await p.send({ topic: 't', partition: 0, value: 'm0' });
    await cluster.kill(1);
    const sent = Date.now();
    const pending = p.send({ topic: 't', partition: 0, value: 'm1' });
    setTimeout(() => cluster.moveLeader('t', 0, 2), 200);
    const meta = await pending;
    const took = Date.now() - sent;
    expect(meta.offset).toBe(1);
    expect(cluster.produceRequests.at(-1)!.broker).toBe(2);
    expect(took).toBeLessThan(1_500);
  });

  it('waits out an offline partition (leader -1) instead of failing', async () => {
    const { cluster, ferry } = await setup();
    cluster.moveLeader('t', 0, -1);
    const p = producer(ferry);
    const pending = sendAll(p, 50);
    await new Promise((r) => setTimeout(r, 300));
    expect(cluster.produceRequests.length).toBe(0);
    cluster.moveLeader('t', 0, 2);
    const metas = await pending;
    expectExactlyInOrder(cluster, 50, metas.map((m) => m.offset));
  });

  it('sends keyless records to partitions that have a leader while one is offline', async () => {
    const { cluster, ferry } = await setup({ topics: { t: 3 } });
    cluster.moveLeader('t', 1, -1);
    const p = ferry.producer({ lingerMs: 0, batchSize: 100, deliveryTimeoutMs: 60_000 });
    await ferry.admin().metadata(['t']);
    const metas = await Promise.all(Array.from({ length: 200 }, (_, i) => p.send({ topic: 't', value: `v${i}` })));
    expect(metas.every((m) => m.partition !== 1)).toBe(true);
    expect(cluster.records('t', 0).length + cluster.records('t', 2).length).toBe(200);
  });

  it('fails with REQUEST_TIMED_OUT once deliveryTimeoutMs passes while the partition stays offline', async () => {
    const { cluster, ferry } = await setup();
    cluster.moveLeader('t', 0, -1);
    const p = ferry.producer({ lingerMs: 0, requestTimeoutMs: 200, deliveryTimeoutMs: 500, retryBackoffMs: 10 });
    await ferry.admin().metadata(['t']);
    const started = Date.now();
    const err = await p.send({ topic: 't', partition: 0, value: 'x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.REQUEST_TIMED_OUT });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(cluster.produceRequests.length).toBe(0);
  });

  it('retries NOT_ENOUGH_REPLICAS until deliveryTimeoutMs, then fails with REQUEST_TIMED_OUT naming it', async () => {
    const { cluster, ferry } = await setup({ onProduce: () => ({ code: ErrorCode.NOT_ENOUGH_REPLICAS, message: 'ISR 1 < min.insync.replicas 2' }) });
    const p = ferry.producer({ lingerMs: 0, requestTimeoutMs: 200, deliveryTimeoutMs: 400, retryBackoffMs: 20, retryBackoffMaxMs: 50 });
    const err = await p.send({ topic: 't', partition: 0, value: 'x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.REQUEST_TIMED_OUT });
    expect((err as Error).message).toMatch(/deliveryTimeoutMs.*ISR 1 < min\.insync\.replicas 2/);
    expect(cluster.produceRequests.length).toBeGreaterThan(2);
    expect(cluster.records('t', 0)).toHaveLength(0);
  });

  it('keeps a call waiting for metadata through a retriable topic error, up to deliveryTimeoutMs', async () => {
    let down = true;
    const { cluster, ferry } = await setup({
      onRequest: (_b, method) => (method === 'Metadata' && down ? statusError(grpc.status.UNAVAILABLE, ErrorCode.LEADER_NOT_AVAILABLE) : undefined),
    });
    const p = producer(ferry, { requestTimeoutMs: 1000, deliveryTimeoutMs: 10_000 });
    const pending = p.send({ topic: 't', partition: 0, value: 'late' });
    // Longer than the Ferry retry policy (3 retries, <= 50 ms each) alone would wait.
    await new Promise((r) => setTimeout(r, 600));
    down = false;
    await expect(pending).resolves.toMatchObject({ offset: 0 });
    expect(cluster.records('t', 0)).toHaveLength(1);
  });

  it('keeps per-partition order with several partitions and several in-flight requests while leaders move', async () => {
    const { cluster, ferry } = await setup({ topics: { t: 4 } });
    const p = ferry.producer({ lingerMs: 1, batchSize: 200, maxInFlightRequests: 3, retryBackoffMs: 5, retryBackoffMaxMs: 20 });
    const sends = [];
    for (let i = 0; i < 800; i++) {
      if (i === 200) cluster.moveLeader('t', 1, 2);
      if (i === 400) cluster.moveLeader('t', 2, 3);
      if (i === 600) for (let q = 0; q < 4; q++) cluster.moveLeader('t', q, 2);
      sends.push(p.send({ topic: 't', partition: i % 4, value: `${i % 4}:${i}` }));
      if (i % 40 === 39) await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(sends);
    for (let q = 0; q < 4; q++) {
      const got = cluster.records('t', q).map((r) => Number(r.value!.toString().split(':')[1]));
      expect(got).toEqual(Array.from({ length: 200 }, (_, k) => k * 4 + q));
    }
  });
});
