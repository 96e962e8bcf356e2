/**
 * The records inside one stored RecordBatch v2, for the two places the broker must look past the
 * header: the log cleaner (keys, tombstones) and the produce-time check that compacted topics only
 * receive keyed records. Everything else in the broker handles batches as opaque bytes.
 *
 * `readBatchRecords` returns the (decompressed) records region and, per record, its absolute offset,
 * its key (a view, no copy), whether its value is null (a tombstone) and the byte span of the whole
 * record in that region. A span can be copied verbatim into a new batch with the same baseOffset
 * and baseTimestamp: offsetDelta and timestampDelta inside it stay right.
 *
 * `filterBatch` rebuilds a batch keeping a subset of its records: same baseOffset, lastOffsetDelta,
 * timestamps, attributes, producer fields and leader epoch; new batchLength, recordCount and CRC.
 * The offset range of the batch is unchanged, so offsets of dropped records become gaps.
 *
 * Failures: FerryError(CORRUPT_MESSAGE) for a malformed batch, FerryError(UNSUPPORTED_COMPRESSION_TYPE)
 * for codecs this build cannot decompress (only none and gzip). Callers decide what that means.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { BATCH_HEADER_BYTES, Compression, LOG_OVERHEAD_BYTES, OFFSET_ATTRIBUTES, OFFSET_BATCH_LENGTH, OFFSET_CRC, OFFSET_RECORD_COUNT, batchBaseOffset, batchCrcMatches, batchSizeAt, computeBatchCrc, iterateBatches } from '../protocol/record-batch.js';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { readVarint, type Cursor } from '../protocol/varint.js';

const COMPRESSION_MASK = 0x07;

export interface RecordSpan {
  offset: number;
  /** View into `BatchRecords.data`; null for a keyless record. */
  key: Buffer | null;
  /** True when the value is null: a tombstone on a compacted topic. */
  tombstone: boolean;
  /** [start, end) of the whole record (length varint included) in `BatchRecords.data`. */
  start: number;
  end: number;
}

export interface BatchRecords {
  codec: number;
  /** The records region, decompressed when the batch is compressed. */
  data: Buffer;
  records: RecordSpan[];
}

/** The compression codec of the batch at `pos`. */
export function batchCodec(buf: Buffer, pos: number): number {
  return buf.readInt16BE(pos + OFFSET_ATTRIBUTES) & COMPRESSION_MASK;
}

/** True when `readBatchRecords` can decode a batch with this codec. */
export function canDecodeCodec(codec: number): boolean {
  return codec === Compression.none || codec === Compression.gzip;
}

function corrupt(base: number, why: string): FerryError {
  return new FerryError(ErrorCode.CORRUPT_MESSAGE, `malformed record in batch at offset ${base}: ${why}`);
}

/** Decodes the record spans of the whole batch at `pos` (size from its header). CRC not checked here. */
export function readBatchRecords(buf: Buffer, pos: number): BatchRecords {
  const size = batchSizeAt(buf, pos);
  const base = batchBaseOffset(buf, pos);
  if (size < BATCH_HEADER_BYTES || pos + size > buf.length) throw corrupt(base, 'batch length out of bounds');
  const codec = batchCodec(buf, pos);
  let data: Buffer;
  if (codec === Compression.none) {
    data = buf.subarray(pos + BATCH_HEADER_BYTES, pos + size);
  } else if (codec === Compression.gzip) {
    try {
      data = gunzipSync(buf.subarray(pos + BATCH_HEADER_BYTES, pos + size));
    } catch (err) {
      throw corrupt(base, `gzip payload does not decompress: ${(err as Error).message}`);
    }
  } else {
    throw new FerryError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `compression codec ${codec} of batch at offset ${base} cannot be decoded by the broker`);
  }
  const count = buf.readInt32BE(pos + OFFSET_RECORD_COUNT);
  if (count < 0) throw corrupt(base, `negative record count ${count}`);
  const records: RecordSpan[] = [];
  const cur: Cursor = { pos: 0 };
  const end = data.length;
  try {
    for (let i = 0; i < count; i++) {
      const start = cur.pos;
      const length = readVarint(data, cur, end);
      const recordEnd = cur.pos + length;
      if (length < 0 || recordEnd > end) throw new RangeError('record length out of bounds');
      cur.pos++; // attributes
      readVarint(data, cur, recordEnd); // timestampDelta
      const offsetDelta = readVarint(data, cur, recordEnd);
      const keyLen = readVarint(data, cur, recordEnd);
      let key: Buffer | null = null;
      if (keyLen >= 0) {
        if (cur.pos + keyLen > recordEnd) throw new RangeError('key runs past the record');
        key = data.subarray(cur.pos, cur.pos + keyLen);
        cur.pos += keyLen;
      }
      const valueLen = readVarint(data, cur, recordEnd);
      records.push({ offset: base + offsetDelta, key, tombstone: valueLen < 0, start, end: recordEnd });
      cur.pos = recordEnd;
    }
  } catch (err) {
    if (err instanceof RangeError) throw corrupt(base, err.message);
    throw err;
  }
  return { codec, data, records };
}

/**
 * A copy of the batch at `pos` holding only `keep` (a subset of `decoded.records`, in order, at
 * least one). Header fields are preserved except batchLength, recordCount and CRC.
 */
export function filterBatch(buf: Buffer, pos: number, decoded: BatchRecords, keep: readonly RecordSpan[]): Buffer {
  let bodyLen = 0;
  for (const r of keep) bodyLen += r.end - r.start;
  let body = Buffer.allocUnsafe(bodyLen);
  let at = 0;
  for (const r of keep) at += decoded.data.copy(body, at, r.start, r.end);
  if (decoded.codec === Compression.gzip) body = gzipSync(body);
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + body.length);
  buf.copy(out, 0, pos, pos + BATCH_HEADER_BYTES);
  body.copy(out, BATCH_HEADER_BYTES);
  out.writeInt32BE(out.length - LOG_OVERHEAD_BYTES, OFFSET_BATCH_LENGTH);
  out.writeInt32BE(keep.length, OFFSET_RECORD_COUNT);
  out.writeUInt32BE(computeBatchCrc(out, 0, out.length), OFFSET_CRC);
  return out;
}

/**
 * A record-less batch with the header of the batch at `pos`: same baseOffset, lastOffsetDelta,
 * timestamps, producer fields and leader epoch, no compression, recordCount 0. The cleaner ends a
 * segment with one when the records at its end were all removed, so the segment still covers its
 * original offset range (readers just skip it; Kafka keeps such batches for the same kind of reason).
 */
export function emptyBatchLike(buf: Buffer, pos: number): Buffer {
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES);
  buf.copy(out, 0, pos, pos + BATCH_HEADER_BYTES);
  out.writeInt32BE(BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES, OFFSET_BATCH_LENGTH);
  out.writeInt16BE(out.readInt16BE(OFFSET_ATTRIBUTES) & ~COMPRESSION_MASK, OFFSET_ATTRIBUTES);
  out.writeInt32BE(0, OFFSET_RECORD_COUNT);
  out.writeUInt32BE(computeBatchCrc(out, 0, out.length), OFFSET_CRC);
  return out;
}

/**
 * Produce-time rule for compacted topics (Kafka rejects keyless records there): throws
 * FerryError(INVALID_RECORD) naming the first record without a key. Decodes every record, so call
 * it only for compacted topics, after validateBatches. Codecs the broker cannot decompress are
 * refused with UNSUPPORTED_COMPRESSION_TYPE, since their keys cannot be checked.
 */
export function assertKeysPresent(batches: Buffer): void {
  for (const { pos, size } of iterateBatches(batches)) {
    if (!batchCrcMatches(batches, pos, size)) throw new FerryError(ErrorCode.CORRUPT_MESSAGE, 'batch CRC-32C mismatch');
    const { records } = readBatchRecords(batches, pos);
    for (let i = 0; i < records.length; i++) {
      if (records[i]!.key === null) {
        throw new FerryError(ErrorCode.INVALID_RECORD, `compacted topics require a key on every record; record ${i} of a batch has none`);
      }
    }
  }
}
