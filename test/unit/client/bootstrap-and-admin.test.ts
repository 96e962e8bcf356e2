/**
 * Bootstrapping from a list with dead entries, and admin requests that meet a moving controller,
 * against a fake cluster of real gRPC servers (fake-cluster.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../bench/free-port.js';
import { ErrorCode, Ferry } from '../../../src/client/index.js';
import { startFakeCluster, statusError, type FakeCluster, type FakeClusterOptions } from './fake-cluster.js';

let cluster: FakeCluster | undefined;
let ferry: Ferry | undefined;
let silent: { server: Server; sockets: Set<Socket> } | undefined;

afterEach(async () => {
  await ferry?.close();
  await cluster?.close();
  if (silent) {
    for (const s of silent.sockets) s.destroy();
    await new Promise((r) => silent!.server.close(r));
  }
  ferry = cluster = silent = undefined;
});

/** A TCP server that accepts connections and never says a word (a hung process, a black hole). */
async function silentAddress(): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  silent = { server, sockets };
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function setup(bootstrap: (c: FakeCluster) => string, opts: Partial<FakeClusterOptions> = {}, extra = {}) {
  cluster = await startFakeCluster({ brokers: 3, topics: { t: 1 }, ...opts });
  ferry = new Ferry({ bootstrap: bootstrap(cluster), retry: { retries: 4, initialRetryTimeMs: 10, maxRetryTimeMs: 50 }, ...extra });
  return { cluster, ferry };
}

describe('bootstrap list', () => {
  it('skips a dead first entry (connection refused) at once', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const { cluster, ferry } = await setup((c) => `${dead},${c.address(2)}`);
    const started = Date.now();
    const meta = await ferry.admin().metadata(['t']);
    expect(meta.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
    expect(await ferry.producer().send({ topic: 't', value: 'x' })).toMatchObject({ offset: 0 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(cluster.metadataRequests[0]).toBe(2);
  });

  it('gives a silent first entry connectTimeoutMs, not requestTimeoutMs', async () => {
    const hung = await silentAddress();
    const { ferry } = await setup((c) => `${hung},${c.address(1)}`, {}, { connectTimeoutMs: 300, requestTimeoutMs: 20_000 });
    const started = Date.now();
    await ferry.admin().createTopics([{ name: 'fresh', partitions: 2 }]);
    await ferry.admin().metadata(['fresh']);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('after bootstrap, metadata goes to the brokers the cluster named, even when every bootstrap entry is gone', async () => {
    const { cluster, ferry } = await setup((c) => c.address(1));
    await ferry.admin().metadata(['t']);
    await cluster.kill(1);
    cluster.moveLeader('t', 0, 3);
    expect(await ferry.producer().send({ topic: 't', partition: 0, value: 'x' })).toMatchObject({ offset: 0 });
    expect(cluster.produceRequests.map((r) => r.broker)).toEqual([3]);
  });

  it('fails with BROKER_NOT_AVAILABLE when no address answers', async () => {
    const ports = [await freePort(), await freePort()];
    ferry = new Ferry({ bootstrap: ports.map((p) => `127.0.0.1:${p}`), retry: { retries: 2, initialRetryTimeMs: 10, maxRetryTimeMs: 20 } });
    await expect(ferry.admin().metadata()).rejects.toMatchObject({ code: ErrorCode.BROKER_NOT_AVAILABLE });
    await expect(ferry.admin().createTopics([{ name: 'x' }])).rejects.toMatchObject({ code: ErrorCode.BROKER_NOT_AVAILABLE });
  });
});

describe('Admin retries', () => {
  it('retries a per-topic NOT_CONTROLLER, resending only the topics that failed', async () => {
    const { ferry } = await setup((c) => c.bootstrap, {
      onCreateTopic: (_b, name, attempt) => (name === 'slow' && attempt <= 2 ? { code: ErrorCode.NOT_CONTROLLER } : undefined),
    });
    await ferry.admin().createTopics([{ name: 'fast', partitions: 1 }, { name: 'slow', partitions: 3 }]);
    const meta = await ferry.admin().metadata(['fast', 'slow']);
    expect(meta.topics.map((t) => [t.name, t.partitions.length])).toEqual([
      ['fast', 1],
      ['slow', 3],
    ]);
  });

  it('sends the next attempt to the controller named by a whole-request NOT_CONTROLLER hint', async () => {
    const calls: number[] = [];
    const { ferry } = await setup((c) => c.address(1), {
      onRequest: (broker, method) => {
        if (method !== 'CreateTopics') return undefined;
        calls.push(broker);
        return broker === 3 ? undefined : statusError(grpc.status.FAILED_PRECONDITION, ErrorCode.NOT_CONTROLLER, { leaderId: 3, leaderAddress: cluster!.address(3), leaderEpoch: 7 });
      },
    });
    await ferry.admin().createTopics([{ name: 'n', partitions: 1 }]);
    expect(calls).toEqual([1, 3]);
  });

  it('says an earlier attempt may have created the topic when a retry finds it existing', async () => {
    const { ferry } = await setup((c) => c.bootstrap, {
      onCreateTopic: (_b, _name, attempt) => (attempt === 1 ? { code: ErrorCode.REQUEST_TIMED_OUT } : undefined),
    });
    const err = await ferry.admin().createTopics([{ name: 't' }]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.TOPIC_ALREADY_EXISTS });
    expect((err as Error).message).toMatch(/earlier attempt failed with REQUEST_TIMED_OUT/);
  });

  it('does not retry a non-retriable per-topic error', async () => {
    let attempts = 0;
    const { ferry } = await setup((c) => c.bootstrap, {
      onCreateTopic: () => {
        attempts++;
        return { code: ErrorCode.INVALID_REPLICATION_FACTOR, message: 'replication factor 5 > 3 brokers' };
      },
    });
    await expect(ferry.admin().createTopics([{ name: 'x', replicationFactor: 5 }])).rejects.toMatchObject({ code: ErrorCode.INVALID_REPLICATION_FACTOR });
    expect(attempts).toBe(1);
  });

  it("describeTopics reports each partition's offsets as its leader sees them", async () => {
    const { cluster, ferry } = await setup((c) => c.address(1), { topics: { t: 3 } });
    cluster.moveLeader('t', 1, 2);
    cluster.moveLeader('t', 2, 3);
    const producer = ferry.producer();
    for (let p = 0; p < 3; p++) await producer.sendBatch('t', Array.from({ length: 5 + p }, () => ({ partition: p, value: 'v' })));
    const [d] = await ferry.admin().describeTopics(['t']);
    expect(d!.partitions.map((p) => [p.partition, p.leaderId, p.leaderEpoch, p.highWatermark, p.logEndOffset])).toEqual([
      [0, 1, 0, 5, 5],
      [1, 2, 1, 6, 6],
      [2, 3, 1, 7, 7],
    ]);
  });
});
