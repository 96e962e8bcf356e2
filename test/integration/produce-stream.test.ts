/**
 * ProduceStream against real broker processes: the raw protocol (correlation ids, acks 0/1/-1,
 * per-request typed errors that leave the stream open, an undecodable message ending it with a typed
 * INVALID_REQUEST, shutdown ending it with SHUTTING_DOWN); the SDK's stream transport (round trips,
 * a request over max.request.bytes failing alone, a SIGSTOPped broker timing requests out, SIGKILL
 * + restart under acks=all load); and in a 3-broker cluster, answers in completion order and a
 * partition leader SIGKILLed mid-stream under acks=all load with nothing acknowledged lost.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Ferry, type Producer } from '../../src/client/index.js';
import { ConnectionPool } from '../../src/client/connection-pool.js';
import type { ClientContext } from '../../src/client/context.js';
import { noopLogger } from '../../src/client/context.js';
import { isConnectionError } from '../../src/client/errors.js';
import { ProduceStreams } from '../../src/client/produce-stream.js';
import { FerryError } from '../../src/protocol/errors.js';
import { encodeRecordBatch } from '../../src/protocol/record-builder.js';
import { checkAcked, firstAckSentAfter, readAll, startLoad } from '../helpers/acked-log.js';
import { startBroker, type BrokerHandle } from '../helpers/broker.js';
import { clusterPerTest, until, waitForPartition } from '../helpers/cluster.js';
import { errorCodeOf, rawClients, type RawClients } from '../helpers/grpc.js';
import { rawProduceStream, type RawProduceStream } from '../helpers/produce-stream.js';

const KiB = 1024;

function produceRequest(topic: string, partition: number, values: string[], acks = 1, timeoutMs = 5_000) {
  return { acks, timeoutMs, topics: [{ topic, partitions: [{ partition, recordBatch: encodeRecordBatch(values.map((value) => ({ value }))) }] }] };
}

function stats(producer: Producer): { streamsOpened: number; streamRequests: number; unaryRequests: number } {
  return (producer as unknown as { sender: { transport: ProduceStreams } }).sender.transport.stats;
}

/** The transport on its own, over a pool of its own (what the sender uses). */
function transportTo(): { streams: ProduceStreams; pool: ConnectionPool } {
  const pool = new ConnectionPool({ clientId: 'produce-stream-test', maxMessageBytes: 256 * 1024 * KiB });
  const ctx = { pool, logger: noopLogger } as unknown as ClientContext;
  return { streams: new ProduceStreams(ctx), pool };
}

async function createTopic(broker: BrokerHandle, name: string): Promise<void> {
  const rpc = rawClients(broker.bootstrap);
  try {
    await rpc.call('admin', 'CreateTopics', { topics: [{ name, numPartitions: 1 }] });
  } finally {
    rpc.close();
  }
}

async function valuesAt(rpc: RawClients, topic: string, partition: number, offset: number, count: number): Promise<string[]> {
  const res = await rpc.call('fetch', 'Fetch', { maxWaitMs: 0, decodeRecords: true, topics: [{ topic, partitions: [{ partition, fetchOffset: offset, currentLeaderEpoch: -1 }] }] });
  const records = res.topics[0].partitions[0].records as Array<{ offset: number; value: Buffer }>;
  return records.filter((r) => Number(r.offset) >= offset).slice(0, count).map((r) => r.value.toString());
}

describe('ProduceStream on one broker', () => {
  let broker: BrokerHandle;
  let rpc: RawClients;
  const streams: RawProduceStream[] = [];
  const open = (): RawProduceStream => {
    const s = rawProduceStream(broker.bootstrap);
    streams.push(s);
    return s;
  };

  beforeAll(async () => {
    broker = await startBroker({ config: { 'max.message.bytes': String(64 * KiB), 'max.request.bytes': String(512 * KiB), 'auto.create.topics.enable': 'false' } });
    rpc = rawClients(broker.bootstrap);
    await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'ps', numPartitions: 3 }] });
  });
  afterEach(() => {
    for (const s of streams.splice(0)) {
      s.cancel();
      s.close();
    }
  });
  afterAll(async () => {
    rpc?.close();
    await broker?.cleanup();
  });

  it('answers acks 0, 1 and -1 on one stream, each with its correlation id (acks=0 at once, empty)', async () => {
    const s = open();
    s.write(101, produceRequest('ps', 0, ['zero'], 0));
    s.write(102, produceRequest('ps', 0, ['one-a', 'one-b'], 1));
    s.write(103, produceRequest('ps', 0, ['all'], -1));
    const [a0, a1, aAll] = await Promise.all([s.answer(101), s.answer(102), s.answer(103)]);
    expect(a0.error).toBeNull();
    expect(a0.response.topics).toEqual([]);
    for (const a of [a1, aAll]) {
      expect(a.error).toBeNull();
      expect(a.response.topics[0].partitions[0].error).toBeNull();
    }
    const one = a1.response.topics[0].partitions[0];
    const all = aAll.response.topics[0].partitions[0];
    expect(Number(one.lastOffset) - Number(one.baseOffset)).toBe(1);
    expect(await valuesAt(rpc, 'ps', 0, Number(one.baseOffset), 2)).toEqual(['one-a', 'one-b']);
    expect(await valuesAt(rpc, 'ps', 0, Number(all.baseOffset), 1)).toEqual(['all']);
    // Requests on one stream reach a partition in the order they were written.
    expect(Number(all.baseOffset)).toBeGreaterThan(Number(one.lastOffset));
    await until('the acks=0 record is stored', async () => (await valuesAt(rpc, 'ps', 0, 0, 10)).includes('zero'));
    s.end();
    expect(await s.ended).toBeNull(); // half-close: OK once everything read is answered
  });

  it('per-request typed errors (unknown topic, batch over max.message.bytes, bad acks, no request) leave the stream open', async () => {
    const s = open();
    s.write(1, produceRequest('no-such-topic', 0, ['x']));
    s.write(2, { acks: 1, timeoutMs: 1000, topics: [{ topic: 'ps', partitions: [{ partition: 1, recordBatch: encodeRecordBatch([{ value: Buffer.alloc(100 * KiB) }]) }] }] });
    s.write(3, produceRequest('ps', 1, ['x'], 5));
    s.write(4, undefined);
    const [unknown, oversized, badAcks, empty] = await Promise.all([1, 2, 3, 4].map((id) => s.answer(id)));
    expect(unknown.response.topics[0].partitions[0].error.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(oversized.response.topics[0].partitions[0].error.code).toBe('MESSAGE_TOO_LARGE');
    // What a unary Produce returns as a gRPC status comes back as the request's error.
    expect(badAcks.response).toBeNull();
    expect(badAcks.error.code).toBe('INVALID_REQUIRED_ACKS');
    expect(badAcks.error.retriable).toBe(false);
    expect(empty.error.code).toBe('INVALID_REQUEST');
    s.write(5, produceRequest('ps', 1, ['after the errors']));
    const ok = await s.answer(5);
    expect(ok.response.topics[0].partitions[0].error).toBeNull();
    expect(await valuesAt(rpc, 'ps', 1, Number(ok.response.topics[0].partitions[0].baseOffset), 1)).toEqual(['after the errors']);
  });

  it('an undecodable message ends the stream with a typed INVALID_REQUEST (INVALID_ARGUMENT), after answering what came before', async () => {
    const s = open();
    s.write(7, produceRequest('ps', 2, ['before the garbage']));
    // Field 2 (request) claiming 100 bytes that are not there.
    s.writeRaw(Buffer.from([0x12, 0x64, 0x01, 0x02]));
    const err = await s.ended;
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(errorCodeOf(err)).toBe('INVALID_REQUEST');
    expect(err?.details).toMatch(/malformed request/);
    expect(s.answers.map((a) => Number(a.correlationId))).toEqual([7]);
    expect(s.answers[0].response.topics[0].partitions[0].error).toBeNull();
    // The broker still serves, streams included.
    const again = open();
    again.write(1, produceRequest('ps', 2, ['still serving']));
    expect((await again.answer(1)).response.topics[0].partitions[0].error).toBeNull();
  });

  describe('through the SDK', () => {
    let ferry: Ferry;
    beforeAll(() => {
      ferry = new Ferry({ bootstrap: broker.bootstrap });
    });
    afterAll(async () => {
      await ferry?.close();
    });

    it('acks 0, 1 and all: every record stored, every answer matched, no unary call', async () => {
      for (const acks of [0, 1, 'all'] as const) {
        const producer = ferry.producer({ acks, lingerMs: 0, maxInFlightRequests: 5 });
        await producer.send({ topic: 'ps', value: 'metadata warm-up' });
        const sent: Array<Promise<{ partition: number; offset: number }>> = [];
        // One partition per record, in turn, paced: many small requests, several in flight on the
        // stream at once (one per partition).
        for (let i = 0; i < 450; i++) {
          sent.push(producer.send({ topic: 'ps', partition: i % 3, value: `sdk-${acks}-${i}` }));
          if (i % 3 === 2) await new Promise((r) => setTimeout(r, 1));
        }
        const metas = await Promise.all(sent);
        const s = stats(producer);
        expect(s.streamRequests).toBeGreaterThan(30);
        expect(s.unaryRequests).toBe(0);
        expect(s.streamsOpened).toBe(1);
        await producer.close();
        if (acks === 0) {
          expect(metas.every((m) => m.offset === -1)).toBe(true);
          continue;
        }
        // Offsets per partition grow in send order, and each holds its record.
        for (let p = 0; p < 3; p++) {
          const mine = metas.map((m, i) => ({ ...m, i })).filter((m) => m.partition === p);
          for (let k = 1; k < mine.length; k++) expect(mine[k]!.offset).toBeGreaterThan(mine[k - 1]!.offset);
          const first = mine[0]!;
          expect(await valuesAt(rpc, 'ps', p, first.offset, 1)).toEqual([`sdk-${acks}-${first.i}`]);
        }
      }
    });

    it('a request over max.request.bytes fails alone with RECORD_LIST_TOO_LARGE; the others on its stream are answered', async () => {
      const { streams: transport, pool } = transportTo();
      try {
        const small = (i: number) => produceRequest('ps', i % 3, [`small-${i}`]);
        const big = { acks: 1, timeoutMs: 5000, topics: [{ topic: 'ps', partitions: [{ partition: 0, recordBatch: Buffer.alloc(600 * KiB) }] }] };
        const outcomes = await Promise.allSettled([
          transport.send(broker.bootstrap, small(0), 5000),
          transport.send(broker.bootstrap, small(1), 5000),
          transport.send(broker.bootstrap, big, 5000),
          transport.send(broker.bootstrap, small(2), 5000),
        ]);
        expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
        const err = (outcomes[2] as PromiseRejectedResult).reason as FerryError;
        expect(err.code).toBe('RECORD_LIST_TOO_LARGE');
        for (const o of [outcomes[0], outcomes[1], outcomes[3]]) {
          expect((o as PromiseFulfilledResult<any>).value.topics[0].partitions[0].error).toBeNull();
        }
        // The next request opens a new stream.
        const after = await transport.send(broker.bootstrap, small(4), 5000);
        expect(after.topics[0].partitions[0].error).toBeNull();
        expect(transport.stats.streamsOpened).toBe(2);
      } finally {
        transport.close();
        pool.close();
      }
    });
  });
});

describe('ProduceStream faults on one broker', () => {
  let broker: BrokerHandle | undefined;
  let ferry: Ferry | undefined;
  afterEach(async () => {
    broker?.resume();
    await ferry?.close();
    await broker?.cleanup();
    broker = ferry = undefined;
  });

  it('a SIGSTOPped broker: each request times out as a unary call does (REQUEST_TIMED_OUT, connection error); after SIGCONT the stream serves again', async () => {
    broker = await startBroker({ config: { 'num.partitions': '1' } });
    await createTopic(broker, 'stopped');
    const { streams: transport, pool } = transportTo();
    try {
      const ok = await transport.send(broker.bootstrap, produceRequest('stopped', 0, ['before']), 5000);
      expect(ok.topics[0].partitions[0].error).toBeNull();
      broker.pause();
      const started = Date.now();
      const outcomes = await Promise.allSettled([
        transport.send(broker.bootstrap, produceRequest('stopped', 0, ['during-1']), 600),
        transport.send(broker.bootstrap, produceRequest('stopped', 0, ['during-2']), 1200),
      ]);
      const elapsed = Date.now() - started;
      const errors = outcomes.map((o) => (o as PromiseRejectedResult).reason as FerryError);
      expect(errors.map((e) => e.code)).toEqual(['REQUEST_TIMED_OUT', 'REQUEST_TIMED_OUT']);
      expect(errors.every((e) => isConnectionError(e))).toBe(true); // the sender then refreshes metadata, as for a unary deadline
      expect(elapsed).toBeGreaterThanOrEqual(1150);
      expect(elapsed).toBeLessThan(5000);
      broker.resume();
      // Late answers to the timed-out requests are ignored; the same stream carries the next one.
      const after = await transport.send(broker.bootstrap, produceRequest('stopped', 0, ['after']), 5000);
      expect(after.topics[0].partitions[0].error).toBeNull();
      expect(transport.stats.streamsOpened).toBe(1);
    } finally {
      transport.close();
      pool.close();
    }

    // The SDK producer: the send fails once deliveryTimeoutMs passes, naming the deadline.
    ferry = new Ferry({ bootstrap: broker.bootstrap });
    const producer = ferry.producer({ acks: 1, lingerMs: 0, requestTimeoutMs: 500, deliveryTimeoutMs: 1500, retryBackoffMs: 50 });
    await producer.send({ topic: 'stopped', value: 'sdk-before' });
    broker.pause();
    const err = await producer.send({ topic: 'stopped', value: 'sdk-during' }).then(() => null, (e: FerryError) => e);
    expect(err?.code).toBe('REQUEST_TIMED_OUT');
    expect(err?.message).toMatch(/deliveryTimeoutMs.*DEADLINE_EXCEEDED/);
    broker.resume();
    expect((await producer.send({ topic: 'stopped', value: 'sdk-after' })).offset).toBeGreaterThan(0);
    await producer.close();
  }, 30_000);

  it('SIGKILL and restart under acks=all load (flush.mode=always): the stream fails, requests are retried on the restarted broker, nothing acknowledged is lost', async () => {
    broker = await startBroker({ config: { 'flush.mode': 'always', 'num.partitions': '3' } });
    ferry = new Ferry({ bootstrap: broker.bootstrap, requestTimeoutMs: 5_000 });
    await ferry.admin().createTopics([{ name: 'killed', partitions: 3 }]);
    const producer = ferry.producer({ acks: 'all', lingerMs: 1, retryBackoffMs: 50, retryBackoffMaxMs: 200, requestTimeoutMs: 2_000, deliveryTimeoutMs: 60_000 });
    const load = startLoad(producer, 'killed', 3);
    await until('some acks before the kill', () => load.acked.length >= 500, 20_000);
    await broker.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((r) => setTimeout(r, 300));
    await broker.restart();
    for (let p = 0; p < 3; p++) await until(`partition ${p} acks a record sent after the kill`, () => firstAckSentAfter(load, p, killedAt), 30_000);
    await load.stop();
    const s = stats(producer);
    await producer.close();
    expect(load.failed).toEqual([]);
    expect(load.acked.length).toBe(load.sent);
    expect(s.streamsOpened).toBeGreaterThanOrEqual(2); // the first stream died with the broker
    expect(s.unaryRequests).toBe(0);
    checkAcked(load.acked, await readAll(ferry, 'killed', 3));
  }, 90_000);

  it('a broker shutting down ends an open stream with SHUTTING_DOWN after answering, and does not wait for it', async () => {
    broker = await startBroker({ config: { 'num.partitions': '1', 'shutdown.timeout.ms': '20000' } });
    await createTopic(broker, 'shutdown');
    const s = rawProduceStream(broker.bootstrap);
    try {
      s.write(1, produceRequest('shutdown', 0, ['x']));
      expect((await s.answer(1)).response.topics[0].partitions[0].error).toBeNull();
      const started = Date.now();
      const exit = broker.stop();
      const err = await s.ended;
      expect(err?.code).toBe(grpc.status.UNAVAILABLE);
      expect(errorCodeOf(err)).toBe('SHUTTING_DOWN');
      expect(await exit).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000); // not the 20 s shutdown.timeout.ms
      expect(broker.logs.some((l) => l.msg === 'in-flight requests did not finish in time; closing connections')).toBe(false);
    } finally {
      s.close();
    }
  }, 30_000);
});

describe('ProduceStream in a cluster', () => {
  const setUp = clusterPerTest();

  it('answers come back in completion order, matched by correlation id (an acks=all request held up by a stopped follower)', async () => {
    const { cluster, ferry } = await setUp({ 'replica.lag.time.max.ms': '30000' });
    await ferry.admin().createTopics([{ name: 'ooo', partitions: 1, replicationFactor: 3 }]);
    const p = await waitForPartition(cluster, 1, 'ooo', 0, 'full ISR', (v) => v.leaderId > 0 && v.isr.length === 3);
    const follower = p.replicas.find((id) => id !== p.leaderId)!;
    const s = rawProduceStream(cluster.broker(p.leaderId).bootstrap);
    try {
      // The leader may not have applied its leadership yet: warm up until it answers.
      let id = 1000;
      await until('the leader takes a write over the stream', async () => {
        s.write(++id, produceRequest('ooo', 0, ['warm-up'], -1));
        return (await s.answer(id)).response.topics[0].partitions[0].error === null;
      }, 20_000, 100);
      cluster.broker(follower).pause();
      s.write(2, produceRequest('ooo', 0, ['waits for the ISR'], -1, 1_500)); // cannot commit: a follower is stopped
      s.write(3, produceRequest('ooo', 0, ['acks=1'], 1));
      const slow = await s.answer(2);
      cluster.broker(follower).resume();
      expect(s.answers.map((a) => Number(a.correlationId)).filter((n) => n < 1000)).toEqual([3, 2]);
      expect((await s.answer(3)).response.topics[0].partitions[0].error).toBeNull();
      // Answered once the stopped follower is fenced out of the ISR (broker session timeout) or at
      // its timeout_ms (REQUEST_TIMED_OUT), whichever comes first: either way after request 3.
      expect(slow.error).toBeNull();
      expect(['REQUEST_TIMED_OUT', undefined]).toContain(slow.response.topics[0].partitions[0].error?.code);
    } finally {
      cluster.broker(follower).resume();
      s.cancel();
      s.close();
    }
  }, 90_000);

  it('SIGKILL of a partition leader mid-stream under acks=all load: retried on the new leader, nothing acknowledged lost', async () => {
    const { cluster, ferry } = await setUp();
    const topic = 'stream-kill-leader';
    await ferry.admin().createTopics([{ name: topic, partitions: 3, replicationFactor: 3 }]);
    const leader = (await ferry.admin().metadata([topic])).topics[0]!.partitions[0]!.leaderId;
    const producer = ferry.producer({ acks: 'all', lingerMs: 1, retryBackoffMs: 50, retryBackoffMaxMs: 200, requestTimeoutMs: 2_000, deliveryTimeoutMs: 60_000 });
    const load = startLoad(producer, topic, 3);
    await until('some acks before the kill', () => load.acked.filter((a) => a.partition === 0).length >= 300, 20_000);
    await cluster.broker(leader).kill('SIGKILL');
    const killedAt = Date.now();
    await until('partition 0 acks a record sent after the kill', () => firstAckSentAfter(load, 0, killedAt), 30_000);
    const ackedThen = load.acked.length;
    await until('more acks after the failover', () => load.acked.length >= ackedThen + 300, 20_000);
    await load.stop();
    const s = stats(producer);
    await producer.close();
    expect(load.failed).toEqual([]);
    expect(load.acked.length).toBe(load.sent);
    expect(s.unaryRequests).toBe(0);
    expect(s.streamRequests).toBeGreaterThan(0);
    checkAcked(load.acked, await readAll(ferry, topic, 3));
    console.log(`[produce stream, kill -9 leader] ${load.acked.length} acked, ${s.streamsOpened} streams opened, ${s.streamRequests} stream requests`);
  }, 120_000);
});
