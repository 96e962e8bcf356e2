import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { append, batch, openLog, tempDir, eventually } from './helpers.js';

describe('retention', () => {
  it('deletes whole segments older than retention.ms, moves the log start, never the active one', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 600, retentionMs: 1000, fileDeleteDelayMs: 30 });
    for (let i = 0; i < 20; i++) await append(log, batch(2, { timestamp: i < 10 ? 1_000 : 100_000 }));
    const bases = log.segmentBaseOffsets();
    expect(bases.length).toBeGreaterThan(3);
    const deleted = await log.deleteOldSegments(50_000);
    expect(deleted).toBeGreaterThan(0);
    const newStart = log.segmentBaseOffsets()[0]!;
    expect(newStart).toBeLessThanOrEqual(20); // batches from offset 20 on are new
    expect(log.logStartOffset).toBe(newStart);
    await expect(log.read(0, 100)).rejects.toMatchObject({ code: ErrorCode.OFFSET_OUT_OF_RANGE });
    expect((await log.read(newStart, 100)).records.length).toBeGreaterThan(0);
    // Renamed to .deleted first, unlinked after file.delete.delay.ms.
    expect(fs.readdirSync(dir).some((n) => n.endsWith('.deleted'))).toBe(true);
    await eventually(() => !fs.readdirSync(dir).some((n) => n.endsWith('.deleted')));
    expect(fs.existsSync(join(dir, '00000000000000000000.log'))).toBe(false);
    // Everything old: still keeps the active segment.
    await log.deleteOldSegments(10_000_000);
    expect(log.segmentCount).toBe(1);
    expect(log.logStartOffset).toBe(log.segmentBaseOffsets()[0]);
    expect(fs.readFileSync(join(dir, 'log-start-offset'), 'utf8')).toBe(`0\n1\n${log.logStartOffset}\n`);
    await log.close();
    const again = await openLog(dir);
    expect(again.logStartOffset).toBe(log.logStartOffset);
    await again.close();
  });

  it('deletes oldest segments while the partition exceeds retention.bytes', async () => {
    const log = await openLog(tempDir(), { segmentBytes: 600, retentionMs: -1, retentionBytes: 1500, fileDeleteDelayMs: 0 });
    for (let i = 0; i < 30; i++) await append(log, batch(2));
    const before = log.sizeInBytes;
    expect(before).toBeGreaterThan(3000);
    await log.deleteOldSegments();
    expect(log.sizeInBytes).toBeLessThanOrEqual(1500 + 600);
    expect(log.sizeInBytes).toBeGreaterThanOrEqual(1500 - 600);
    expect(log.logStartOffset).toBeGreaterThan(0);
    await expect(log.read(log.logStartOffset - 1, 100)).rejects.toMatchObject({ code: ErrorCode.OFFSET_OUT_OF_RANGE });
    await log.close();
  });

  it('does nothing for cleanup.policy=compact', async () => {
    const log = await openLog(tempDir(), { segmentBytes: 600, retentionMs: 0, retentionBytes: 0, cleanupPolicy: 'compact' });
    for (let i = 0; i < 10; i++) await append(log, batch(2, { timestamp: 1 }));
    expect(await log.deleteOldSegments(Date.now())).toBe(0);
    expect(log.logStartOffset).toBe(0);
    await log.close();
  });
});
