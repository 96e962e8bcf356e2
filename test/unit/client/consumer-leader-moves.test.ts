/**
 * The consumer across leader moves, against a fake cluster of real gRPC servers (fake-cluster.ts):
 * it must keep reading from its position on whoever leads, with nothing skipped or repeated.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, type Consumer, type ConsumerRecord } from '../../../src/client/index.js';
import { fakeClusterPerTest, type FakeClusterOptions } from './fake-cluster.js';

const startCluster = fakeClusterPerTest();

const COUNT = 400;

/** A 3-broker cluster whose t-0 holds COUNT records in many small batches (the fake returns 4 a fetch). */
async function setup(opts: Partial<FakeClusterOptions> = {}) {
  const { cluster, ferry } = await startCluster(opts);
  const producer = ferry.producer({ batchSize: 128, lingerMs: 0 });
  await producer.sendBatch('t', Array.from({ length: COUNT }, (_, i) => ({ partition: 0, value: `m${i}` })));
  await producer.close();
  const consumer = ferry.consumer({ autoOffsetReset: 'earliest', fetchMaxWaitMs: 20, retryBackoffMs: 5, retryBackoffMaxMs: 50 });
  consumer.assign([{ topic: 't', partition: 0 }]);
  return { cluster, ferry, consumer };
}

/** Reads COUNT records, calling `at(i)` after the i-th, and checks they are exactly 0..COUNT-1. */
async function readAll(consumer: Consumer, at: (i: number) => void | Promise<void> = () => {}): Promise<void> {
  const got: ConsumerRecord[] = [];
  const it = consumer[Symbol.asyncIterator]();
  while (got.length < COUNT) {
    const r = await it.next();
    if (r.done) break;
    got.push(r.value);
    await at(got.length);
  }
  expect(got.map((r) => r.offset)).toEqual(Array.from({ length: COUNT }, (_, i) => i));
  expect(got.map((r) => r.value!.toString())).toEqual(Array.from({ length: COUNT }, (_, i) => `m${i}`));
}

describe('Consumer: leader moves', () => {
  it('sends the leader epoch from metadata as current_leader_epoch', async () => {
    const { cluster, consumer } = await setup();
    cluster.moveLeader('t', 0, 1); // same leader, epoch 1: metadata and fetches must say 1
    await readAll(consumer);
    const epochs = cluster.fetchRequests.map((f) => f.req.topics[0]!.partitions[0]!.currentLeaderEpoch);
    expect(epochs.at(-1)).toBe(1);
    expect(epochs.every((e) => e >= 0)).toBe(true);
  });

  it('follows the leader hint of NOT_LEADER_OR_FOLLOWER and continues from its position', async () => {
    const { cluster, consumer } = await setup();
    await readAll(consumer, (i) => {
      if (i === 100) cluster.moveLeader('t', 0, 2);
      if (i === 250) cluster.moveLeader('t', 0, 3);
    });
    expect(new Set(cluster.fetchRequests.map((f) => f.broker))).toEqual(new Set([1, 2, 3]));
  });

  it('refreshes metadata when there is no hint', async () => {
    const { cluster, consumer } = await setup({ leaderHints: false });
    await readAll(consumer, (i) => {
      if (i === 150) cluster.moveLeader('t', 0, 2);
    });
    expect(cluster.fetchRequests.at(-1)!.broker).toBe(2);
  });

  it('a fenced fetch (FENCED_LEADER_EPOCH: new epoch, same leader) refreshes and continues', async () => {
    const { cluster, consumer } = await setup({ leaderHints: false });
    await readAll(consumer, (i) => {
      if (i === 200) cluster.moveLeader('t', 0, 1);
    });
    const errorsSeen = cluster.fetchRequests.filter((f) => f.req.topics[0]!.partitions[0]!.currentLeaderEpoch === 0).length;
    expect(errorsSeen).toBeGreaterThan(0);
    expect(cluster.fetchRequests.at(-1)!.req.topics[0]!.partitions[0]!.currentLeaderEpoch).toBe(1);
  });

  it.each([ErrorCode.UNKNOWN_LEADER_EPOCH, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.REQUEST_TIMED_OUT])(
    'retries %s answers (fetches 3 to 6) without reporting them',
    async (code) => {
      const { consumer } = await setup({ onFetch: (c) => (c.attempt >= 3 && c.attempt <= 6 ? { code } : undefined) });
      await readAll(consumer);
    },
  );

  it('continues on the new leader after the old one dies (connection refused, then metadata moves)', async () => {
    const { cluster, consumer } = await setup({ leaderHints: false });
    await readAll(consumer, async (i) => {
      if (i === 120) {
        await cluster.kill(1);
        setTimeout(() => cluster.moveLeader('t', 0, 2), 100); // the controller takes a moment
      }
    });
    expect(cluster.fetchRequests.at(-1)!.broker).toBe(2);
  });

  it('waits while the partition is offline (leader -1), then reads on', async () => {
    const { cluster, consumer } = await setup();
    await readAll(consumer, (i) => {
      if (i === 80) {
        cluster.moveLeader('t', 0, -1);
        setTimeout(() => cluster.moveLeader('t', 0, 3), 200);
      }
    });
    expect(cluster.fetchRequests.at(-1)!.broker).toBe(3);
  });
});
