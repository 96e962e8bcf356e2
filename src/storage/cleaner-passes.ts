/**
 * The cleaner's two passes over a compacted log (Kafka's Cleaner.buildOffsetMap / cleanSegments).
 *
 * Pass 1, `buildOffsetMap`: walks the dirty part [firstDirtyOffset, firstUncleanableOffset) batch
 * by batch and records key → latest offset. When the next batch could push the map past its memory
 * bound, it stops there: `endOffset` (that batch's base offset) is then where this clean's dedup
 * knowledge ends, and the rest stays dirty for the next clean. At least one batch is always mapped,
 * so every clean makes progress.
 *
 * Pass 2, `writeCleanedGroup`: rewrites a group of consecutive segments into one `.cleaned` segment
 * with the first one's base offset. A record is kept unless
 *   - it has no key (compacted topics require keys; older keyless records are dropped), or
 *   - the map holds a newer offset for its key, or
 *   - it is a tombstone below endOffset in a segment whose newest record is older than
 *     delete.retention.ms (above endOffset a tombstone may still shadow an older value the map
 *     did not see, so it stays).
 * Batches keep their original base offset, offset range, timestamps and producer fields: a batch
 * whose records all survive is copied byte for byte; a partly cleaned one is rebuilt (new length,
 * record count and CRC; see batch-records.ts); an emptied one disappears, except at the very end
 * of the group, where a record-less batch with its header takes its place so the cleaned segment
 * still ends at the group's last offset (swap recovery relies on that extent).
 *
 * Batches compressed with a codec the broker cannot decode are kept whole and contribute no keys
 * (never drops anything it cannot see; the log stays correct, only less compact). A CRC mismatch or
 * a malformed batch aborts the clean with FerryError(CORRUPT_MESSAGE): the cleaner never rewrites
 * data it cannot trust.
 */
import { BATCH_HEADER_BYTES, batchBaseOffset, batchCrcMatches, batchLastOffset } from '../protocol/record-batch.js';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { batchCodec, canDecodeCodec, emptyBatchLike, filterBatch, readBatchRecords, type RecordSpan } from './batch-records.js';
import { CleanedSegmentWriter } from './cleaned-segment-writer.js';
import { segmentNewestMs } from './cleaner-plan.js';
import { OffsetMap } from './offset-map.js';
import type { Segment } from './segment.js';

export interface CleanStats {
  recordsRead: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  /** Batches kept whole because their codec cannot be decoded. */
  undecodableBatches: number;
}

export function emptyStats(): CleanStats {
  return { recordsRead: 0, recordsRemoved: 0, tombstonesRemoved: 0, undecodableBatches: 0 };
}

function checkCrc(seg: Segment, buf: Buffer, off: number, size: number): void {
  if (!batchCrcMatches(buf, off, size)) {
    throw new FerryError(ErrorCode.CORRUPT_MESSAGE, `cleaner found a CRC mismatch in ${seg.logPath} at offset ${batchBaseOffset(buf, off)}`);
  }
}

async function scanOrThrow(seg: Segment, visit: (buf: Buffer, off: number, position: number, size: number) => boolean, stopOk: boolean): Promise<void> {
  const r = await seg.scanWholeBatches(visit);
  if (r.reason === 'end' || (r.reason === 'stopped' && stopOk)) return;
  throw new FerryError(ErrorCode.CORRUPT_MESSAGE, `cleaner found a ${r.reason} batch in ${seg.logPath} at byte ${r.position}`);
}

/**
 * Pass 1 over `segments` (the cleanable prefix). Returns the offset up to which the map is complete:
 * `firstUncleanableOffset` when everything dirty fit, else the base of the first batch left out.
 */
export async function buildOffsetMap(segments: readonly Segment[], firstDirtyOffset: number, firstUncleanableOffset: number, map: OffsetMap): Promise<number> {
  let endOffset = firstUncleanableOffset;
  let mappedBatches = 0;
  for (const seg of segments) {
    if (seg.nextOffset <= firstDirtyOffset) continue;
    let full = false;
    await scanOrThrow(
      seg,
      (buf, off, _position, size) => {
        if (batchLastOffset(buf, off) < firstDirtyOffset) return true;
        checkCrc(seg, buf, off, size);
        if (!canDecodeCodec(batchCodec(buf, off))) return true;
        const { records } = readBatchRecords(buf, off);
        let extra = 0;
        for (const r of records) if (r.key && r.offset >= firstDirtyOffset) extra += OffsetMap.entryBytes(r.key);
        if (mappedBatches > 0 && map.wouldOverflow(extra)) {
          endOffset = Math.max(firstDirtyOffset, batchBaseOffset(buf, off));
          full = true;
          return false;
        }
        for (const r of records) if (r.key && r.offset >= firstDirtyOffset) map.put(r.key, r.offset);
        mappedBatches++;
        return true;
      },
      true,
    );
    if (full) break;
  }
  return endOffset;
}

export interface GroupCleanParams {
  dir: string;
  group: readonly Segment[];
  map: OffsetMap;
  endOffset: number;
  nowMs: number;
  deleteRetentionMs: number;
  indexIntervalBytes: number;
  segmentIndexBytes: number;
  stats: CleanStats;
  /** Checked between segments: true aborts the clean (shutdown). */
  cancelled: () => boolean;
}

/** Pass 2 for one group: writes `<base>.*.cleaned` and returns its size in bytes. Removes its files on failure. */
export async function writeCleanedGroup(p: GroupCleanParams): Promise<number> {
  const first = p.group[0]!;
  const writer = await CleanedSegmentWriter.create({ dir: p.dir, baseOffset: first.baseOffset, indexIntervalBytes: p.indexIntervalBytes, segmentIndexBytes: p.segmentIndexBytes });
  try {
    let lastModifiedMs = 0;
    let lastHeader: Buffer | null = null;
    for (const seg of p.group) {
      if (p.cancelled()) throw new FerryError(ErrorCode.SHUTTING_DOWN, 'log cleaner is shutting down');
      lastModifiedMs = Math.max(lastModifiedMs, seg.lastModifiedMs);
      const tombstonesExpire = segmentNewestMs(seg) < p.nowMs - p.deleteRetentionMs;
      const keep = (r: RecordSpan): boolean => {
        if (r.key === null) return false;
        if (p.map.get(r.key) > r.offset) return false;
        return !(r.tombstone && tombstonesExpire && r.offset < p.endOffset);
      };
      await scanOrThrow(
        seg,
        (buf, off, _position, size) => {
          checkCrc(seg, buf, off, size);
          lastHeader = Buffer.from(buf.subarray(off, off + BATCH_HEADER_BYTES));
          if (!canDecodeCodec(batchCodec(buf, off))) {
            p.stats.undecodableBatches++;
            writer.append(buf, off);
            return true;
          }
          const decoded = readBatchRecords(buf, off);
          const kept = decoded.records.filter(keep);
          p.stats.recordsRead += decoded.records.length;
          const removed = decoded.records.length - kept.length;
          if (removed > 0) {
            p.stats.recordsRemoved += removed;
            let tombstones = 0;
            for (const r of decoded.records) if (r.tombstone && r.key !== null) tombstones++;
            for (const r of kept) if (r.tombstone) tombstones--;
            p.stats.tombstonesRemoved += tombstones;
          }
          // Record-less batches (an earlier clean's group ends) go too; the group's end gets one back below.
          if (kept.length === 0) return true;
          if (removed === 0) writer.append(buf, off);
          else writer.append(filterBatch(buf, off, decoded, kept), 0);
          return true;
        },
        false,
      );
    }
    // Keep the group's offset range: swap recovery reads a segment's extent from its last batch.
    if (lastHeader !== null && writer.nextOffset <= batchLastOffset(lastHeader, 0)) writer.append(emptyBatchLike(lastHeader, 0), 0);
    await writer.finish(lastModifiedMs);
    return writer.size;
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
