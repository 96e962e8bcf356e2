/**
 * Opening a partition directory: finds the segments, reads the checkpoints, and recovers.
 *
 * Recovery: every segment from the one containing the recovery point on (except healthy ones that
 * end at or below it, as after a clean shutdown) is rescanned with Segment.recover() (bounds, magic,
 * CRC, offset order). At the first bad batch the segment is truncated there and every later segment
 * is deleted, as is everything from a segment that does not start where the previous one ends (lost
 * data in between): a crash never leaves a half batch, or anything after one, visible. Segments below the recovery point are trusted (they were fsynced
 * before the point advanced) unless their index files are missing or inconsistent, in which case
 * they are rescanned too (which rebuilds the indexes). Each truncation is logged at warn level with
 * {topic, partition, segment, truncatedBytes, lostOffsets}.
 *
 * First, a log-cleaner swap interrupted by a crash is completed or discarded (segment-swap.ts).
 * Leftovers from a crash are removed: `*.deleted` segment files, checkpoint temp files, and index
 * files without a `.log`. Unreadable checkpoints are logged and ignored (safe defaults: recovery
 * point 0 = rescan everything; log start = first segment's base).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CHECKPOINT_TMP_SUFFIX, CheckpointCorruptError, type CheckpointFile } from './checkpoint-file.js';
import { LeaderEpochCache } from './leader-epoch-cache.js';
import { Segment, type SegmentOptions } from './segment.js';
import { recoverInterruptedSwaps } from './segment-swap.js';
import { DELETED_FILE_SUFFIX, INDEX_FILE_SUFFIX, LOG_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX, parseSegmentLogName, unlinkIfExists } from './segment-files.js';

export interface LoadParams {
  dir: string;
  topic: string;
  partition: number;
  logger: Logger;
  segmentOptions: (baseOffset: number) => SegmentOptions;
  checkpoints: { logStartOffset: CheckpointFile; recoveryPoint: CheckpointFile };
  epochCachePath: string;
}

export interface LoadedPartition {
  /** Sorted by base offset; the last one is active. */
  segments: Segment[];
  logStartOffset: number;
  epochs: LeaderEpochCache;
  /** Segments were rescanned (their contents are now fsynced). */
  rescannedSegments: number;
}

async function readCheckpoint(file: CheckpointFile, logger: Logger): Promise<number | null> {
  try {
    return await file.readOffset();
  } catch (err) {
    if (!(err instanceof CheckpointCorruptError)) throw err;
    logger.warn({ file: file.path, err: err.message }, 'ignoring unreadable checkpoint');
    return null;
  }
}

/** Removes crash leftovers and returns the base offsets of the segments, ascending. */
async function listSegments(dir: string): Promise<number[]> {
  const names = await fsp.readdir(dir);
  const logs = new Set<string>();
  const bases: number[] = [];
  for (const name of names) {
    const base = parseSegmentLogName(name);
    if (base !== null) {
      bases.push(base);
      logs.add(name.slice(0, -LOG_FILE_SUFFIX.length));
    }
  }
  for (const name of names) {
    if (name.endsWith(DELETED_FILE_SUFFIX) || name.endsWith(CHECKPOINT_TMP_SUFFIX)) await unlinkIfExists(join(dir, name));
    for (const suffix of [INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX]) {
      if (name.endsWith(suffix) && !logs.has(name.slice(0, -suffix.length))) await unlinkIfExists(join(dir, name));
    }
  }
  return bases.sort((a, b) => a - b);
}

export async function loadPartition(p: LoadParams): Promise<LoadedPartition> {
  const { dir, logger } = p;
  await fsp.mkdir(dir, { recursive: true });
  await recoverInterruptedSwaps(dir, { topic: p.topic, partition: p.partition, logger, maxBatchBytes: p.segmentOptions(0).maxBatchBytes });
  const bases = await listSegments(dir);
  const recoveryPoint = (await readCheckpoint(p.checkpoints.recoveryPoint, logger)) ?? 0;
  const logStartCheckpoint = await readCheckpoint(p.checkpoints.logStartOffset, logger);

  // The segment containing the recovery point and everything after it may hold unflushed bytes.
  let firstUnflushed = 0;
  for (let k = 0; k < bases.length; k++) if (bases[k]! <= recoveryPoint) firstUnflushed = k;

  const segments: Segment[] = [];
  let rescanned = 0;
  for (let k = 0; k < bases.length; k++) {
    const { segment, healthy } = await Segment.load(p.segmentOptions(bases[k]!));
    const prev = segments[segments.length - 1];
    const overlaps = prev !== undefined && segment.baseOffset < prev.nextOffset;
    if (prev !== undefined && segment.baseOffset > prev.nextOffset) {
      // Segments are contiguous by construction (a roll starts the next one at the log end; the
      // cleaner keeps each group's last offset), so a gap means the tail of the previous segment
      // was lost (e.g. its file was truncated): keep the valid prefix, as for a torn batch.
      await dropSegments(p, [segment, ...(await loadRest(p, bases, k + 1))], `segment starts at ${segment.baseOffset} but the previous one ends at ${prev.nextOffset}: the offsets between are missing`);
      break;
    }
    let cut = overlaps;
    // A healthy segment wholly below the recovery point was fsynced (a clean shutdown sets the
    // recovery point to the log end), so even the last segment needs no rescan then: restarting a
    // cleanly stopped broker costs no full read of its active segments.
    const fsynced = healthy && segment.nextOffset <= recoveryPoint;
    if (!overlaps && (!healthy || (k >= firstUnflushed && !fsynced))) {
      if (!healthy && k < firstUnflushed) logger.warn({ topic: p.topic, partition: p.partition, segment: segment.logPath }, 'index files missing or inconsistent; rescanning segment');
      const r = await segment.recover();
      await segment.flush();
      rescanned++;
      if (r.truncatedBytes > 0) {
        logger.warn(
          { topic: p.topic, partition: p.partition, segment: segment.logPath, truncatedBytes: r.truncatedBytes, lostOffsets: r.lostOffsets, reason: r.reason },
          'recovery truncated a torn or corrupt batch and everything after it',
        );
        cut = true;
      }
    }
    if (overlaps) {
      // Offsets must increase across segments; an overlapping one cannot be trusted.
      await dropSegments(p, [segment, ...(await loadRest(p, bases, k + 1))], 'segment overlaps the previous one');
      break;
    }
    segments.push(segment);
    if (cut) {
      await dropSegments(p, await loadRest(p, bases, k + 1), 'segment follows a truncated one');
      break;
    }
  }

  let logStartOffset = Math.max(logStartCheckpoint ?? 0, segments[0]?.baseOffset ?? 0);
  if (segments.length === 0) {
    segments.push(await Segment.create(p.segmentOptions(logStartOffset)));
  } else {
    await segments[segments.length - 1]!.activate();
  }
  const logEndOffset = segments[segments.length - 1]!.nextOffset;
  if (logStartOffset > logEndOffset) logStartOffset = logEndOffset;

  const epochs = new LeaderEpochCache(p.epochCachePath);
  try {
    await epochs.load();
  } catch (err) {
    if (!(err instanceof CheckpointCorruptError)) throw err;
    logger.warn({ topic: p.topic, partition: p.partition, err: err.message }, 'ignoring unreadable leader-epoch checkpoint');
  }
  const changedEnd = epochs.truncateFromEnd(logEndOffset);
  const changedStart = epochs.truncateFromStart(logStartOffset);
  if (changedEnd || changedStart) await epochs.persist();
  return { segments, logStartOffset, epochs, rescannedSegments: rescanned };
}

async function loadRest(p: LoadParams, bases: number[], from: number): Promise<Segment[]> {
  const rest: Segment[] = [];
  for (const base of bases.slice(from)) rest.push((await Segment.load(p.segmentOptions(base))).segment);
  return rest;
}

async function dropSegments(p: LoadParams, segs: Segment[], why: string): Promise<void> {
  for (const seg of segs) {
    p.logger.warn(
      { topic: p.topic, partition: p.partition, segment: seg.logPath, truncatedBytes: seg.size, lostOffsets: { from: seg.baseOffset, to: seg.nextOffset > seg.baseOffset ? seg.nextOffset - 1 : null } },
      `recovery deleted a segment: ${why}`,
    );
    await seg.deleteFiles();
  }
}
