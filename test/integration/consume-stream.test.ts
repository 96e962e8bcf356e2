/**
 * The SDK consumer's default transport, the server-streaming Consume call (src/client/fetcher.ts,
 * consume-stream.ts), against real broker processes: records pushed as they are appended, seek /
 * pause / resume re-opening the stream at the right offsets, the buffer bound holding while the
 * application is slow, a SIGSTOPped broker noticed by the heartbeat watchdog, and a leader SIGKILL
 * in an RF 3 cluster, each checked for gapless, duplicate-free delivery.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Ferry, type Consumer } from '../../src/client/index.js';
import { startBroker, type BrokerHandle } from '../helpers/broker.js';
import { clusterPerTest, until, waitForPartition } from '../helpers/cluster.js';
import { take } from '../helpers/consume.js';

let broker: BrokerHandle;
let ferry: Ferry;
const open: Consumer[] = [];

beforeAll(async () => {
  broker = await startBroker({ config: { 'flush.mode': 'os' }, logLevel: 'debug' });
  ferry = new Ferry({ bootstrap: broker.bootstrap });
});

afterEach(async () => {
  for (const c of open.splice(0)) await c.close().catch(() => undefined);
});

afterAll(async () => {
  await ferry?.close();
  await broker?.cleanup();
});

function consumerOf(f: Ferry, options: Parameters<Ferry['consumer']>[0] = {}): Consumer {
  const c = f.consumer(options);
  open.push(c);
  return c;
}

async function produce(f: Ferry, topic: string, values: string[], partition = 0): Promise<void> {
  const producer = f.producer({ acks: -1, lingerMs: 0 });
  await producer.sendBatch(topic, values.map((value) => ({ partition, value })));
  await producer.close();
}

const range = (from: number, n: number, prefix = 'v') => Array.from({ length: n }, (_, i) => `${prefix}${from + i}`);

describe('Consume stream (the consumer default)', () => {
  it('pushes records appended after the consumer caught up, over one stream, in order', async () => {
    await ferry.admin().createTopics([{ name: 'push', partitions: 2 }]);
    await produce(ferry, 'push', range(0, 100));
    const consumer = consumerOf(ferry);
    consumer.assign([
      { topic: 'push', partition: 0, offset: 0 },
      { topic: 'push', partition: 1, offset: 0 },
    ]);
    const it = consumer[Symbol.asyncIterator]();
    expect((await take(it, 100)).map((r) => r.offset)).toEqual(range(0, 100, '').map(Number));
    // Caught up: a record appended now arrives without any new request from the consumer.
    const started = Date.now();
    await produce(ferry, 'push', ['late-0', 'late-1'], 1);
    const late = await take(it, 2);
    expect(late.map((r) => [r.partition, r.offset, r.value!.toString()])).toEqual([
      [1, 0, 'late-0'],
      [1, 1, 'late-1'],
    ]);
    expect(Date.now() - started).toBeLessThan(2_000);
    // Both partitions were read through Consume streams, not long-poll fetches.
    const opened = broker.logs.filter((l) => l.msg === 'consume stream opened');
    expect(opened.length).toBeGreaterThan(0);
    expect(opened.every((l) => (l.heartbeatMs as number) > 0)).toBe(true);
  });

  it('seek, pause and resume re-open the stream at the right offsets', async () => {
    await ferry.admin().createTopics([{ name: 'moves', partitions: 1 }]);
    await produce(ferry, 'moves', range(0, 500));
    const consumer = consumerOf(ferry, { maxPartitionFetchBytes: 1024 }); // small pushes: more in flight
    consumer.assign([{ topic: 'moves', partition: 0, offset: 0 }]);
    const it = consumer[Symbol.asyncIterator]();
    expect((await take(it, 10)).map((r) => r.offset)).toEqual(range(0, 10, '').map(Number));
    await consumer.seek({ topic: 'moves', partition: 0 }, 400);
    expect((await take(it, 5)).map((r) => r.offset)).toEqual([400, 401, 402, 403, 404]);
    consumer.pause([{ topic: 'moves', partition: 0 }]);
    const nothing = await Promise.race([it.next().then(() => 'record'), new Promise((r) => setTimeout(() => r('quiet'), 300))]);
    expect(nothing).toBe('quiet');
    consumer.resume([{ topic: 'moves', partition: 0 }]);
    // The pending next() gets 405 (it was waiting), then the rest in order.
    const rest = await take(it, 94);
    expect(rest[0]!.offset).toBe(406);
    expect(rest.at(-1)!.offset).toBe(499);
    expect(consumer.position({ topic: 'moves', partition: 0 })).toBe(500);
  });

  it('holds the buffer bound while the application is slow, then delivers everything once', async () => {
    await ferry.admin().createTopics([{ name: 'slow', partitions: 1 }]);
    const value = 'x'.repeat(1000);
    const total = 20_000; // ~20 MB
    for (let i = 0; i < total; i += 2000) await produce(ferry, 'slow', Array.from({ length: 2000 }, (_, j) => `${i + j}:${value}`));
    const maxBufferedBytes = 512 * 1024;
    const messageBytes = 64 * 1024;
    const consumer = consumerOf(ferry, { maxBufferedBytes, maxPartitionFetchBytes: messageBytes });
    consumer.assign([{ topic: 'slow', partition: 0, offset: 0 }]);
    const fetcher = (consumer as unknown as { fetcher: { bufferedBytes: number } }).fetcher;
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, fetcher.bufferedBytes)), 1);
    let next = 0;
    try {
      await consumer.run({
        eachBatch: async ({ records }) => {
          for (const r of records) {
            expect(r.offset).toBe(next);
            expect(Number(r.value!.toString().split(':')[0])).toBe(next);
            next++;
          }
          if (next < 4_000) await new Promise((r) => setTimeout(r, 20)); // slow at first: the buffer fills
          if (next === total) void consumer.stop();
        },
      });
    } finally {
      clearInterval(sampler);
    }
    expect(next).toBe(total);
    // Filled up to the bound, and at most one pushed message beyond it (the one that crossed it).
    expect(peak).toBeGreaterThan(maxBufferedBytes / 2);
    expect(peak).toBeLessThanOrEqual(maxBufferedBytes + messageBytes);
  });

  it('notices a SIGSTOPped broker by its missing heartbeats and resumes after SIGCONT without gaps', async () => {
    await ferry.admin().createTopics([{ name: 'stopped', partitions: 1 }]);
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(JSON.parse(chunk.toString())), cb()) }));
    const watched = new Ferry({ bootstrap: broker.bootstrap, requestTimeoutMs: 800, logger });
    try {
      const consumer = consumerOf(watched, { fetchMaxWaitMs: 100 });
      consumer.assign([{ topic: 'stopped', partition: 0, offset: 0 }]);
      const it = consumer[Symbol.asyncIterator]();
      await produce(ferry, 'stopped', range(0, 10));
      expect((await take(it, 10)).length).toBe(10);
      broker.pause();
      try {
        await until('the consume stream to time out', () => lines.some((l) => l.msg === 'fetch failed' && l.code === 'REQUEST_TIMED_OUT'), 10_000);
      } finally {
        broker.resume();
      }
      await produce(ferry, 'stopped', range(10, 10));
      expect((await take(it, 10)).map((r) => r.offset)).toEqual(range(10, 10, '').map(Number));
    } finally {
      await watched.close();
    }
  });
});

describe('Consume stream across a leader change', () => {
  const cluster = clusterPerTest();

  it('follows the partition to its new leader after a SIGKILL: every acked record once, in order', async () => {
    const { cluster: c, ferry: f } = await cluster();
    await f.admin().createTopics([{ name: 'moving', partitions: 1, replicationFactor: 3 }]);
    const before = await waitForPartition(c, 1, 'moving', 0, 'a leader with full ISR', (p) => p.leaderId > 0 && p.isr.length === 3);
    await produce(f, 'moving', range(0, 200));
    const consumer = consumerOf(f, { autoOffsetReset: 'earliest' });
    consumer.assign([{ topic: 'moving', partition: 0 }]);
    const it = consumer[Symbol.asyncIterator]();
    const seen = await take(it, 200);
    await c.broker(before.leaderId).kill('SIGKILL');
    const survivor = [1, 2, 3].find((id) => id !== before.leaderId)!;
    await waitForPartition(c, survivor, 'moving', 0, 'a new leader', (p) => p.leaderId > 0 && p.leaderId !== before.leaderId);
    await produce(f, 'moving', range(200, 200));
    seen.push(...(await take(it, 200)));
    expect(seen.map((r) => r.offset)).toEqual(range(0, 400, '').map(Number));
    expect(seen.map((r) => r.value!.toString())).toEqual(range(0, 400));
  });
});
