/**
 * Client side of clusters against one real broker process: bootstrap lists whose first entry is
 * dead (SDK and CLI), topic create with a replication factor, describe's table, and clients riding
 * out their broker being killed and restarted on the same address (connection refused for a while,
 * then the same partitions back) without losing or reordering records.
 * Needs `npm run build` first (npm test does it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../bench/free-port.js';
import { Ferry, type ConsumerRecord } from '../../src/client/index.js';
import { startBroker, type BrokerHandle } from '../helpers/broker.js';
import { runCli } from '../helpers/cli.js';

describe('client bootstrap and broker restarts', () => {
  let broker: BrokerHandle;
  let bootstrap: string;

  beforeAll(async () => {
    broker = await startBroker({ config: { 'auto.create.topics.enable': 'false' } });
    // First entry: a port nothing listens on.
    bootstrap = `127.0.0.1:${await freePort()},${broker.bootstrap}`;
  });

  afterAll(async () => {
    await broker?.cleanup();
  });

  it('the SDK bootstraps past a dead first entry', async () => {
    const ferry = new Ferry({ bootstrap });
    try {
      const started = Date.now();
      await ferry.admin().createTopics([{ name: 'boot-sdk', partitions: 2, replicationFactor: 1 }]);
      const producer = ferry.producer({ lingerMs: 0 });
      const meta = await producer.send({ topic: 'boot-sdk', partition: 1, value: 'hello' });
      const consumer = ferry.consumer({ autoOffsetReset: 'earliest', fetchMaxWaitMs: 50 });
      consumer.assign([{ topic: 'boot-sdk', partition: 1 }]);
      const first = await consumer[Symbol.asyncIterator]().next();
      expect((first.value as ConsumerRecord).value!.toString()).toBe('hello');
      expect(meta.offset).toBe(0);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await ferry.close();
    }
  });

  it('every CLI client command bootstraps past a dead first entry', async () => {
    const bs = ['--bootstrap', bootstrap];
    const created = await runCli(['topic', 'create', 'boot-cli', '--partitions', '3', '--replication-factor', '1', ...bs]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect((await runCli(['topic', 'list', ...bs])).stdout).toMatch(/^boot-cli\s+3\s+1$/m);
    expect((await runCli(['produce', 'boot-cli', '--key-separator', ':', ...bs], 'k:v1\nk:v2\n')).code).toBe(0);
    const consumed = await runCli(['consume', 'boot-cli', '--from-beginning', '--max-messages', '2', ...bs]);
    expect(consumed.stdout.trim().split('\n')).toEqual(['v1', 'v2']);
    const groups = await runCli(['group', 'list', ...bs]);
    expect(groups.code).toBe(0);

    const described = await runCli(['topic', 'describe', 'boot-cli', ...bs]);
    expect(described.code).toBe(0);
    const lines = described.stdout.split('\n');
    expect(lines[0]).toMatch(/^Topic: boot-cli {2}Partitions: 3 {2}ReplicationFactor: 1/);
    expect(lines[2]!.split(/\s+/)).toEqual(['PARTITION', 'LEADER', 'LEADER-EPOCH', 'REPLICAS', 'ISR', 'LOG-START', 'HIGH-WATERMARK', 'LOG-END', 'SIZE-BYTES']);
    const rows = lines.slice(3, 6).map((l) => l.split(/\s+/));
    expect(rows.map((r) => r[0])).toEqual(['0', '1', '2']);
    for (const r of rows) {
      expect(r[1]).toMatch(/^\d+$/); // the broker's node id leads
      expect(r[3]).toBe(r[1]); // replicas = [leader]
      expect(r[4]).toBe(r[1]); // ISR = [leader]
    }
    // Both records have key k: one partition holds two, the others none.
    expect(rows.map((r) => r[7]).sort()).toEqual(['0', '0', '2']);
  });

  it('asking one broker for 3 replicas fails with INVALID_REPLICATION_FACTOR', async () => {
    const r = await runCli(['topic', 'create', 'boot-rf3', '--partitions', '1', '--replication-factor', '3', '--bootstrap', bootstrap]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ferry: INVALID_REPLICATION_FACTOR: /);
  });

  it('a producer and a consumer ride out their broker being killed and restarted', async () => {
    const ferry = new Ferry({ bootstrap, retry: { retries: 20, initialRetryTimeMs: 50, maxRetryTimeMs: 500 } });
    try {
      await ferry.admin().createTopics([{ name: 'restart', partitions: 1 }]);
      const producer = ferry.producer({ lingerMs: 0, batchSize: 256, deliveryTimeoutMs: 60_000, requestTimeoutMs: 5000 });
      const consumer = ferry.consumer({ autoOffsetReset: 'earliest', fetchMaxWaitMs: 100, retryBackoffMaxMs: 500 });
      consumer.assign([{ topic: 'restart', partition: 0 }]);
      const it = consumer[Symbol.asyncIterator]();
      const total = 600;
      const got: number[] = [];
      const seen = new Set<number>();
      const reading = (async () => {
        while (seen.size < total) {
          const r = await it.next();
          if (r.done) break;
          const v = Number(r.value.value!.toString());
          got.push(v);
          seen.add(v);
        }
      })();
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < total; i++) {
        if (i === 200) {
          await broker.kill('SIGKILL');
          setTimeout(() => void broker.restart(), 1500); // down long enough for several failed attempts
        }
        sends.push(producer.send({ topic: 'restart', partition: 0, value: String(i) }));
        if (i % 25 === 24) await new Promise((r) => setTimeout(r, 10));
      }
      await Promise.all(sends);
      await reading;
      // acks=all on flush.mode=always: nothing acknowledged was lost; a retry may duplicate, never reorder.
      const firstSeen = got.filter((v, i) => got.indexOf(v) === i);
      expect(firstSeen).toEqual(Array.from({ length: total }, (_, i) => i));
      await consumer.close();
    } finally {
      await ferry.close();
    }
  });
});
