/** The cleaner as the broker runs it: LogManager's pass and cleanNow; configs; compact,delete. */
import { describe, expect, it } from 'vitest';
import { pino, type Logger } from 'pino';
import { Writable } from 'node:stream';
import { TOPIC_CONFIGS, toLogConfig } from '../../../src/config/topic-configs.js';
import { validateTopicConfigs } from '../../../src/config/broker-config.js';
import type { ConfigValue } from '../../../src/config/config-def.js';
import { FerryError } from '../../../src/protocol/errors.js';
import { DEFAULT_LOG_CONFIG, validateLogConfig } from '../../../src/storage/log-config.js';
import { LogManager } from '../../../src/storage/log-manager.js';
import { segmentsToDelete } from '../../../src/storage/retention.js';
import { expectedAfterClean, overwriteKeys, readAll } from './compaction-helpers.js';
import { config, openLog, silent, tempDir } from './helpers.js';

function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('LogManager and the log cleaner', () => {
  it('runCleaner cleans dirty compacted logs only, and logs what it did', async () => {
    const { logger, lines } = capturingLogger();
    const m = new LogManager({ dataDir: tempDir(), logger, retentionCheckIntervalMs: 60_000 });
    const c = await m.create('compacted', 0, config({ cleanupPolicy: 'compact', segmentBytes: 4096 }));
    const d = await m.create('plain', 0, config({ segmentBytes: 4096 }));
    const all = await overwriteKeys(c, { batches: 60, perBatch: 5, keys: 7 });
    await overwriteKeys(d, { batches: 60, perBatch: 5, keys: 7 });
    const plainBytes = d.sizeInBytes;
    const cleanEnd = c.segmentBaseOffsets().at(-1)!;

    const results = await m.runCleaner();
    expect(results.map((r) => `${r.topic}-${r.partition}`)).toEqual(['compacted-0']);
    expect(d.sizeInBytes).toBe(plainBytes);
    expect((await readAll(c)).records).toEqual(expectedAfterClean(all, cleanEnd));
    const line = lines.find((l) => l.msg === 'log cleaner compacted partition');
    expect(line).toMatchObject({ topic: 'compacted', partition: 0 });
    for (const k of ['bytesBefore', 'bytesAfter', 'recordsRemoved', 'durationMs']) expect(typeof line![k]).toBe('number');

    // Nothing dirty now: the next pass does nothing, cleanNow still runs.
    expect(await m.runCleaner()).toEqual([]);
    const forced = await m.cleanNow('compacted', 0);
    expect(forced.cleaned).toBe(true);
    await expect(m.cleanNow('nope', 0)).rejects.toBeInstanceOf(FerryError);
    await m.shutdown();
  });

  it('a compacted log written, cleaned and reloaded by a new LogManager reads the same', async () => {
    const dataDir = tempDir();
    const m1 = new LogManager({ dataDir, logger: silent, retentionCheckIntervalMs: 60_000, cleanerBackoffMs: 60_000 });
    const cfg = config({ cleanupPolicy: 'compact', segmentBytes: 4096 });
    const log = await m1.create('t', 0, cfg);
    const all = await overwriteKeys(log, { batches: 50, perBatch: 5, keys: 9 });
    const cleanEnd = log.segmentBaseOffsets().at(-1)!;
    await m1.cleanNow('t', 0);
    await m1.shutdown();
    const m2 = new LogManager({ dataDir, logger: silent, retentionCheckIntervalMs: 60_000 });
    const [again] = await m2.loadAll(() => cfg);
    expect((await readAll(again!)).records).toEqual(expectedAfterClean(all, cleanEnd));
    await m2.shutdown();
  });

  it('compact,delete: retention deletes old segments and the cleaner compacts', async () => {
    const log = await openLog(tempDir(), { cleanupPolicy: 'compact,delete', segmentBytes: 2048, retentionMs: 1000 });
    await overwriteKeys(log, { batches: 40, perBatch: 5, keys: 3, t0: 1000 });
    const snapshot = log.cleanerSnapshot();
    const n = segmentsToDelete({ segments: snapshot.segments, config: log.currentConfig, logStartOffset: 0, highWatermark: log.highWatermark, sizeBytes: log.sizeInBytes, nowMs: 10_000_000 });
    expect(n).toBe(snapshot.segments.length - 1);
    const compactOnly = { ...log.currentConfig, cleanupPolicy: 'compact' as const };
    expect(segmentsToDelete({ segments: snapshot.segments, config: compactOnly, logStartOffset: 0, highWatermark: log.highWatermark, sizeBytes: log.sizeInBytes, nowMs: 10_000_000 })).toBe(0);
    await log.close();
  });

  it('topic configs carry the compaction settings into LogConfig, validated', () => {
    const values = new Map<string, ConfigValue>(TOPIC_CONFIGS.map((d) => [d.name, d.default as ConfigValue]));
    const defaults = toLogConfig(values);
    expect(defaults).toMatchObject({ minCleanableDirtyRatio: 0.5, minCompactionLagMs: 0, deleteRetentionMs: 86_400_000, cleanupPolicy: 'delete' });
    expect(() => validateLogConfig({ ...DEFAULT_LOG_CONFIG, ...defaults })).not.toThrow();
    // Overrides arrive as strings and are parsed and range-checked by the schema (a double in [0, 1]).
    for (const [k, v] of validateTopicConfigs({ 'cleanup.policy': 'delete,compact', 'min.cleanable.dirty.ratio': '0.1' })) values.set(k, v);
    expect(toLogConfig(values)).toMatchObject({ cleanupPolicy: 'compact,delete', minCleanableDirtyRatio: 0.1 });
    expect(() => validateTopicConfigs({ 'min.cleanable.dirty.ratio': '1.5' })).toThrowError(/min.cleanable.dirty.ratio/);
    expect(() => validateTopicConfigs({ 'min.cleanable.dirty.ratio': 'half' })).toThrowError(/min.cleanable.dirty.ratio/);
    expect(() => validateLogConfig({ ...DEFAULT_LOG_CONFIG, minCleanableDirtyRatio: -1 })).toThrowError(FerryError);
  });
});
