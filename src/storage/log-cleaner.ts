/**
 * LogCleaner: compaction of `cleanup.policy=compact` (and `compact,delete`) logs, Kafka's LogCleaner
 * sized for Node: one clean at a time per broker, in the background, off the partition's queue
 * except for the final swap.
 *
 * One clean of a partition:
 *  1. plan (cleaner-plan.ts): the cleanable prefix of inactive segments, the first dirty offset from
 *     `<partition dir>/cleaner-offset-checkpoint`, the dirty ratio. Without `force`, nothing happens
 *     below min.cleanable.dirty.ratio.
 *  2. pass 1 (cleaner-passes.ts): key → latest offset over the dirty part, bounded by
 *     `dedupeBufferBytes`; a full map ends the clean early at `endOffset`.
 *  3. pass 2: every cleanable segment below `endOffset` is rewritten, consecutive ones merged while
 *     they fit in segment.bytes, into `.cleaned` files.
 *  4. PartitionLog.replaceSegments swaps them in crash-safely (segment-swap.ts) on the partition's
 *     queue; reads in flight finish on the old files.
 *  5. the checkpoint becomes `endOffset`. A crash before this only means more re-reading next time.
 *
 * Offsets are never changed: surviving records keep their offsets and timestamps, the log start and
 * end offsets stay where they were. Failures (I/O, corruption, the log changing underneath) abandon
 * that clean, remove its `.cleaned` files and are reported to the caller; the log is left as it was
 * unless the swap itself failed, which takes the log offline until recovery at reopen.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CheckpointCorruptError, CheckpointFile } from './checkpoint-file.js';
import { buildOffsetMap, emptyStats, writeCleanedGroup, type CleanStats } from './cleaner-passes.js';
import { groupForMerge, planClean } from './cleaner-plan.js';
import { isCompacted } from './log-config.js';
import { DEFAULT_DEDUPE_BUFFER_BYTES, OffsetMap } from './offset-map.js';
import type { PartitionLog } from './partition-log.js';
import { SEGMENT_OFFSET_SPAN_MAX } from './segment.js';
import { discardCleaned } from './segment-swap.js';
import { SerialExecutor } from '../util/serial-executor.js';

export const CHECKPOINT_CLEANER_OFFSET = 'cleaner-offset-checkpoint';

export interface LogCleanerOptions {
  logger: Logger;
  /** log.cleaner.dedupe.buffer.size: bound on pass 1's key → offset map, estimated bytes. */
  dedupeBufferBytes?: number;
}

export interface CleanOptions {
  /** Clean whatever is cleanable even below min.cleanable.dirty.ratio (tests, internal topics). */
  force?: boolean;
  nowMs?: number;
}

export interface CleanResult extends CleanStats {
  topic: string;
  partition: number;
  /** False when nothing was rewritten; `skipped` says why. */
  cleaned: boolean;
  skipped?: 'shutting-down' | 'not-compacted' | 'nothing-cleanable' | 'below-dirty-ratio' | 'log-changed';
  dirtyRatio: number;
  firstDirtyOffset: number;
  /** The new cleaner checkpoint (offsets below it are deduplicated). */
  endOffset: number;
  segmentsBefore: number;
  segmentsAfter: number;
  bytesBefore: number;
  bytesAfter: number;
  durationMs: number;
}

export class LogCleaner {
  private readonly logger: Logger;
  private readonly dedupeBufferBytes: number;
  /** One clean at a time: bounds the cleaner's memory (one map) and disk bandwidth. */
  private readonly queue = new SerialExecutor();
  private stopping = false;

  constructor(opts: LogCleanerOptions) {
    this.logger = opts.logger;
    this.dedupeBufferBytes = opts.dedupeBufferBytes ?? DEFAULT_DEDUPE_BUFFER_BYTES;
  }

  /** Cleans `log` (queued behind any clean in progress). Rejects with the clean's error. */
  clean(log: PartitionLog, opts: CleanOptions = {}): Promise<CleanResult> {
    return this.queue.run(() => this.cleanNow(log, opts));
  }

  /** Stops starting cleans, aborts the one in progress between segments, and waits for it. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    await this.queue.run(() => undefined);
  }

  private async cleanNow(log: PartitionLog, opts: CleanOptions): Promise<CleanResult> {
    const started = Date.now();
    const nowMs = opts.nowMs ?? started;
    const snap = log.cleanerSnapshot();
    const checkpointFile = new CheckpointFile(join(log.dir, CHECKPOINT_CLEANER_OFFSET));
    const plan = planClean({ ...snap, checkpoint: await this.readCheckpoint(checkpointFile, log), nowMs });
    const base: CleanResult = {
      topic: log.topic,
      partition: log.partition,
      cleaned: false,
      dirtyRatio: plan.dirtyRatio,
      firstDirtyOffset: plan.firstDirtyOffset,
      endOffset: plan.firstDirtyOffset,
      segmentsBefore: snap.segments.length,
      segmentsAfter: snap.segments.length,
      bytesBefore: plan.cleanBytes + plan.dirtyBytes,
      bytesAfter: plan.cleanBytes + plan.dirtyBytes,
      durationMs: 0,
      ...emptyStats(),
    };
    if (this.stopping) return { ...base, skipped: 'shutting-down' };
    if (!isCompacted(snap.config)) return { ...base, skipped: 'not-compacted' };
    if (plan.cleanable.length === 0 || (!opts.force && plan.dirtyBytes === 0)) return { ...base, skipped: 'nothing-cleanable' };
    if (!opts.force && plan.dirtyRatio < snap.config.minCleanableDirtyRatio) return { ...base, skipped: 'below-dirty-ratio' };

    const map = new OffsetMap(this.dedupeBufferBytes);
    const endOffset = await buildOffsetMap(plan.cleanable, plan.firstDirtyOffset, plan.firstUncleanableOffset, map);
    const toClean = plan.cleanable.filter((seg) => seg.baseOffset < endOffset);
    const groups = groupForMerge(toClean, snap.config.segmentBytes, SEGMENT_OFFSET_SPAN_MAX);
    const bases = groups.map((g) => g[0]!.baseOffset);
    const stats = emptyStats();
    let bytesAfter = 0;
    // Set once replaceSegments is called: if it throws, the swap may be half done and only recovery
    // at reopen may touch the files.
    let swapAttempted = false;
    let swapped = false;
    try {
      for (const group of groups) {
        bytesAfter += await writeCleanedGroup({
          dir: log.dir,
          group,
          map,
          endOffset,
          nowMs,
          deleteRetentionMs: snap.config.deleteRetentionMs,
          indexIntervalBytes: snap.config.indexIntervalBytes,
          segmentIndexBytes: snap.config.segmentIndexBytes,
          stats,
          cancelled: () => this.stopping,
        });
      }
      swapAttempted = true;
      swapped = await log.replaceSegments(toClean, bases);
      if (!swapped) await discardCleaned(log.dir, bases);
    } catch (err) {
      if (!swapAttempted) await discardCleaned(log.dir, bases);
      throw err;
    }
    const bytesBefore = toClean.reduce((n, seg) => n + seg.size, 0);
    if (!swapped) return { ...base, skipped: 'log-changed', durationMs: Date.now() - started };
    await checkpointFile.writeOffset(endOffset);
    const result: CleanResult = {
      ...base,
      ...stats,
      cleaned: true,
      endOffset,
      segmentsAfter: snap.segments.length - toClean.length + groups.length,
      bytesBefore,
      bytesAfter,
      durationMs: Date.now() - started,
    };
    this.logger.info(
      {
        topic: log.topic,
        partition: log.partition,
        bytesBefore,
        bytesAfter,
        recordsRemoved: stats.recordsRemoved,
        tombstonesRemoved: stats.tombstonesRemoved,
        segmentsBefore: toClean.length,
        segmentsAfter: groups.length,
        dirtyRatio: Number(plan.dirtyRatio.toFixed(3)),
        firstDirtyOffset: plan.firstDirtyOffset,
        endOffset,
        keys: map.size,
        durationMs: result.durationMs,
      },
      'log cleaner compacted partition',
    );
    if (stats.undecodableBatches > 0) {
      this.logger.warn({ topic: log.topic, partition: log.partition, batches: stats.undecodableBatches }, 'log cleaner kept batches whose compression it cannot decode');
    }
    return result;
  }

  private async readCheckpoint(file: CheckpointFile, log: PartitionLog): Promise<number | null> {
    try {
      return await file.readOffset();
    } catch (err) {
      if (!(err instanceof CheckpointCorruptError)) throw err;
      // Safe fallback: treating everything as dirty only costs a longer clean.
      this.logger.warn({ topic: log.topic, partition: log.partition, err: err.message }, 'ignoring unreadable cleaner checkpoint');
      return null;
    }
  }
}
