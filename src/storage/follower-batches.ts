/**
 * Checks batches a follower received from its leader before they are appended as they are (offsets
 * already assigned): bounds, magic, CRC, and offsets strictly increasing from at least the log end.
 * Producer-side rules (validateBatches) do not apply: a leader may legitimately write control
 * batches. Throws FerryError(CORRUPT_MESSAGE) or FerryError(OFFSET_OUT_OF_RANGE).
 */
import { BATCH_HEADER_BYTES, MAGIC_V2, OFFSET_LAST_OFFSET_DELTA, OFFSET_MAGIC, batchBaseOffset, batchCrcMatches, batchPartitionLeaderEpoch, batchSizeAt } from '../protocol/record-batch.js';
import { ErrorCode, FerryError } from '../protocol/errors.js';

export interface FollowerBatchesInfo {
  batchCount: number;
  firstOffset: number;
  lastOffset: number;
}

/** Visits (leaderEpoch, baseOffset) of each batch in order, after the whole buffer checked out. */
export function checkFollowerBatches(buf: Buffer, logEndOffset: number, visitEpoch: (epoch: number, baseOffset: number) => void): FollowerBatchesInfo {
  if (buf.length === 0) throw new FerryError(ErrorCode.INVALID_RECORD, 'empty record batch');
  let pos = 0;
  let count = 0;
  let next = logEndOffset;
  let first = -1;
  while (pos < buf.length) {
    if (buf.length - pos < BATCH_HEADER_BYTES) throw new FerryError(ErrorCode.CORRUPT_MESSAGE, 'truncated batch header');
    const size = batchSizeAt(buf, pos);
    if (size < BATCH_HEADER_BYTES || pos + size > buf.length) throw new FerryError(ErrorCode.CORRUPT_MESSAGE, `batch size ${size} out of bounds`);
    if (buf.readInt8(pos + OFFSET_MAGIC) !== MAGIC_V2) throw new FerryError(ErrorCode.CORRUPT_MESSAGE, 'unsupported batch magic');
    if (!batchCrcMatches(buf, pos, size)) throw new FerryError(ErrorCode.CORRUPT_MESSAGE, 'batch CRC-32C mismatch');
    const base = batchBaseOffset(buf, pos);
    const delta = buf.readInt32BE(pos + OFFSET_LAST_OFFSET_DELTA);
    if (base < next || delta < 0) {
      throw new FerryError(ErrorCode.OFFSET_OUT_OF_RANGE, `batch at offset ${base} (last delta ${delta}) does not follow offset ${next - 1}`);
    }
    if (first < 0) first = base;
    next = base + delta + 1;
    count++;
    pos += size;
  }
  for (pos = 0; pos < buf.length; pos += batchSizeAt(buf, pos)) visitEpoch(batchPartitionLeaderEpoch(buf, pos), batchBaseOffset(buf, pos));
  return { batchCount: count, firstOffset: first, lastOffset: next - 1 };
}
