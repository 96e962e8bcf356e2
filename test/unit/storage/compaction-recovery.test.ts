/** A crash in the middle of a cleaner swap, simulated by leaving `.cleaned` / `.swap` files as a crash would. */
import fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildOffsetMap, emptyStats, writeCleanedGroup } from '../../../src/storage/cleaner-passes.js';
import { groupForMerge, planClean } from '../../../src/storage/cleaner-plan.js';
import { LogCleaner } from '../../../src/storage/log-cleaner.js';
import { OffsetMap } from '../../../src/storage/offset-map.js';
import type { PartitionLog } from '../../../src/storage/partition-log.js';
import { SEGMENT_OFFSET_SPAN_MAX } from '../../../src/storage/segment.js';
import { offsetFileName } from '../../../src/storage/segment-files.js';
import { installSwapped, promoteCleanedToSwap } from '../../../src/storage/segment-swap.js';
import { expectedAfterClean, overwriteKeys, readAll, type Rec } from './compaction-helpers.js';
import { openLog, silent, tempDir } from './helpers.js';

const open: PartitionLog[] = [];
async function compacted(dir: string): Promise<PartitionLog> {
  const log = await openLog(dir, { cleanupPolicy: 'compact', segmentBytes: 4096 });
  open.push(log);
  return log;
}
afterEach(async () => {
  for (const log of open.splice(0)) await log.close().catch(() => undefined);
});

/** Passes 1 and 2 without the swap: the `.cleaned` files a crash would leave behind. */
async function writeCleanedOnly(log: PartitionLog): Promise<{ bases: number[]; groups: number[][]; endOffset: number }> {
  const snap = log.cleanerSnapshot();
  const plan = planClean({ ...snap, checkpoint: null, nowMs: Date.now() });
  const map = new OffsetMap(1 << 30);
  const endOffset = await buildOffsetMap(plan.cleanable, plan.firstDirtyOffset, plan.firstUncleanableOffset, map);
  const groups = groupForMerge(plan.cleanable.filter((s) => s.baseOffset < endOffset), snap.config.segmentBytes, SEGMENT_OFFSET_SPAN_MAX);
  for (const group of groups) {
    await writeCleanedGroup({
      dir: log.dir,
      group,
      map,
      endOffset,
      nowMs: Date.now(),
      deleteRetentionMs: snap.config.deleteRetentionMs,
      indexIntervalBytes: snap.config.indexIntervalBytes,
      segmentIndexBytes: snap.config.segmentIndexBytes,
      stats: emptyStats(),
      cancelled: () => false,
    });
  }
  return { bases: groups.map((g) => g[0]!.baseOffset), groups: groups.map((g) => g.map((s) => s.baseOffset)), endOffset };
}

/** A log cleaned once, then overwritten more, so the next clean merges segments. */
async function preparedLog(dir: string): Promise<{ log: PartitionLog; all: Rec[] }> {
  const log = await compacted(dir);
  const all = await overwriteKeys(log, { batches: 80, perBatch: 5, keys: 13 });
  await new LogCleaner({ logger: silent }).clean(log, { force: true });
  all.push(...(await overwriteKeys(log, { batches: 60, perBatch: 5, keys: 13, t0: 3_000_000 })));
  return { log, all };
}

function renameSegmentFiles(dir: string, base: number, from: string, to: string): void {
  for (const suffix of ['.log', '.index', '.timeindex']) {
    const name = offsetFileName(base, suffix);
    if (fs.existsSync(join(dir, name + from))) fs.renameSync(join(dir, name + from), join(dir, name + to));
  }
}

function leftovers(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => /\.(cleaned|swap|deleted)$/.test(n));
}

describe('log compaction crash recovery', () => {
  it('discards .cleaned files (crash before the swap began): the log is as before', async () => {
    const dir = tempDir();
    const { log, all } = await preparedLog(dir);
    const before = (await readAll(log)).records;
    const { bases } = await writeCleanedOnly(log);
    expect(bases.length).toBeGreaterThan(0);
    await log.close();
    const reopened = await compacted(dir);
    expect(leftovers(dir)).toEqual([]);
    expect((await readAll(reopened)).records).toEqual(before);
    expect(before.length).toBeGreaterThan(expectedAfterClean(all, reopened.segmentBaseOffsets().at(-1)!).length);
  });

  it('completes a swap whose .swap files exist while every old segment is still in place', async () => {
    const dir = tempDir();
    const { log, all } = await preparedLog(dir);
    const cleanEnd = log.segmentBaseOffsets().at(-1)!;
    const { bases, groups } = await writeCleanedOnly(log);
    expect(groups.some((g) => g.length > 1)).toBe(true); // merging groups
    await log.close();
    await promoteCleanedToSwap(dir, bases);
    const reopened = await compacted(dir);
    expect(leftovers(dir)).toEqual([]);
    expect((await readAll(reopened)).records).toEqual(expectedAfterClean(all, cleanEnd));
    expect(reopened.segmentBaseOffsets()).toEqual([...bases, cleanEnd]);
  });

  it('completes a swap interrupted while old segments were being renamed .deleted', async () => {
    const dir = tempDir();
    const { log, all } = await preparedLog(dir);
    const cleanEnd = log.segmentBaseOffsets().at(-1)!;
    const { bases, groups } = await writeCleanedOnly(log);
    await log.close();
    await promoteCleanedToSwap(dir, bases);
    const old = groups.flat();
    for (const base of old.slice(0, Math.ceil(old.length / 2))) renameSegmentFiles(dir, base, '', '.deleted');
    const reopened = await compacted(dir);
    expect(leftovers(dir)).toEqual([]);
    expect((await readAll(reopened)).records).toEqual(expectedAfterClean(all, cleanEnd));
  });

  it('completes a swap interrupted while installing (a log renamed, its indexes still .swap)', async () => {
    const dir = tempDir();
    const { log, all } = await preparedLog(dir);
    const cleanEnd = log.segmentBaseOffsets().at(-1)!;
    const { bases, groups } = await writeCleanedOnly(log);
    await log.close();
    await promoteCleanedToSwap(dir, bases);
    for (const base of groups.flat()) renameSegmentFiles(dir, base, '', '.deleted');
    await installSwapped(dir, bases.slice(0, 1));
    // The second group: only its log got its final name.
    const second = offsetFileName(bases[1]!, '.log');
    fs.renameSync(join(dir, second + '.swap'), join(dir, second));
    const reopened = await compacted(dir);
    expect(leftovers(dir)).toEqual([]);
    expect((await readAll(reopened)).records).toEqual(expectedAfterClean(all, cleanEnd));
    expect(reopened.segmentBaseOffsets()).toEqual([...bases, cleanEnd]);
  });

  it('cleans again normally after a recovered swap', async () => {
    const dir = tempDir();
    const { log, all } = await preparedLog(dir);
    const { bases } = await writeCleanedOnly(log);
    await log.close();
    await promoteCleanedToSwap(dir, bases);
    const reopened = await compacted(dir);
    all.push(...(await overwriteKeys(reopened, { batches: 40, perBatch: 5, keys: 13, t0: 6_000_000 })));
    const cleanEnd = reopened.segmentBaseOffsets().at(-1)!;
    const r = await new LogCleaner({ logger: silent }).clean(reopened, { force: true });
    expect(r.cleaned).toBe(true);
    expect((await readAll(reopened)).records).toEqual(expectedAfterClean(all, cleanEnd));
  });
});
