/**
 * Broker limits against real broker processes: connection caps (total and per IP: refused with a
 * typed, retriable THROTTLED and recovered once a connection closes), streams per connection
 * (clients queue), max.request.bytes (refused, the connection survives), a flood of concurrent
 * producers over queued.max.request.bytes, and a Consume reader that stops reading while 200+ MiB
 * are produced. Broker memory is read from /proc/<pid>/status (VmRSS) and printed.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeForGrpcStatus } from '../../src/client/errors.js';
import { encodeRecordBatch } from '../../src/protocol/record-builder.js';
import { startBroker, type BrokerHandle } from '../helpers/broker.js';
import { errorCodeOf, rawClients, type RawClients } from '../helpers/grpc.js';
import { encodeRequest, http2Session, rawServerStream, rawUnary } from '../helpers/http2-grpc.js';

const MIB = 1024 * 1024;
/** Generous bounds (a loaded CI machine collects garbage late); the measured figures are printed. */
const FLOOD_RSS_GROWTH_LIMIT_MIB = 768;
const SLOW_READER_RSS_GROWTH_LIMIT_MIB = 160;

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Samples the broker's RSS every 50 ms until stopped; the peak is what a limit must bound. */
function rssSampler(pid: number): { stop(): { before: number; peak: number; after: number } } {
  const before = rssMiB(pid);
  let peak = before;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {
      // the broker exited; the test says so
    }
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      const after = rssMiB(pid);
      return { before, peak: Math.max(peak, after), after };
    },
  };
}

function alive(broker: BrokerHandle): void {
  expect(broker.proc.exitCode).toBeNull();
  expect(broker.proc.signalCode).toBeNull();
}

async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('connection, stream and request size limits', () => {
  let broker: BrokerHandle;
  const clients: RawClients[] = [];
  const own = () => {
    const c = rawClients(broker.bootstrap, { ownConnection: true });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    broker = await startBroker({
      config: { 'max.connections': '4', 'max.connections.per.ip': '2', 'max.concurrent.streams.per.connection': '4', 'max.request.bytes': String(MIB), 'auto.create.topics.enable': 'false' },
    });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await broker?.cleanup();
  });

  it('refuses connections over max.connections.per.ip and max.connections with THROTTLED, and recovers', async () => {
    const listTopics = encodeRequest('AdminService', 'ListTopics', {});
    const a = own();
    const b = own();
    await a.call('admin', 'ListTopics', {});
    await b.call('admin', 'ListTopics', {});
    // A third connection from 127.0.0.1 is over the per-IP cap: a typed, retriable refusal.
    const c = own();
    const refused = await c.call('admin', 'ListTopics', {}).catch((e) => e);
    expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(errorCodeOf(refused)).toBe('THROTTLED');
    expect(refused.metadata.get('ferry-retriable')[0]).toBe('true');
    expect(refused.details).toMatch(/max\.connections\.per\.ip 2/);

    // Two more hosts' worth of connections (127.0.0.2) fill max.connections (4); a fifth (127.0.0.3) is refused.
    const s2a = http2Session(broker.port, '127.0.0.2');
    const s2b = http2Session(broker.port, '127.0.0.2');
    expect((await rawUnary(s2a, '/ferry.v1.AdminService/ListTopics', listTopics)).status).toBe(0);
    expect((await rawUnary(s2b, '/ferry.v1.AdminService/ListTopics', listTopics)).status).toBe(0);
    const s3 = http2Session(broker.port, '127.0.0.3');
    const overTotal = await rawUnary(s3, '/ferry.v1.AdminService/ListTopics', listTopics);
    expect(overTotal).toMatchObject({ status: grpc.status.RESOURCE_EXHAUSTED, errorCode: 'THROTTLED', retriable: 'true' });
    expect(overTotal.message).toMatch(/max\.connections 4/);
    await eventually(async () => s3.closed || s3.destroyed, 3_000); // GOAWAY after the answer

    const warnings = broker.logs.filter((l) => String(l.msg).startsWith('connection refused'));
    expect(warnings.map((l) => l.limit)).toEqual(expect.arrayContaining(['max.connections.per.ip', 'max.connections']));
    expect(warnings.find((l) => l.limit === 'max.connections')?.peer).toMatch(/^127\.0\.0\.3:\d+$/);

    // Recovery: closing connections makes room; the refused clients get in on a retry.
    s2b.close();
    await eventually(async () => {
      const s = http2Session(broker.port, '127.0.0.3');
      try {
        return (await rawUnary(s, '/ferry.v1.AdminService/ListTopics', listTopics)).status === 0;
      } catch {
        return false;
      } finally {
        s.close();
      }
    }, 5_000);
    a.close();
    await eventually(() => c.call('admin', 'ListTopics', {}).then(() => true, () => false), 5_000);
    for (const s of [s2a, s3]) s.close();
    b.close();
    c.close();
    alive(broker);
  });

  it('max.concurrent.streams.per.connection makes a client queue its calls, not fail them', async () => {
    const rpc = own();
    // The previous test's connections from this IP may still be closing: retry until this one is in.
    await eventually(() => rpc.call('admin', 'CreateTopics', { topics: [{ name: 'streams', numPartitions: 1 }] }).then(() => true, () => false), 5_000);
    const waitMs = 200;
    const calls = 32;
    const started = Date.now();
    const results = await Promise.allSettled(
      Array.from({ length: calls }, () => rpc.call('fetch', 'Fetch', { maxWaitMs: waitMs, minBytes: 1, topics: [{ topic: 'streams', partitions: [{ partition: 0, fetchOffset: 0, currentLeaderEpoch: -1 }] }] })),
    );
    const elapsed = Date.now() - started;
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    // 4 streams at a time: 8 waves of long polls that each wait out max_wait_ms.
    expect(elapsed).toBeGreaterThanOrEqual((calls / 4 - 1) * waitMs);
    console.log(`[limits] ${calls} long polls of ${waitMs} ms over one connection with 4 streams: ${elapsed} ms`);
    rpc.close();
  });

  it('a request over max.request.bytes is refused (RECORD_LIST_TOO_LARGE) and the connection survives', async () => {
    const session = http2Session(broker.port, '127.0.0.4');
    let closed = false;
    session.on('close', () => (closed = true));
    const metadata = encodeRequest('MetadataService', 'Metadata', { topics: [] });
    expect((await rawUnary(session, '/ferry.v1.MetadataService/Metadata', metadata)).status).toBe(0);
    const big = encodeRequest('ProduceService', 'Produce', { acks: 1, topics: [{ topic: 'streams', partitions: [{ partition: 0, recordBatch: Buffer.alloc(2 * MIB) }] }] });
    const refused = await rawUnary(session, '/ferry.v1.ProduceService/Produce', big);
    expect(refused.status).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(codeForGrpcStatus(refused.status, refused.message)).toBe('RECORD_LIST_TOO_LARGE'); // how the SDK types it
    expect((await rawUnary(session, '/ferry.v1.MetadataService/Metadata', metadata)).status).toBe(0);
    expect(closed).toBe(false);
    session.close();
    alive(broker);
  });
});

/** About 1 MiB: 16 records of 64 KiB. */
function oneMiBBatch(): Buffer {
  return encodeRecordBatch(Array.from({ length: 16 }, (_, i) => ({ key: `k${i}`, value: Buffer.alloc(64 * 1024, i) })));
}
const RECORDS_PER_BATCH = 16;

describe('a flood of concurrent producers', () => {
  let broker: BrokerHandle;
  const QUEUED_MAX_MIB = 32;

  beforeAll(async () => {
    broker = await startBroker({ config: { 'queued.max.request.bytes': String(QUEUED_MAX_MIB * MIB), 'max.message.bytes': String(2 * MIB), 'auto.create.topics.enable': 'false' } });
  });
  afterAll(async () => {
    await broker?.cleanup();
  });

  it('rounds of 200 concurrent 1 MiB produce calls from 4 clients: each acknowledged or THROTTLED, broker RSS bounded', async () => {
    const clients = Array.from({ length: 4 }, () => rawClients(broker.bootstrap, { ownConnection: true }));
    const partitions = 4;
    await clients[0]!.call('admin', 'CreateTopics', { topics: [{ name: 'flood', numPartitions: partitions }] });
    const batch = oneMiBBatch();
    const rounds = 6;
    const concurrent = 200;
    const outcome = { acked: 0, throttled: 0, other: [] as string[] };
    const sampler = rssSampler(broker.proc.pid!);
    const started = Date.now();
    for (let round = 0; round < rounds; round++) {
      await Promise.all(
        Array.from({ length: concurrent }, async (_, i) => {
          const req = { acks: 1, topics: [{ topic: 'flood', partitions: [{ partition: i % partitions, recordBatch: batch }] }] };
          try {
            const res = await clients[i % clients.length]!.call('produce', 'Produce', req);
            const error = res.topics[0].partitions[0].error;
            if (error) outcome.other.push(`partition error ${error.code}`);
            else outcome.acked++;
          } catch (err: any) {
            if (errorCodeOf(err) === 'THROTTLED' && err.metadata.get('ferry-retriable')[0] === 'true') outcome.throttled++;
            else outcome.other.push(`${err.code} ${err.details}`);
          }
        }),
      );
      alive(broker);
    }
    const elapsedMs = Date.now() - started;
    const rss = sampler.stop();
    console.log(
      `[limits] flood: ${rounds} × ${concurrent} concurrent produce calls of ${(batch.length / MIB).toFixed(2)} MiB from ${clients.length} clients in ${elapsedMs} ms ` +
        `(queued.max.request.bytes ${QUEUED_MAX_MIB} MiB): acked ${outcome.acked}, THROTTLED ${outcome.throttled}, other ${outcome.other.length}; ` +
        `broker VmRSS before ${rss.before.toFixed(0)} MiB, peak ${rss.peak.toFixed(0)} MiB, after ${rss.after.toFixed(0)} MiB`,
    );
    expect(outcome.other.slice(0, 5)).toEqual([]);
    expect(outcome.acked + outcome.throttled).toBe(rounds * concurrent);
    expect(outcome.acked).toBeGreaterThan(0);
    expect(outcome.throttled).toBeGreaterThan(0);
    // Exactly the acknowledged batches are in the log.
    const offsets = await clients[0]!.call('fetch', 'ListOffsets', { topics: [{ topic: 'flood', partitions: Array.from({ length: partitions }, (_, p) => ({ partition: p, timestamp: -1 })) }] });
    const records = offsets.topics[0].partitions.reduce((sum: number, p: any) => sum + Number(p.offset), 0);
    expect(records).toBe(outcome.acked * RECORDS_PER_BATCH);
    const warning = broker.logs.find((l) => l.msg === 'produce request throttled: queued.max.request.bytes reached');
    expect(warning?.peer).toMatch(/127\.0\.0\.1:\d+/);
    // 1.2 GiB offered; what the broker holds follows the requests in flight (200 MiB at once, each
    // received whole by grpc-js before the produce handler sees it) and late GC, not the traffic.
    expect(rss.peak - rss.before).toBeLessThan(FLOOD_RSS_GROWTH_LIMIT_MIB);
    for (const c of clients) c.close();
  }, 60_000);
});

describe('a Consume reader that stops reading', () => {
  let broker: BrokerHandle;

  beforeAll(async () => {
    broker = await startBroker({ config: { 'max.message.bytes': String(2 * MIB), 'auto.create.topics.enable': 'false' } });
  });
  afterAll(async () => {
    await broker?.cleanup();
  });

  it('keeps broker RSS bounded while 320 MiB are produced; the reader gets all of it once it reads again', async () => {
    const producer = rawClients(broker.bootstrap, { ownConnection: true });
    await producer.call('admin', 'CreateTopics', { topics: [{ name: 'slow', numPartitions: 1 }] });
    const batch = oneMiBBatch();
    const produceMiB = async (n: number) => {
      for (let i = 0; i < n; i += 4) {
        await Promise.all(Array.from({ length: 4 }, () => producer.call('produce', 'Produce', { acks: 1, topics: [{ topic: 'slow', partitions: [{ partition: 0, recordBatch: batch }] }] })));
      }
    };
    // A backlog first, so the broker has full messages (max_bytes each) to push at once.
    const backlogMiB = 192;
    const pausedMiB = 128;
    await produceMiB(backlogMiB);
    const sampler = rssSampler(broker.proc.pid!);
    // A raw HTTP/2 reader: once paused it grants no more flow-control window (grpc-js would still
    // buffer 16 messages on the client side, hiding what the broker holds).
    const session = http2Session(broker.port);
    let receivedBytes = 0;
    const maxBytes = 16 * MIB;
    const stream = rawServerStream(session, 'FetchService', 'Consume', { maxBytes, topics: [{ topic: 'slow', partitions: [{ partition: 0, fetchOffset: 0, currentLeaderEpoch: -1 }] }] }, (msg) => {
      for (const t of msg.topics) for (const p of t.partitions) receivedBytes += p.recordBatches.length;
    });
    await eventually(async () => receivedBytes > 0, 5_000);
    stream.pause();
    const started = Date.now();
    await produceMiB(pausedMiB);
    const produceMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 1_000)); // time for the broker to push what it would
    const rss = sampler.stop();
    const receivedWhilePaused = receivedBytes;
    console.log(
      `[limits] slow reader: ${backlogMiB} MiB backlog, then ${pausedMiB} MiB produced in ${produceMs} ms while a Consume stream (max_bytes 16 MiB) was not read ` +
        `(${(receivedWhilePaused / MIB).toFixed(0)} MiB reached the reader); broker VmRSS before ${rss.before.toFixed(0)} MiB, peak ${rss.peak.toFixed(0)} MiB, after ${rss.after.toFixed(0)} MiB`,
    );
    // The broker holds at most two messages for the stream (2 × 16 MiB); grpc-js alone would queue 16
    // (all of the backlog), which this bound catches.
    expect(rss.peak - rss.before).toBeLessThan(SLOW_READER_RSS_GROWTH_LIMIT_MIB);
    alive(broker);

    stream.resume();
    const total = (backlogMiB + pausedMiB) * batch.length;
    const resumed = Date.now();
    await eventually(async () => receivedBytes >= total, 20_000);
    console.log(`[limits] slow reader: read the remaining ${((total - receivedWhilePaused) / MIB).toFixed(0)} MiB in ${Date.now() - resumed} ms after resuming`);
    expect(receivedBytes).toBe(total);
    stream.close();
    session.close();
    producer.close();
  }, 60_000);
});
