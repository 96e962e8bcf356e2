/**
 * The cleaner's crash-safe replacement of segments by their cleaned versions, and its recovery.
 *
 * A cleaned group of old segments [s_i .. s_j] becomes ONE new segment with s_i's base offset. On disk:
 *   1. write `<base>.{log,index,timeindex}.cleaned`, fsync each      (cleaned-segment-writer.ts)
 *   2. rename every group's `.cleaned` → `.swap` (indexes first, log last), fsync the directory.
 *      This is the commit point: once `<base>.log.swap` exists, the swap is completed at start-up.
 *   3. rename the old segments' files → `.deleted` (readers holding them keep reading; unlinked
 *      after file.delete.delay.ms or at the next start-up)
 *   4. rename `.swap` → final names (log first, then indexes), fsync the directory.
 *
 * Recovery at open (`recoverInterruptedSwaps`, before segments are listed):
 *  - `.cleaned` files are deleted (crash before step 2: the old segments are intact).
 *  - for each `<base>.log.swap`: its offset range [base, next) is read from its batch headers (a
 *    cleaned segment always ends with its group's last offset: cleaner-passes.ts keeps a record-less
 *    batch there when needed); every `.log` segment whose base lies in that range (always including
 *    `base` itself) is deleted with its indexes, then the swap files take the final names.
 *  - `.index.swap` / `.timeindex.swap` whose log was already installed are renamed in (with log-first
 *    renames an index swap never outlives its log swap unless that log is installed); indexes still
 *    `.cleaned` are deleted, and missing index files are rebuilt by the normal loader.
 * Every step is idempotent, so a crash during recovery is recovered the same way.
 */
import fs, { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { batchLastOffset } from '../protocol/record-batch.js';
import { fsyncDir } from './checkpoint-file.js';
import { scanBatches } from './batch-scanner.js';
import { CLEANED_FILE_SUFFIX, segmentFileNames } from './cleaned-segment-writer.js';
import { parseSegmentLogName, renameIfExists, unlinkIfExists } from './segment-files.js';
import { openFd } from './shared-fd.js';

export const SWAP_FILE_SUFFIX = '.swap';
const SWAP_LOG_NAME = /^(\d{20})\.log\.swap$/;
const SWAP_INDEX_NAME = /^(\d{20})\.(index|timeindex)\.swap$/;

/**
 * Step 2: `.cleaned` → `.swap` for every new segment, then fsync. Log first: an index `.swap` then
 * always belongs to a log that is (or was) a `.swap` too, never to an old segment of the same base.
 */
export async function promoteCleanedToSwap(dir: string, bases: readonly number[]): Promise<void> {
  for (const base of bases) {
    const from = segmentFileNames(base, CLEANED_FILE_SUFFIX);
    const to = segmentFileNames(base, SWAP_FILE_SUFFIX);
    await fsp.rename(join(dir, from.log), join(dir, to.log));
    await fsp.rename(join(dir, from.index), join(dir, to.index));
    await fsp.rename(join(dir, from.timeIndex), join(dir, to.timeIndex));
  }
  await fsyncDir(dir);
}

/** Step 4: `.swap` → final names (log first; a leftover index swap is then renamed in by recovery), then fsync. */
export async function installSwapped(dir: string, bases: readonly number[]): Promise<void> {
  for (const base of bases) {
    const from = segmentFileNames(base, SWAP_FILE_SUFFIX);
    const to = segmentFileNames(base, '');
    await fsp.rename(join(dir, from.log), join(dir, to.log));
    await renameIfExists(join(dir, from.index), join(dir, to.index));
    await renameIfExists(join(dir, from.timeIndex), join(dir, to.timeIndex));
  }
  await fsyncDir(dir);
}

/** Removes every `.cleaned` / `.swap` file of these bases (an aborted clean before its commit point). */
export async function discardCleaned(dir: string, bases: readonly number[]): Promise<void> {
  for (const base of bases) {
    for (const suffix of [CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX]) {
      const n = segmentFileNames(base, suffix);
      for (const name of [n.log, n.index, n.timeIndex]) await unlinkIfExists(join(dir, name)).catch(() => undefined);
    }
  }
}

/** One past the last offset of the valid batches of `path` (its base when empty); cuts a torn tail. */
async function swapEndOffset(path: string, base: number, maxBatchBytes: number): Promise<{ next: number; cutBytes: number }> {
  const fd = await openFd(path, 'r+');
  try {
    const size = fs.fstatSync(fd).size;
    let next = base;
    const scan = await scanBatches(fd, 0, size, { maxBatchBytes }, (buf, off) => {
      next = batchLastOffset(buf, off) + 1;
      return true;
    });
    // The file was fsynced before it became `.swap`, so a bad tail means the disk lost data; keep the valid prefix.
    if (scan.position < size) fs.ftruncateSync(fd, scan.position);
    return { next, cutBytes: size - scan.position };
  } finally {
    fs.closeSync(fd);
  }
}

export interface SwapRecoveryContext {
  topic: string;
  partition: number;
  logger: Logger;
  maxBatchBytes: number;
}

/** See the file comment. Returns the number of swaps completed. */
export async function recoverInterruptedSwaps(dir: string, ctx: SwapRecoveryContext): Promise<number> {
  let names = await fsp.readdir(dir);
  let changed = false;
  for (const name of names) {
    if (name.endsWith(CLEANED_FILE_SUFFIX)) {
      await unlinkIfExists(join(dir, name));
      changed = true;
    }
  }
  const segmentBases = names.map(parseSegmentLogName).filter((b): b is number => b !== null);
  let completed = 0;
  for (const name of names) {
    const m = SWAP_LOG_NAME.exec(name);
    if (!m) continue;
    const base = Number(m[1]);
    const { next, cutBytes } = await swapEndOffset(join(dir, name), base, ctx.maxBatchBytes);
    const replaced = segmentBases.filter((b) => b === base || (b > base && b < next));
    for (const b of replaced) {
      const n = segmentFileNames(b, '');
      for (const f of [n.log, n.index, n.timeIndex]) await unlinkIfExists(join(dir, f));
    }
    await installSwapped(dir, [base]);
    changed = true;
    completed++;
    ctx.logger.warn(
      { topic: ctx.topic, partition: ctx.partition, baseOffset: base, nextOffset: next, replacedSegments: replaced, cutBytes },
      'recovery completed an interrupted log-cleaner swap',
    );
  }
  names = await fsp.readdir(dir);
  const logs = new Set(names.map(parseSegmentLogName).filter((b): b is number => b !== null));
  for (const name of names) {
    const m = SWAP_INDEX_NAME.exec(name);
    if (!m) continue;
    const final = join(dir, name.slice(0, -SWAP_FILE_SUFFIX.length));
    if (logs.has(Number(m[1]))) await fsp.rename(join(dir, name), final);
    else await unlinkIfExists(join(dir, name));
    changed = true;
  }
  if (changed) await fsyncDir(dir);
  return completed;
}
