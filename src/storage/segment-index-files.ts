/**
 * Reading a segment's index files: cheap tail reads at start-up (the last entry of each, to learn
 * where to scan for the segment's end and its largest timestamp without loading everything) and
 * full, validated loads on first use. Anything inconsistent yields null so the caller rebuilds the
 * index from the log rather than trusting it.
 */
import { promises as fsp } from 'node:fs';
import { readInt64 } from '../protocol/record-batch.js';
import { OFFSET_INDEX_ENTRY_BYTES, OffsetIndex } from './offset-index.js';
import { TIME_INDEX_ENTRY_BYTES, TimeIndex, type TimestampOffset } from './time-index.js';
import { readFileIfExists } from './segment-files.js';
import type { LoadedIndexes } from './storage-resources.js';

export interface IndexTails {
  /** Position of the last offset-index entry (0 when the index is empty). */
  lastIndexedPosition: number;
  lastTime: TimestampOffset | null;
}

async function statSize(path: string): Promise<number | null> {
  try {
    return (await fsp.stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function readTail(path: string, size: number, bytes: number): Promise<Buffer> {
  const fh = await fsp.open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    await fh.read(buf, 0, bytes, size - bytes);
    return buf;
  } finally {
    await fh.close();
  }
}

/** Null when either file is missing, has a size that is not a whole number of entries, or points past the log. */
export async function readIndexTails(indexPath: string, timeIndexPath: string, baseOffset: number, logBytes: number): Promise<IndexTails | null> {
  const [indexSize, timeSize] = await Promise.all([statSize(indexPath), statSize(timeIndexPath)]);
  if (indexSize === null || timeSize === null) return null;
  if (indexSize % OFFSET_INDEX_ENTRY_BYTES !== 0 || timeSize % TIME_INDEX_ENTRY_BYTES !== 0) return null;
  let lastIndexedPosition = 0;
  if (indexSize > 0) {
    const tail = await readTail(indexPath, indexSize, OFFSET_INDEX_ENTRY_BYTES);
    lastIndexedPosition = tail.readInt32BE(4);
    if (tail.readInt32BE(0) < 0 || lastIndexedPosition <= 0 || lastIndexedPosition >= logBytes) return null;
  }
  let lastTime: TimestampOffset | null = null;
  if (timeSize > 0) {
    const tail = await readTail(timeIndexPath, timeSize, TIME_INDEX_ENTRY_BYTES);
    const rel = tail.readInt32BE(8);
    if (rel < 0) return null;
    lastTime = { timestamp: readInt64(tail, 0), offset: baseOffset + rel };
  }
  return { lastIndexedPosition, lastTime };
}

/** Loads and validates both files fully; null when either is missing or invalid. */
export async function loadIndexFiles(
  indexPath: string,
  timeIndexPath: string,
  baseOffset: number,
  maxIndexBytes: number,
  logBytes: number,
  nextOffset: number,
): Promise<LoadedIndexes | null> {
  const [ibuf, tbuf] = await Promise.all([readFileIfExists(indexPath), readFileIfExists(timeIndexPath)]);
  if (!ibuf || !tbuf) return null;
  const offsetIndex = OffsetIndex.fromBuffer(ibuf, baseOffset, maxIndexBytes, logBytes);
  const timeIndex = TimeIndex.fromBuffer(tbuf, baseOffset, maxIndexBytes, nextOffset);
  if (!offsetIndex || !timeIndex) return null;
  return { offsetIndex, timeIndex };
}
