/**
 * The read path of a partition: whole batches from the one containing `fetchOffset`, across
 * segment boundaries, up to `maxBytes`, never including a batch that starts at or past `maxOffset`.
 *
 * Plan, then read: each segment contributes a byte range [batch start, end) where end is its size
 * (snapshotted before any await, so concurrent appends are simply not seen) or the start of the batch
 * holding `maxOffset`. The ranges are read with async positional reads (a cold read never blocks the
 * event loop) into one buffer, which is then trimmed to whole batches by walking headers — no record
 * is decoded. When the first batch alone exceeds `maxBytes`, `minOneBatch` reads it anyway.
 *
 * `buffers` (optional) says where the bytes go: the records are returned as a view starting
 * `headroom` bytes into a buffer from `allocate`, so the caller may write that many bytes in front
 * of them. The broker's fetch path reads into reused buffers and puts its wire headers there, so
 * the records reach gRPC without a copy (src/server/fetch-buffers.ts, fetch-response-encoder.ts).
 */
import { LOG_OVERHEAD_BYTES, batchSizeAt } from '../protocol/record-batch.js';
import type { Segment } from './segment.js';

const EMPTY = Buffer.alloc(0);

/** Where readBatches puts what it reads (see the top of this file). */
export interface ReadBuffers {
  /** Free bytes wanted in front of the records. */
  readonly headroom: number;
  /** A buffer of exactly `bytes` bytes the read may fill. */
  allocate(bytes: number): Buffer;
}

interface Range {
  segment: Segment;
  start: number;
  end: number;
}

/** Index of the last segment whose baseOffset ≤ offset (0 when offset is below all). */
export function floorSegment(segments: readonly Segment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (segments[mid]!.baseOffset <= offset) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** The caller has checked logStartOffset ≤ fetchOffset ≤ logEndOffset and fetchOffset < maxOffset. */
/**
 * Null when a file turned out shorter than planned: only a concurrent truncation does that, and the
 * caller retries.
 */
export async function readBatches(
  segments: readonly Segment[],
  fetchOffset: number,
  maxBytes: number,
  maxOffset: number,
  minOneBatch: boolean,
  buffers?: ReadBuffers,
): Promise<Buffer | null> {
  const ranges: Range[] = [];
  let total = 0;
  let firstBatchSize = 0;
  let offset = fetchOffset;
  for (let i = floorSegment(segments, fetchOffset); i < segments.length && total < maxBytes; i++) {
    const segment = segments[i]!;
    const size = segment.size;
    const first = await segment.locate(offset, size);
    if (!first) continue;
    if (first.baseOffset >= maxOffset) break;
    let end = size;
    if (maxOffset < segment.nextOffset) {
      const stop = await segment.locate(maxOffset, size);
      if (stop) end = stop.position;
    }
    if (end <= first.position) break;
    if (ranges.length === 0) firstBatchSize = first.size;
    ranges.push({ segment, start: first.position, end });
    total += end - first.position;
    if (end < size) break; // reached maxOffset
    offset = segments[i + 1]?.baseOffset ?? offset;
  }
  if (total === 0) return EMPTY;
  if (firstBatchSize > maxBytes) {
    if (!minOneBatch) return EMPTY;
    const only = allocate(buffers, firstBatchSize);
    const r = ranges[0]!;
    const n = await r.segment.readInto(only, 0, r.start, firstBatchSize);
    return n === firstBatchSize ? only : null;
  }
  const budget = Math.min(maxBytes, total);
  const out = allocate(buffers, budget);
  const reads: Promise<boolean>[] = [];
  let at = 0;
  for (const r of ranges) {
    if (at >= budget) break;
    const len = Math.min(r.end - r.start, budget - at);
    reads.push(r.segment.readInto(out, at, r.start, len).then((n) => n === len));
    at += len;
  }
  if (!(await Promise.all(reads)).every(Boolean)) return null;
  // Trim a batch cut by the byte budget (ranges themselves are batch-aligned).
  let pos = 0;
  while (budget - pos >= LOG_OVERHEAD_BYTES) {
    const size = batchSizeAt(out, pos);
    if (size <= LOG_OVERHEAD_BYTES || pos + size > budget) break;
    pos += size;
  }
  return pos === budget ? out : out.subarray(0, pos);
}

/** `bytes` bytes to read into: a view after the caller's headroom, or a buffer of its own. */
function allocate(buffers: ReadBuffers | undefined, bytes: number): Buffer {
  if (!buffers) return Buffer.allocUnsafe(bytes);
  const h = buffers.headroom;
  return buffers.allocate(h + bytes).subarray(h);
}
