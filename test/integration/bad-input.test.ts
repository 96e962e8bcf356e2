/**
 * Hostile and mistaken input against a real broker: each gets its typed error, and the broker keeps
 * serving (checked after every case by a good produce + fetch round trip).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecordBatch } from '../../src/protocol/record-builder.js';
import { startBroker, type BrokerHandle } from '../helpers/broker.js';
import { errorCodeOf, rawClients, type RawClients } from '../helpers/grpc.js';

let broker: BrokerHandle;
let rpc: RawClients;

beforeAll(async () => {
  broker = await startBroker({ config: { 'max.message.bytes': '65536', 'auto.create.topics.enable': 'false' } });
  rpc = rawClients(broker.bootstrap);
  await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'good', numPartitions: 2 }] });
});

afterAll(async () => {
  rpc?.close();
  await broker?.cleanup();
});

function produceReq(topic: string, partition: number, recordBatch: Buffer, acks = 1) {
  return { acks, topics: [{ topic, partitions: [{ partition, recordBatch }] }] };
}

async function partitionError(topic: string, partition: number, recordBatch: Buffer): Promise<string | undefined> {
  const res = await rpc.call('produce', 'Produce', produceReq(topic, partition, recordBatch));
  return res.topics[0].partitions[0].error?.code;
}

let goodCount = 0;
async function brokerStillServes(): Promise<void> {
  const value = `still-alive-${goodCount++}`;
  const res = await rpc.call('produce', 'Produce', produceReq('good', 0, encodeRecordBatch([{ value }])));
  const part = res.topics[0].partitions[0];
  expect(part.error).toBeNull();
  const fetched = await rpc.call('fetch', 'Fetch', {
    maxWaitMs: 0,
    topics: [{ topic: 'good', partitions: [{ partition: 0, fetchOffset: part.baseOffset, currentLeaderEpoch: -1 }] }],
    decodeRecords: true,
  });
  expect(fetched.topics[0].partitions[0].records[0].value.toString()).toBe(value);
}

describe('bad input gets a typed error and the broker keeps serving', () => {
  it('unknown topic on produce, fetch and list offsets', async () => {
    expect(await partitionError('no-such-topic', 0, encodeRecordBatch([{ value: 'x' }]))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    const f = await rpc.call('fetch', 'Fetch', { maxWaitMs: 0, topics: [{ topic: 'no-such-topic', partitions: [{ partition: 0, fetchOffset: 0 }] }] });
    expect(f.topics[0].partitions[0].error.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    const l = await rpc.call('fetch', 'ListOffsets', { topics: [{ topic: 'no-such-topic', partitions: [{ partition: 0, timestamp: -1 }] }] });
    expect(l.topics[0].partitions[0].error.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    const m = await rpc.call('metadata', 'Metadata', { topics: ['no-such-topic'], allowAutoTopicCreation: true });
    expect(m.topics[0].error.code).toBe('UNKNOWN_TOPIC_OR_PARTITION'); // auto-create is off on this broker
    await brokerStillServes();
  });

  it('unknown partition of a known topic', async () => {
    expect(await partitionError('good', 7, encodeRecordBatch([{ value: 'x' }]))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(await partitionError('good', -1, encodeRecordBatch([{ value: 'x' }]))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    await brokerStillServes();
  });

  it('invalid topic names are refused on create', async () => {
    const names = ['', '.', '..', 'has space', 'slash/name', 'ünïcödé', 'a'.repeat(250), '__reserved', 'semi;colon'];
    const res = await rpc.call('admin', 'CreateTopics', { topics: names.map((name) => ({ name, numPartitions: 1 })) });
    expect(res.topics.map((t: any) => t.error?.code)).toEqual(names.map(() => 'INVALID_TOPIC'));
    const ok = await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'a'.repeat(249), numPartitions: 1 }, { name: 'dots.and_under-scores', numPartitions: 1 }] });
    expect(ok.topics.map((t: any) => t.error)).toEqual([null, null]);
    await brokerStillServes();
  });

  it('bad partition counts, duplicate topics and unknown configs', async () => {
    const res = await rpc.call('admin', 'CreateTopics', {
      topics: [
        { name: 'too-many', numPartitions: 100_001 },
        { name: 'good', numPartitions: 1 },
        { name: 'bad-config', numPartitions: 1, configs: { 'no.such.config': '1' } },
        { name: 'bad-value', numPartitions: 1, configs: { 'retention.ms': 'soon' } },
        { name: 'rf-too-big', numPartitions: 1, replicationFactor: 3 },
      ],
    });
    expect(res.topics.map((t: any) => t.error?.code)).toEqual(['INVALID_PARTITIONS', 'TOPIC_ALREADY_EXISTS', 'INVALID_CONFIG', 'INVALID_CONFIG', 'INVALID_REPLICATION_FACTOR']);
    await brokerStillServes();
  });

  it('a batch over max.message.bytes is refused before it touches disk', async () => {
    const big = encodeRecordBatch([{ value: Buffer.alloc(70_000, 1) }]);
    expect(await partitionError('good', 1, big)).toBe('MESSAGE_TOO_LARGE');
    const offsets = await rpc.call('fetch', 'ListOffsets', { topics: [{ topic: 'good', partitions: [{ partition: 1, timestamp: -1 }] }] });
    expect(offsets.topics[0].partitions[0].offset).toBe(0);
    await brokerStillServes();
  });

  it('a batch with a wrong CRC is refused', async () => {
    const batch = encodeRecordBatch([{ key: 'k', value: 'some value' }]);
    batch[batch.length - 3]! ^= 0xff;
    expect(await partitionError('good', 1, batch)).toBe('CORRUPT_MESSAGE');
    await brokerStillServes();
  });

  it('random bytes as a batch are refused, every time', async () => {
    for (let i = 0; i < 200; i++) {
      const code = await partitionError('good', 1, randomBytes(1 + Math.floor(Math.random() * 300)));
      expect(['CORRUPT_MESSAGE', 'INVALID_RECORD', 'MESSAGE_TOO_LARGE', 'UNSUPPORTED_COMPRESSION_TYPE']).toContain(code);
    }
    // Nothing of that reached the log.
    const offsets = await rpc.call('fetch', 'ListOffsets', { topics: [{ topic: 'good', partitions: [{ partition: 1, timestamp: -1 }] }] });
    expect(offsets.topics[0].partitions[0].offset).toBe(0);
    await brokerStillServes();
  });

  it('a truncated batch and trailing garbage after a good batch are refused whole', async () => {
    const batch = encodeRecordBatch([{ value: 'a' }, { value: 'b' }]);
    expect(await partitionError('good', 1, batch.subarray(0, batch.length - 5))).toBe('CORRUPT_MESSAGE');
    expect(await partitionError('good', 1, Buffer.concat([batch, Buffer.from([1, 2, 3])]))).toBe('CORRUPT_MESSAGE');
    await brokerStillServes();
  });

  it('invalid acks is a whole-request error', async () => {
    const err = await rpc.call('produce', 'Produce', produceReq('good', 0, encodeRecordBatch([{ value: 'x' }]), 2)).catch((e) => e);
    expect(errorCodeOf(err)).toBe('INVALID_REQUIRED_ACKS');
    await brokerStillServes();
  });

  it('negative and out-of-range fetch offsets', async () => {
    for (const fetchOffset of [-1, -100, 1_000_000]) {
      const f = await rpc.call('fetch', 'Fetch', { maxWaitMs: 0, topics: [{ topic: 'good', partitions: [{ partition: 0, fetchOffset }] }] });
      expect(f.topics[0].partitions[0].error.code).toBe('OFFSET_OUT_OF_RANGE');
      expect(f.topics[0].partitions[0].highWatermark).toBeGreaterThanOrEqual(0);
    }
    const neg = await rpc.call('fetch', 'Fetch', { maxWaitMs: -5, topics: [] }).catch((e) => e);
    expect(errorCodeOf(neg)).toBe('INVALID_REQUEST');
    await brokerStillServes();
  });

  it('a record without a key is refused on a compacted topic', async () => {
    await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'compacted', numPartitions: 1, configs: { 'cleanup.policy': 'compact' } }] });
    expect(await partitionError('compacted', 0, encodeRecordBatch([{ key: 'k', value: 'v' }, { value: 'no key' }]))).toBe('INVALID_RECORD');
    const ok = await rpc.call('produce', 'Produce', produceReq('compacted', 0, encodeRecordBatch([{ key: 'k', value: 'v' }])));
    expect(ok.topics[0].partitions[0]).toMatchObject({ error: null, baseOffset: 0 });
    const bad = await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'bad-ratio', numPartitions: 1, configs: { 'min.cleanable.dirty.ratio': '1.5' } }] });
    expect(bad.topics[0].error.code).toBe('INVALID_CONFIG');
    await brokerStillServes();
  });

  it('producing to the internal namespace is refused', async () => {
    expect(await partitionError('__consumer_offsets', 0, encodeRecordBatch([{ value: 'x' }]))).toBe('INVALID_TOPIC');
    await brokerStillServes();
  });

  it('a request over max.request.bytes is rejected by gRPC, not by a crash', async () => {
    // 100 MiB default limit; 101 MiB payload split into 64 KiB batches would be refused one by one,
    // so send one raw oversized buffer.
    const err = await rpc.call('produce', 'Produce', produceReq('good', 0, Buffer.alloc(101 * 1024 * 1024))).catch((e) => e);
    expect(err.code).toBe(8); // RESOURCE_EXHAUSTED
    await brokerStillServes();
  });
});
