/**
 * Walks the batches of a segment file between two byte positions, reading in chunks with async
 * positional reads, and hands each batch's header (or, with `wholeBatch`, the whole batch) to a
 * visitor. Only headers are interpreted; records are never decoded.
 *
 * The scan stops at `end` (clean), when the visitor returns false (`stopped`, position = that
 * batch's start), or at the first batch that cannot be valid (`torn`: fewer bytes than it claims or
 * than a header; `invalid`: a length below a header's size or above `maxBatchBytes`, or a magic other
 * than 2). CRC checks are the visitor's business (recovery does them; lookups do not need them).
 *
 * The buffer passed to the visitor is reused by the next read: a visitor must copy what it keeps.
 */
import { BATCH_HEADER_BYTES, MAGIC_V2, OFFSET_MAGIC, batchSizeAt } from '../protocol/record-batch.js';
import { readFully } from './shared-fd.js';

/** Chunk for header-only scans: a lookup typically crosses one index interval (4 KiB) plus a batch. */
export const HEADER_SCAN_CHUNK_BYTES = 16 * 1024;
/** Chunk for whole-batch scans (recovery): large sequential reads. */
export const RECOVERY_SCAN_CHUNK_BYTES = 1024 * 1024;

export type ScanStopReason = 'end' | 'stopped' | 'torn' | 'invalid';

export interface ScanResult {
  /** Where the scan stopped: `end`, or the start of the batch that stopped it. */
  position: number;
  reason: ScanStopReason;
}

export interface ScanOptions {
  wholeBatch?: boolean;
  chunkBytes?: number;
  /** Sizes above this are `invalid` (bounds the buffer a corrupt length could make us allocate). */
  maxBatchBytes: number;
}

/** Return false to stop the scan at this batch. */
export type BatchVisitor = (buf: Buffer, offsetInBuf: number, position: number, size: number) => boolean;

export async function scanBatches(fd: number, start: number, end: number, opts: ScanOptions, visit: BatchVisitor): Promise<ScanResult> {
  const chunkBytes = opts.chunkBytes ?? (opts.wholeBatch ? RECOVERY_SCAN_CHUNK_BYTES : HEADER_SCAN_CHUNK_BYTES);
  let chunk = Buffer.allocUnsafe(Math.min(chunkBytes, Math.max(end - start, BATCH_HEADER_BYTES)));
  let chunkStart = 0;
  let chunkLen = 0;
  // Makes [pos, pos+need) available in `chunk`; false when the file ends first.
  const ensure = async (pos: number, need: number): Promise<boolean> => {
    if (pos >= chunkStart && pos + need <= chunkStart + chunkLen) return true;
    const len = Math.min(Math.max(chunkBytes, need), end - pos);
    if (len > chunk.length) chunk = Buffer.allocUnsafe(len);
    chunkLen = await readFully(fd, chunk, 0, len, pos);
    chunkStart = pos;
    return chunkLen >= need;
  };
  let pos = start;
  while (pos < end) {
    if (end - pos < BATCH_HEADER_BYTES || !(await ensure(pos, BATCH_HEADER_BYTES))) return { position: pos, reason: 'torn' };
    let off = pos - chunkStart;
    const size = batchSizeAt(chunk, off);
    if (size < BATCH_HEADER_BYTES || size > opts.maxBatchBytes) return { position: pos, reason: 'invalid' };
    if (chunk.readInt8(off + OFFSET_MAGIC) !== MAGIC_V2) return { position: pos, reason: 'invalid' };
    if (pos + size > end) return { position: pos, reason: 'torn' };
    if (opts.wholeBatch) {
      if (!(await ensure(pos, size))) return { position: pos, reason: 'torn' };
      off = pos - chunkStart;
    }
    if (!visit(chunk, off, pos, size)) return { position: pos, reason: 'stopped' };
    pos += size;
  }
  return { position: pos, reason: 'end' };
}
