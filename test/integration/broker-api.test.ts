/**
 * The gRPC contract against a real broker, spoken raw: simple-path produce, decoded fetch, long-poll
 * timing, the Consume stream, ListOffsets by time, admin calls, auto-creation, health and reflection,
 * and the data-directory lock.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iterateBatches } from '../../src/protocol/record-batch.js';
import { encodeRecordBatch } from '../../src/protocol/record-builder.js';
import { decodeBatch } from '../../src/protocol/record-decoder.js';
import { startBroker, type BrokerHandle } from '../helpers/broker.js';
import { errorCodeOf, rawClients, type RawClients } from '../helpers/grpc.js';

let broker: BrokerHandle;
let rpc: RawClients;

beforeAll(async () => {
  broker = await startBroker({ config: { 'num.partitions': '3', 'flush.mode': 'os' } });
  rpc = rawClients(broker.bootstrap);
});

afterAll(async () => {
  rpc?.close();
  await broker?.cleanup();
});

const produce = (topic: string, partition: number, batch: Buffer) =>
  rpc.call('produce', 'Produce', { acks: 1, topics: [{ topic, partitions: [{ partition, recordBatch: batch }] }] });

describe('broker API', () => {
  it('auto-creates a topic through metadata with num.partitions', async () => {
    const m = await rpc.call('metadata', 'Metadata', { topics: ['auto-topic'], allowAutoTopicCreation: true });
    expect(m.topics[0].error).toBeNull();
    expect(m.topics[0].partitions).toHaveLength(3);
    expect(m.brokers[0].port).toBe(broker.port);
    expect(m.clusterId).not.toBe('');
  });

  it('simple path: produce plain records, fetch decoded records', async () => {
    await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'simple', numPartitions: 1 }] });
    const res = await rpc.call('produce', 'Produce', {
      acks: -1,
      topics: [{ topic: 'simple', partitions: [{ partition: 0, records: [
        { key: Buffer.from('k1'), value: Buffer.from('v1'), headers: [{ key: 'h', value: Buffer.from('x') }] },
        { value: Buffer.from('no key') },
      ] }] }],
    });
    expect(res.topics[0].partitions[0]).toMatchObject({ baseOffset: 0, lastOffset: 1 });
    const f = await rpc.call('fetch', 'Fetch', { maxWaitMs: 0, decodeRecords: true, topics: [{ topic: 'simple', partitions: [{ partition: 0, fetchOffset: 0 }] }] });
    const records = f.topics[0].partitions[0].records;
    expect(records.map((r: any) => [r.offset, r.key?.toString() ?? null, r.value.toString()])).toEqual([
      [0, 'k1', 'v1'],
      [1, null, 'no key'],
    ]);
    expect(records[0].headers[0].key).toBe('h');
  });

  it('long-poll fetch waits for data and answers as soon as it arrives', async () => {
    await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'poll', numPartitions: 1 }] });
    const started = Date.now();
    const pending = rpc.call('fetch', 'Fetch', { maxWaitMs: 10_000, minBytes: 1, topics: [{ topic: 'poll', partitions: [{ partition: 0, fetchOffset: 0 }] }] });
    await new Promise((r) => setTimeout(r, 300));
    await produce('poll', 0, encodeRecordBatch([{ value: 'wake up' }]));
    const f = await pending;
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(5_000);
    const batches = f.topics[0].partitions[0].recordBatches;
    expect(decodeBatch(batches).records[0]!.value!.toString()).toBe('wake up');
  });

  it('long-poll fetch times out empty after max_wait_ms', async () => {
    const started = Date.now();
    const f = await rpc.call('fetch', 'Fetch', { maxWaitMs: 400, minBytes: 1, topics: [{ topic: 'poll', partitions: [{ partition: 0, fetchOffset: 1 }] }] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(f.topics[0].partitions[0].recordBatches.length).toBe(0);
    expect(f.topics[0].partitions[0].highWatermark).toBe(1);
  });

  it('fetch returns whole batches from the one containing the offset, within max bytes', async () => {
    await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'bytes', numPartitions: 1 }] });
    for (let i = 0; i < 10; i++) await produce('bytes', 0, encodeRecordBatch(Array.from({ length: 10 }, (_, j) => ({ value: `${i}-${j}-${'p'.repeat(100)}` }))));
    const f = await rpc.call('fetch', 'Fetch', { maxWaitMs: 0, maxBytes: 3000, topics: [{ topic: 'bytes', partitions: [{ partition: 0, fetchOffset: 25 }] }] });
    const buf = f.topics[0].partitions[0].recordBatches;
    const batches = [...iterateBatches(buf)];
    expect(batches.length).toBeGreaterThanOrEqual(1);
    expect(buf.length).toBeLessThanOrEqual(3000);
    expect(decodeBatch(buf, 0).header.baseOffset).toBe(20);
    // Tiny max bytes still returns the first batch whole.
    const tiny = await rpc.call('fetch', 'Fetch', { maxWaitMs: 0, maxBytes: 10, topics: [{ topic: 'bytes', partitions: [{ partition: 0, fetchOffset: 95 }] }] });
    expect(decodeBatch(tiny.topics[0].partitions[0].recordBatches).records).toHaveLength(10);
  });

  it('Consume streams existing and new records in order', async () => {
    await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'stream', numPartitions: 2 }] });
    for (let i = 0; i < 5; i++) await produce('stream', i % 2, encodeRecordBatch([{ value: `early-${i}` }]));
    const stream = rpc.consume({ topics: [{ topic: 'stream', partitions: [{ partition: 0, fetchOffset: 0 }, { partition: 1, fetchOffset: 0 }] }] });
    const seen: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (msg: any) => {
        for (const t of msg.topics) for (const p of t.partitions) {
          for (const { pos } of iterateBatches(p.recordBatches)) for (const r of decodeBatch(p.recordBatches, pos).records) seen.push(r.value!.toString());
        }
        if (seen.length === 8) resolve();
      });
      stream.on('error', (err: any) => (err.code === grpc.status.CANCELLED ? undefined : reject(err)));
    });
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 3; i++) await produce('stream', 0, encodeRecordBatch([{ value: `late-${i}` }]));
    await done;
    stream.cancel();
    expect(seen.filter((v) => v.startsWith('late'))).toEqual(['late-0', 'late-1', 'late-2']);
    expect(seen.filter((v) => v.startsWith('early')).sort()).toEqual(['early-0', 'early-1', 'early-2', 'early-3', 'early-4']);
  });

  it('ListOffsets: earliest, latest, by timestamp', async () => {
    await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'times', numPartitions: 1 }] });
    const base = 1_700_000_000_000;
    for (let i = 0; i < 5; i++) await produce('times', 0, encodeRecordBatch([{ value: `t${i}`, timestamp: base + i * 1000 }]));
    const q = (timestamp: number) =>
      rpc.call('fetch', 'ListOffsets', { topics: [{ topic: 'times', partitions: [{ partition: 0, timestamp }] }] }).then((r) => r.topics[0].partitions[0]);
    expect((await q(-2)).offset).toBe(0);
    expect((await q(-1)).offset).toBe(5);
    expect(await q(base + 2500)).toMatchObject({ offset: 3, timestamp: base + 3000 });
    expect((await q(base + 99_000)).offset).toBe(-1);
  });

  it('admin: describe shows partitions and config sources; alter, grow and delete', async () => {
    await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'adm', numPartitions: 2, configs: { 'retention.ms': '60000' } }] });
    let d = (await rpc.call('admin', 'DescribeTopics', { names: ['adm'] })).topics[0];
    expect(d.partitions).toHaveLength(2);
    const cfg = (name: string) => d.configs.find((c: any) => c.name === name);
    expect(cfg('retention.ms')).toMatchObject({ value: '60000', source: 'TOPIC' });
    expect(cfg('flush.mode')).toMatchObject({ value: 'os', source: 'BROKER' });
    expect(cfg('segment.bytes').source).toBe('DEFAULT');
    await rpc.call('admin', 'AlterTopicConfigs', { topic: 'adm', set: { 'retention.bytes': '1000000' }, delete: ['retention.ms'] });
    await rpc.call('admin', 'CreatePartitions', { topic: 'adm', totalCount: 4 });
    d = (await rpc.call('admin', 'DescribeTopics', { names: ['adm'] })).topics[0];
    expect(d.partitions).toHaveLength(4);
    expect(cfg('retention.bytes')).toMatchObject({ value: '1000000', source: 'TOPIC' });
    expect(cfg('retention.ms').source).toBe('DEFAULT');
    const shrink = await rpc.call('admin', 'CreatePartitions', { topic: 'adm', totalCount: 2 });
    expect(shrink.result.error.code).toBe('INVALID_PARTITIONS');
    const del = await rpc.call('admin', 'DeleteTopics', { names: ['adm', 'never-existed'] });
    expect(del.topics.map((t: any) => t.error?.code ?? null)).toEqual([null, 'UNKNOWN_TOPIC_OR_PARTITION']);
    const list = await rpc.call('admin', 'ListTopics', {});
    expect(list.topics.map((t: any) => t.name)).not.toContain('adm');
  });

  it('a deleted topic can be re-created empty', async () => {
    await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'again', numPartitions: 1 }] });
    await produce('again', 0, encodeRecordBatch([{ value: 'old' }]));
    await rpc.call('admin', 'DeleteTopics', { names: ['again'] });
    await rpc.call('admin', 'CreateTopics', { topics: [{ name: 'again', numPartitions: 1 }] });
    const l = await rpc.call('fetch', 'ListOffsets', { topics: [{ topic: 'again', partitions: [{ partition: 0, timestamp: -1 }] }] });
    expect(l.topics[0].partitions[0].offset).toBe(0);
  });

  it('gRPC health checking reports SERVING', async () => {
    const { HealthClient } = await healthClient();
    const client = new HealthClient(broker.bootstrap, grpc.credentials.createInsecure());
    const res: any = await new Promise((resolve, reject) => client.Check({ service: '' }, (e: any, r: any) => (e ? reject(e) : resolve(r))));
    expect(res.status).toBe('SERVING');
    client.close();
  });

  it('gRPC server reflection lists Ferry\'s services (grpcurl works)', async () => {
    const protoLoader = await import('@grpc/proto-loader');
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const path = require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
    const pkg: any = grpc.loadPackageDefinition(protoLoader.loadSync(path, { keepCase: true, enums: String }));
    const client = new pkg.grpc.reflection.v1.ServerReflection(broker.bootstrap, grpc.credentials.createInsecure());
    const stream = client.ServerReflectionInfo();
    const answer: any = await new Promise((resolve, reject) => {
      stream.on('data', resolve);
      stream.on('error', reject);
      stream.write({ list_services: '' });
    });
    stream.end();
    client.close();
    const names = answer.list_services_response.service.map((s: any) => s.name);
    expect(names).toEqual(expect.arrayContaining(['ferry.v1.ProduceService', 'ferry.v1.FetchService', 'ferry.v1.MetadataService', 'ferry.v1.AdminService']));
  });

  it('a second broker on the same data directory refuses to start', async () => {
    await expect(startBroker({ dataDir: broker.dataDir })).rejects.toThrow(/in use by another broker/);
  });

  it('bytes that do not decode as the request message get a typed INVALID_REQUEST, not a bare INTERNAL', async () => {
    const client = new grpc.Client(broker.bootstrap, grpc.credentials.createInsecure());
    try {
      // Field 1 (topics) as a length-delimited field claiming 100 bytes that are not there.
      const garbage = Buffer.from([0x0a, 0x64, 0x01, 0x02]);
      const unaryErr = await new Promise<grpc.ServiceError>((resolve, reject) => {
        client.makeUnaryRequest('/ferry.v1.ProduceService/Produce', (b: Buffer) => b, (b: Buffer) => b, garbage, (err) => (err ? resolve(err) : reject(new Error('answered'))));
      });
      expect(unaryErr.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(errorCodeOf(unaryErr)).toBe('INVALID_REQUEST');
      expect(unaryErr.details).toMatch(/malformed request/);
      const streamErr = await new Promise<grpc.ServiceError>((resolve, reject) => {
        const stream = client.makeServerStreamRequest('/ferry.v1.FetchService/Consume', (b: Buffer) => b, (b: Buffer) => b, garbage);
        stream.on('data', () => reject(new Error('streamed data')));
        stream.on('error', resolve);
        stream.on('end', () => reject(new Error('ended without an error')));
      });
      expect(streamErr.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(errorCodeOf(streamErr)).toBe('INVALID_REQUEST');
    } finally {
      client.close();
    }
    // The broker is still serving.
    expect(await rpc.call('metadata', 'Metadata', { topics: [] })).toBeTruthy();
  });

  it('whole-request errors carry the typed code in metadata', async () => {
    const err = await rpc.call('produce', 'Produce', { acks: 5, topics: [] }).catch((e) => e);
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(errorCodeOf(err)).toBe('INVALID_REQUIRED_ACKS');
  });
});

async function healthClient(): Promise<{ HealthClient: any }> {
  const protoLoader = await import('@grpc/proto-loader');
  const { protoPath } = await import('grpc-health-check');
  const def = protoLoader.loadSync(protoPath, { keepCase: true, enums: String });
  const pkg: any = grpc.loadPackageDefinition(def);
  return { HealthClient: pkg.grpc.health.v1.Health };
}
