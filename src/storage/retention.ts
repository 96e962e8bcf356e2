/**
 * Which segments retention deletes: a prefix of the non-active segments (always oldest first, never
 * the active one, never one holding offsets at or above the high watermark) that is
 *  - wholly below the log start offset (after deleteRecords), or
 *  - older than retention.ms by its largest timestamp (file mtime when it has none), or
 *  - needed to bring the partition under retention.bytes.
 * cleanup.policy=compact keeps everything (compaction is log-cleaner.ts); 'compact,delete' gets both.
 */
import { isRetentionDeleted, type LogConfig } from './log-config.js';
import type { Segment } from './segment.js';

export interface RetentionInput {
  segments: readonly Segment[];
  config: LogConfig;
  logStartOffset: number;
  highWatermark: number;
  sizeBytes: number;
  nowMs: number;
}

/** How many leading segments to delete. */
export function segmentsToDelete(r: RetentionInput): number {
  if (!isRetentionDeleted(r.config)) return 0;
  const { segments } = r;
  const candidates = segments.length - 1; // never the active segment
  // A segment's upper bound is the next one's base offset.
  const upper = (k: number): number => segments[k + 1]!.baseOffset;
  let n = 0;
  while (n < candidates && upper(n) <= r.logStartOffset) n++;
  if (r.config.retentionMs >= 0) {
    const cutoff = r.nowMs - r.config.retentionMs;
    while (n < candidates && upper(n) <= r.highWatermark) {
      const seg = segments[n]!;
      const newest = seg.maxTimestamp >= 0 ? seg.maxTimestamp : seg.lastModifiedMs;
      if (newest >= cutoff) break;
      n++;
    }
  }
  if (r.config.retentionBytes >= 0) {
    let size = r.sizeBytes;
    for (let k = 0; k < n; k++) size -= segments[k]!.size;
    while (n < candidates && upper(n) <= r.highWatermark && size - segments[n]!.size >= r.config.retentionBytes) {
      size -= segments[n]!.size;
      n++;
    }
  }
  return n;
}
