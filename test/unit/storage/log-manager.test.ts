import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { LogManager } from '../../../src/storage/log-manager.js';
import { parsePartitionDirName } from '../../../src/storage/segment-files.js';
import { append, batch, config, silent, tempDir, eventually } from './helpers.js';

describe('LogManager', () => {
  it('parses partition directory names at the last dash', () => {
    expect(parsePartitionDirName('my-topic.v2-12')).toEqual({ topic: 'my-topic.v2', partition: 12 });
    expect(parsePartitionDirName('a-1-0')).toEqual({ topic: 'a-1', partition: 0 });
    expect(parsePartitionDirName('__cluster')).toBeNull();
    expect(parsePartitionDirName('t-0.5f1c-delete')).toBeNull();
    expect(parsePartitionDirName('-3')).toBeNull();
  });

  it('creates, shuts down, and loadAll finds every partition, including dashed topic names', async () => {
    const dataDir = tempDir();
    const m1 = new LogManager({ dataDir, logger: silent, retentionCheckIntervalMs: 60_000 });
    for (const [t, p] of [['orders-eu.v1', 0], ['orders-eu.v1', 1], ['a-1', 0], ['plain', 2]] as const) {
      const log = await m1.create(t, p, config());
      await append(log, batch(p + 1));
    }
    expect(await m1.create('plain', 2, config())).toBe(m1.get('plain', 2));
    await m1.shutdown();
    fs.mkdirSync(join(dataDir, '__cluster'));
    fs.mkdirSync(join(dataDir, 'gone-0.1234-delete'));

    const m2 = new LogManager({ dataDir, logger: silent, retentionCheckIntervalMs: 60_000 });
    const logs = await m2.loadAll(() => config());
    expect(logs.map((l) => `${l.topic}/${l.partition}`).sort()).toEqual(['a-1/0', 'orders-eu.v1/0', 'orders-eu.v1/1', 'plain/2']);
    expect(m2.get('orders-eu.v1', 1)!.logEndOffset).toBe(2);
    expect(m2.get('plain', 2)!.logEndOffset).toBe(3);
    await eventually(() => !fs.existsSync(join(dataDir, 'gone-0.1234-delete')));

    await m2.deleteTopic('orders-eu.v1');
    expect(m2.get('orders-eu.v1', 0)).toBeUndefined();
    await eventually(() => fs.readdirSync(dataDir).filter((n) => n.startsWith('orders-eu.v1')).length === 0);
    await m2.shutdown();
  });

  it('runs retention over every log', async () => {
    const dataDir = tempDir();
    const m = new LogManager({ dataDir, logger: silent, retentionCheckIntervalMs: 60_000 });
    const log = await m.create('r', 0, config({ segmentBytes: 500, retentionMs: 1000, fileDeleteDelayMs: 0 }));
    for (let i = 0; i < 10; i++) await append(log, batch(2, { timestamp: 5 }));
    const segments = log.segmentCount;
    expect(segments).toBeGreaterThan(1);
    expect(await m.runRetention(1_000_000)).toBe(segments - 1);
    expect(log.segmentCount).toBe(1);
    m.start();
    await m.shutdown();
  });
});
