/**
 * Which part of a compacted log the cleaner may touch, and how dirty it is (Kafka's
 * LogCleanerManager.cleanableOffsets and dirty ratio), computed from a snapshot of the segments.
 *
 * Offsets:
 *  - firstDirtyOffset: the cleaner checkpoint (`cleaner-offset-checkpoint`: everything below it was
 *    deduplicated by an earlier clean), clamped to [log start, ...]; a checkpoint past the log end
 *    (the log was truncated below it) restarts from the log start.
 *  - firstUncleanableOffset: the base of the first segment that must not be cleaned: the active
 *    segment, a segment reaching past the high watermark (not yet committed), or one whose newest
 *    record is younger than min.compaction.lag.ms. Everything before it is the cleanable prefix.
 * dirtyRatio = bytes of cleanable segments holding offsets ≥ firstDirtyOffset / bytes of all cleanable
 * segments (0 when there are none).
 */
import { strict as assert } from 'node:assert';
import type { LogConfig } from './log-config.js';
import type { Segment } from './segment.js';

export interface CleanPlanInput {
  /** All segments, oldest first; the last is the active one. */
  segments: readonly Segment[];
  checkpoint: number | null;
  logStartOffset: number;
  logEndOffset: number;
  highWatermark: number;
  config: Pick<LogConfig, 'minCompactionLagMs'>;
  nowMs: number;
}

export interface CleanPlan {
  /** The cleanable prefix of the segments (never the active one). */
  cleanable: Segment[];
  firstDirtyOffset: number;
  firstUncleanableOffset: number;
  cleanBytes: number;
  dirtyBytes: number;
  dirtyRatio: number;
}

/** The segment's newest record time: its largest timestamp, or the file's mtime when it has none. */
export function segmentNewestMs(seg: Segment): number {
  return seg.maxTimestamp >= 0 ? seg.maxTimestamp : seg.lastModifiedMs;
}

export function planClean(p: CleanPlanInput): CleanPlan {
  const { segments } = p;
  assert(segments.length > 0, 'a log always has an active segment');
  const lagCutoffMs = p.nowMs - p.config.minCompactionLagMs;
  let n = 0;
  while (n < segments.length - 1) {
    const seg = segments[n]!;
    if (seg.nextOffset > p.highWatermark) break;
    if (p.config.minCompactionLagMs > 0 && segmentNewestMs(seg) > lagCutoffMs) break;
    n++;
  }
  const cleanable = segments.slice(0, n);
  const firstUncleanableOffset = segments[n]!.baseOffset;
  const logStart = Math.max(p.logStartOffset, segments[0]!.baseOffset);
  let firstDirtyOffset = p.checkpoint ?? logStart;
  if (firstDirtyOffset > p.logEndOffset || firstDirtyOffset < logStart) firstDirtyOffset = logStart;
  let cleanBytes = 0;
  let dirtyBytes = 0;
  for (const seg of cleanable) {
    if (seg.nextOffset <= firstDirtyOffset) cleanBytes += seg.size;
    else dirtyBytes += seg.size;
  }
  const total = cleanBytes + dirtyBytes;
  return { cleanable, firstDirtyOffset, firstUncleanableOffset, cleanBytes, dirtyBytes, dirtyRatio: total === 0 ? 0 : dirtyBytes / total };
}

/**
 * Consecutive segments merged into one cleaned segment: a group's source bytes stay within
 * segment.bytes (cleaning only shrinks them) and its offsets within a segment's int32 span.
 */
export function groupForMerge(segments: readonly Segment[], segmentBytes: number, offsetSpanMax: number): Segment[][] {
  const groups: Segment[][] = [];
  let current: Segment[] = [];
  let bytes = 0;
  for (const seg of segments) {
    const first = current[0];
    const fits = first !== undefined && bytes + seg.size <= segmentBytes && seg.nextOffset - 1 - first.baseOffset <= offsetSpanMax;
    if (first !== undefined && !fits) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(seg);
    bytes += seg.size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
