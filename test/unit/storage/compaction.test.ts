import fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { iterateBatches } from '../../../src/protocol/record-batch.js';
import { encodeRecordBatch } from '../../../src/protocol/record-builder.js';
import { decodeBatch } from '../../../src/protocol/record-decoder.js';
import { ErrorCode, FerryError } from '../../../src/protocol/errors.js';
import { assertKeysPresent } from '../../../src/storage/batch-records.js';
import { CHECKPOINT_CLEANER_OFFSET, LogCleaner } from '../../../src/storage/log-cleaner.js';
import type { PartitionLog } from '../../../src/storage/partition-log.js';
import { offsetFileName } from '../../../src/storage/segment-files.js';
import { appendRecords, expectedAfterClean, overwriteKeys, readAll } from './compaction-helpers.js';
import { openLog, silent, tempDir } from './helpers.js';

const open: PartitionLog[] = [];
async function compacted(dir: string, overrides: Parameters<typeof openLog>[1] = {}): Promise<PartitionLog> {
  const log = await openLog(dir, { cleanupPolicy: 'compact', segmentBytes: 4096, ...overrides });
  open.push(log);
  return log;
}
afterEach(async () => {
  for (const log of open.splice(0)) await log.close().catch(() => undefined);
});

function activeBase(log: PartitionLog): number {
  return log.segmentBaseOffsets().at(-1)!;
}

describe('log compaction', () => {
  it('keeps only the newest record per key at its original offset, in order, with valid CRCs', async () => {
    const dir = tempDir();
    const log = await compacted(dir);
    const all = await overwriteKeys(log, { batches: 120, perBatch: 5, keys: 17 });
    const segmentsBefore = log.segmentCount;
    const bytesBefore = log.sizeInBytes;
    expect(segmentsBefore).toBeGreaterThan(5);
    const cleanEnd = activeBase(log);
    const leo = log.logEndOffset;

    const r = await new LogCleaner({ logger: silent }).clean(log, { force: true });
    expect(r.cleaned).toBe(true);
    expect(r.endOffset).toBe(cleanEnd);
    expect(r.bytesAfter).toBeLessThan(r.bytesBefore);
    expect(r.recordsRemoved).toBeGreaterThan(0);

    const expected = expectedAfterClean(all, cleanEnd);
    const { records } = await readAll(log);
    expect(records).toEqual(expected);
    // Offsets, log start and end are untouched.
    expect(log.logStartOffset).toBe(0);
    expect(log.logEndOffset).toBe(leo);
    expect(log.sizeInBytes).toBeLessThan(bytesBefore);
    // Groups are sized by their source bytes (as in Kafka), so the now small cleaned segments merge
    // on the next clean, without changing what is read.
    await new LogCleaner({ logger: silent }).clean(log, { force: true });
    expect(log.segmentCount).toBeLessThan(segmentsBefore);
    expect((await readAll(log)).records).toEqual(expected);
    expect(Number(fs.readFileSync(join(dir, CHECKPOINT_CLEANER_OFFSET), 'utf8').split('\n')[2])).toBe(cleanEnd);
  });

  it('serves a fetch at every surviving offset and at removed offsets (the next survivor)', async () => {
    const log = await compacted(tempDir());
    const all = await overwriteKeys(log, { batches: 60, perBatch: 4, keys: 9 });
    const cleanEnd = activeBase(log);
    await new LogCleaner({ logger: silent }).clean(log, { force: true });
    const survivors = expectedAfterClean(all, cleanEnd).map((r) => r.offset);
    const next = (o: number): number => survivors.find((s) => s >= o)!;
    for (let o = 0; o < log.logEndOffset; o++) {
      // Like a consumer: skip record-less batches (a cleaned segment may end with one).
      let found: number | undefined;
      for (let at = o; found === undefined; ) {
        const { records } = await log.read(at, 1);
        expect(records.length).toBeGreaterThan(0);
        const first = iterateBatches(records).next().value!;
        const { header, records: recs } = decodeBatch(records, first.pos);
        found = recs.map((x) => x.offset).find((x) => x >= o);
        at = header.baseOffset + header.lastOffsetDelta + 1;
      }
      expect(found).toBe(next(o));
    }
  });

  it('never touches the active segment and appends continue at the log end', async () => {
    const dir = tempDir();
    const log = await compacted(dir);
    await overwriteKeys(log, { batches: 50, perBatch: 5, keys: 5 });
    const activePath = join(dir, offsetFileName(activeBase(log), '.log'));
    const activeBytes = fs.readFileSync(activePath);
    const leo = log.logEndOffset;
    await new LogCleaner({ logger: silent }).clean(log, { force: true });
    expect(fs.readFileSync(activePath)).toEqual(activeBytes);
    const res = await appendRecords(log, [{ key: 'after', value: 'x', timestamp: 5_000_000 }]);
    expect(res[0]!.offset).toBe(leo);
    expect(log.logEndOffset).toBe(leo + 1);
    const { records } = await readAll(log, leo);
    expect(records.map((r) => r.key)).toEqual(['after']);
  });

  it('keeps tombstones until delete.retention.ms has passed for their segment, then removes them', async () => {
    const log = await compacted(tempDir(), { deleteRetentionMs: 10_000 });
    const t = 2_000_000;
    await appendRecords(log, [{ key: 'a', value: 'a1', timestamp: t }, { key: 'b', value: 'b1', timestamp: t }]);
    await appendRecords(log, [{ key: 'a', value: null, timestamp: t + 1 }]);
    // Push the tombstone's segment out of the active position.
    await overwriteKeys(log, { batches: 40, perBatch: 5, keys: 3, t0: t + 100 });
    const cleaner = new LogCleaner({ logger: silent });

    await cleaner.clean(log, { force: true, nowMs: t + 1000 });
    let keys = (await readAll(log)).records;
    expect(keys.filter((r) => r.key === 'a')).toEqual([{ offset: 2, key: 'a', value: null, timestamp: t + 1 }]);
    expect(keys.find((r) => r.key === 'b')?.value).toBe('b1');

    const r = await cleaner.clean(log, { force: true, nowMs: t + 1_000_000 });
    expect(r.tombstonesRemoved).toBe(1);
    keys = (await readAll(log)).records;
    expect(keys.filter((x) => x.key === 'a')).toEqual([]);
    expect(keys.find((x) => x.key === 'b')?.value).toBe('b1');
  });

  it('drops keyless records when cleaning, and assertKeysPresent rejects them at produce time', async () => {
    const keyless = encodeRecordBatch([{ key: 'k', value: 'v' }, { key: null, value: 'no key' }]);
    expect(() => assertKeysPresent(keyless)).toThrowError(FerryError);
    try {
      assertKeysPresent(keyless);
    } catch (err) {
      expect((err as FerryError).code).toBe(ErrorCode.INVALID_RECORD);
    }
    const keyed = Buffer.concat([encodeRecordBatch([{ key: 'k', value: 'v' }]), encodeRecordBatch([{ key: 'j', value: null }], { compression: 'gzip' })]);
    expect(() => assertKeysPresent(keyed)).not.toThrow();
    expect(() => assertKeysPresent(encodeRecordBatch([{ key: null, value: 'x' }], { compression: 'gzip' }))).toThrowError(/require a key/);

    // A log that was not compacted when these were written: cleaning drops them.
    const log = await compacted(tempDir());
    await appendRecords(log, [{ key: null, value: 'lost', timestamp: 1 }, { key: 'k', value: 'kept', timestamp: 2 }]);
    await overwriteKeys(log, { batches: 40, perBatch: 5, keys: 40, t0: 10 });
    await new LogCleaner({ logger: silent }).clean(log, { force: true });
    const { records } = await readAll(log);
    expect(records[0]).toMatchObject({ offset: 1, key: 'k', value: 'kept' });
    expect(records.some((r) => r.key === null)).toBe(false);
  });

  it('keeps gzip batches compressed and rebuilds partly cleaned ones', async () => {
    const log = await compacted(tempDir());
    for (let i = 0; i < 60; i++) {
      const recs = Array.from({ length: 6 }, (_, j) => ({ key: `g${(i * 6 + j) % 7}`, value: `gz-${i}-${j}`.padEnd(40, '#'), timestamp: 1000 + i }));
      const buf = encodeRecordBatch(recs, { compression: 'gzip' });
      await log.appendAsLeader(buf, (await import('./helpers.js')).validated(buf), 0);
    }
    const before = await readAll(log);
    const cleanEnd = activeBase(log);
    await new LogCleaner({ logger: silent }).clean(log, { force: true });
    const after = await readAll(log);
    expect(after.records).toEqual(expectedAfterClean(before.records, cleanEnd));
    const { records: raw } = await log.read(0, 1 << 20, { maxOffset: log.logEndOffset });
    let withRecords = 0;
    for (const { pos } of iterateBatches(raw)) {
      if (raw.readInt32BE(pos + 57) === 0) continue; // a record-less group end
      withRecords++;
      expect(raw.readInt16BE(pos + 21) & 7).toBe(1); // still gzip
    }
    expect(withRecords).toBeGreaterThan(0);
  });

  it('respects min.compaction.lag.ms and min.cleanable.dirty.ratio', async () => {
    const log = await compacted(tempDir(), { minCompactionLagMs: 60_000, minCleanableDirtyRatio: 0.5 });
    const t = 10_000_000;
    await overwriteKeys(log, { batches: 60, perBatch: 5, keys: 4, t0: t });
    const cleaner = new LogCleaner({ logger: silent });
    // Every segment is younger than the lag: nothing is cleanable.
    expect((await cleaner.clean(log, { force: true, nowMs: t + 1000 })).skipped).toBe('nothing-cleanable');
    const r = await cleaner.clean(log, { nowMs: t + 1_000_000 });
    expect(r.cleaned).toBe(true);
    expect(r.dirtyRatio).toBe(1);
    // Right after a clean, nothing is dirty: without force the ratio gate holds.
    const again = await cleaner.clean(log, { nowMs: t + 1_000_000 });
    expect(again.cleaned).toBe(false);
  });

  it('cleans in several rounds when the key map is smaller than the dirty part, converging to the same result', async () => {
    const log = await compacted(tempDir());
    const all = await overwriteKeys(log, { batches: 100, perBatch: 5, keys: 30 });
    const cleanEnd = activeBase(log);
    // Room for about 12 keys: each clean maps a prefix of the dirty part.
    const cleaner = new LogCleaner({ logger: silent, dedupeBufferBytes: 12 * (6 + 64) });
    let rounds = 0;
    let r;
    do {
      r = await cleaner.clean(log, { force: true });
      rounds++;
      expect(rounds).toBeLessThan(200);
      const { records } = await readAll(log);
      // Nothing newest-per-key is ever lost, whatever the round.
      const newest = expectedAfterClean(all, cleanEnd).map((x) => x.offset);
      const present = new Set(records.map((x) => x.offset));
      for (const o of newest) expect(present.has(o)).toBe(true);
    } while (r.endOffset < cleanEnd);
    expect(rounds).toBeGreaterThan(1);
    expect((await readAll(log)).records).toEqual(expectedAfterClean(all, cleanEnd));
  });

  it('survives close and reopen', async () => {
    const dir = tempDir();
    const log = await compacted(dir);
    const all = await overwriteKeys(log, { batches: 80, perBatch: 5, keys: 11 });
    const cleanEnd = activeBase(log);
    await new LogCleaner({ logger: silent }).clean(log, { force: true });
    const leo = log.logEndOffset;
    await log.close();
    const reopened = await compacted(dir);
    expect(reopened.logEndOffset).toBe(leo);
    expect((await readAll(reopened)).records).toEqual(expectedAfterClean(all, cleanEnd));
    const res = await appendRecords(reopened, [{ key: 'z', value: 'z', timestamp: 9 }]);
    expect(res[0]!.offset).toBe(leo);
    // Cleaning again after reopen starts from the checkpoint and changes nothing below it.
    const r = await new LogCleaner({ logger: silent }).clean(reopened, { force: true });
    expect(r.firstDirtyOffset).toBe(cleanEnd);
  });

  it('keeps reads working while a clean swaps segments', async () => {
    const log = await compacted(tempDir(), { segmentBytes: 2048 });
    const all = await overwriteKeys(log, { batches: 150, perBatch: 4, keys: 13 });
    const newestBelow = new Map<string, number>();
    for (const r of all) newestBelow.set(r.key!, r.offset);
    let stop = false;
    let reads = 0;
    const reader = (async () => {
      while (!stop) {
        const o = Math.floor(Math.random() * log.logEndOffset);
        const { records } = await log.read(o, 4096, { maxOffset: log.logEndOffset });
        for (const { pos } of iterateBatches(records)) decodeBatch(records, pos); // CRC-checked
        reads++;
        await new Promise((res) => setImmediate(res));
      }
    })();
    const cleaner = new LogCleaner({ logger: silent });
    await cleaner.clean(log, { force: true });
    await overwriteKeys(log, { batches: 40, perBatch: 4, keys: 13, t0: 5_000_000 });
    await cleaner.clean(log, { force: true });
    stop = true;
    await reader;
    expect(reads).toBeGreaterThan(0);
  });

  it('cleans with flush.mode=always (the high watermark bounds what is cleanable)', async () => {
    const log = await compacted(tempDir(), { flushMode: 'always' });
    const all = await overwriteKeys(log, { batches: 40, perBatch: 5, keys: 6 });
    const cleanEnd = activeBase(log);
    expect(log.highWatermark).toBe(log.logEndOffset);
    const r = await new LogCleaner({ logger: silent }).clean(log, { force: true });
    expect(r.endOffset).toBe(cleanEnd);
    expect((await readAll(log)).records).toEqual(expectedAfterClean(all, cleanEnd));
  });

  it('does nothing for a log that is not compacted', async () => {
    const log = await openLog(tempDir(), { segmentBytes: 4096 });
    open.push(log);
    await overwriteKeys(log, { batches: 40, perBatch: 5, keys: 3 });
    const r = await new LogCleaner({ logger: silent }).clean(log, { force: true });
    expect(r.skipped).toBe('not-compacted');
  });
});
