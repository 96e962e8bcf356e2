/**
 * ProduceStream fuzzer against one real broker process (the unary RPCs are in grpc-fuzzer.test.ts):
 * 1,500 malformed or extreme produce requests written on one stream (random bytes as batches,
 * truncated batches, absurd lengths and counts, odd acks / timeouts / partitions / topic names,
 * hundreds of partitions, the records path). Every request must get exactly one answer with its
 * correlation id, carrying either a response or a typed error, and the stream must stay open until
 * the client ends it (OK). Then undecodable bytes on a second stream: answered what came before, then
 * a typed INVALID_REQUEST status. The broker must not exit, and a good request works at the end.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../helpers/broker.js';
import { errorCodeOf, rawClients } from '../helpers/grpc.js';
import { rawProduceStream } from '../helpers/produce-stream.js';
import { fuzzSeed, prng } from './seed.js';
import { fuzzValues } from './values.js';

const REQUESTS = 1_500;

let broker: BrokerHandle;

beforeAll(async () => {
  broker = await startBroker({ config: { 'auto.create.topics.enable': 'false', 'max.message.bytes': '1048576', 'num.partitions': '3' } });
  const rpc = rawClients(broker.bootstrap);
  await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'good', numPartitions: 2 }, { name: 'pool-0', numPartitions: 3 }] });
  rpc.close();
});

afterAll(async () => {
  await broker?.cleanup();
});

describe('ProduceStream fuzzer', () => {
  it(`answers ${REQUESTS} malformed or extreme requests on one stream, each once, each typed`, async () => {
    const seed = fuzzSeed('produce stream fuzzer');
    const rnd = prng(seed);
    const { int, pick, chance, bytes, goodBatch, batchBytes } = fuzzValues(rnd);
    const weird = ['', '.', '..', '\u0000', 'a/b', '😀🚢', '\uD800', 'x'.repeat(249), 'y'.repeat(250), 'z'.repeat(20_000), '__consumer_offsets'];
    const topic = () => (chance(0.7) ? pick(['good', 'pool-0', 'missing']) : pick(weird));
    const request = () => ({
      acks: pick([1, 1, -1, 0, 2, -2, 2 ** 31 - 1, -(2 ** 31)]),
      timeoutMs: pick([0, 100, -1, 2 ** 31 - 1]),
      topics: Array.from({ length: chance(0.05) ? 30 : int(3) }, () => ({
        topic: topic(),
        partitions: Array.from({ length: chance(0.05) ? 300 : 1 + int(3) }, () => ({
          partition: chance(0.7) ? int(3) : pick([-1, 2 ** 31 - 1, -(2 ** 31), 100_001]),
          recordBatch: chance(0.85) ? batchBytes() : undefined,
          records: chance(0.15) ? [{ key: bytes(int(20)), value: bytes(int(300)), headers: [], timestamp: Date.now(), offset: 0 }] : [],
        })),
      })),
    });

    const stream = rawProduceStream(broker.bootstrap);
    try {
      for (let id = 1; id <= REQUESTS; id++) {
        // Absent request (no `request` field) now and then: a request-level typed error.
        stream.write(id, chance(0.02) ? undefined : request());
        if (id % 100 === 0) await new Promise((r) => setImmediate(r));
      }
      await Promise.all(Array.from({ length: REQUESTS }, (_, i) => stream.answer(i + 1)));
      stream.end();
      expect(await stream.ended).toBeNull(); // the client ended it: OK
      const ids = stream.answers.map((a) => Number(a.correlationId)).sort((a, b) => a - b);
      expect(ids).toEqual(Array.from({ length: REQUESTS }, (_, i) => i + 1)); // each once
      let typedErrors = 0;
      for (const a of stream.answers) {
        if (a.error) {
          typedErrors++;
          expect(typeof a.error.code).toBe('string');
          expect(a.error.code).not.toBe('');
          continue;
        }
        expect(a.response).toBeTruthy();
        for (const t of a.response.topics) for (const p of t.partitions) if (p.error) expect(p.error.code).not.toBe('');
      }
      console.log(`[fuzz] produce stream: ${REQUESTS} requests (seed ${seed}), ${typedErrors} request-level typed errors`);
    } finally {
      stream.close();
    }
    expect(broker.proc.exitCode).toBeNull();

    // Undecodable bytes: what came before is answered, then the stream ends with a typed status.
    const bad = rawProduceStream(broker.bootstrap);
    try {
      bad.write(1, { acks: 1, topics: [{ topic: 'good', partitions: [{ partition: 0, recordBatch: goodBatch() }] }] });
      await bad.answer(1);
      bad.writeRaw(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
      const err = await bad.ended;
      expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(errorCodeOf(err)).toBe('INVALID_REQUEST');
    } finally {
      bad.close();
    }

    // A good request still works.
    const good = rawProduceStream(broker.bootstrap);
    try {
      good.write(1, { acks: -1, timeoutMs: 5000, topics: [{ topic: 'good', partitions: [{ partition: 1, recordBatch: goodBatch() }] }] });
      const answer = await good.answer(1);
      expect(answer.error).toBeNull();
      expect(answer.response.topics[0].partitions[0].error).toBeNull();
      good.end();
      await good.ended;
    } finally {
      good.close();
    }
    expect(broker.proc.exitCode).toBeNull();
    expect(broker.proc.signalCode).toBeNull();
  }, 120_000);
});
