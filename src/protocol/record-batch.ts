/**
 * RecordBatch v2 ("magic 2"), Apache Kafka's batch layout, byte for byte (docs/record-batch.md).
 *
 *   0  baseOffset int64        | 27 baseTimestamp int64
 *   8  batchLength int32       | 35 maxTimestamp int64
 *  12  partitionLeaderEpoch    | 43 producerId int64
 *  16  magic int8 = 2          | 51 producerEpoch int16
 *  17  crc uint32 (CRC-32C of  | 53 baseSequence int32
 *      bytes 21..end)          | 57 recordCount int32
 *  21  attributes int16        | 61 records...
 *  23  lastOffsetDelta int32   |
 *
 * Each record: length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
 * keyLength varint (-1 = null), key, valueLength varint (-1 = null), value, headerCount varint,
 * then per header keyLength varint, key (UTF-8), valueLength varint (-1 = null), value.
 *
 * The broker only reads headers (`readBatchHeader`, `validateBatches`) and rewrites baseOffset and
 * partitionLeaderEpoch, which the CRC does not cover; it never decodes records. Producers build
 * batches with `RecordBatchBuilder` (record-builder.ts); consumers decode with `decodeBatch` /
 * `decodeRecordsInto` (record-decoder.ts).
 */
import { crc32c } from './crc32c.js';
import { ErrorCode, FerryError } from './errors.js';

export const MAGIC_V2 = 2;
/** baseOffset + batchLength: the part of a batch not counted in batchLength. */
export const LOG_OVERHEAD_BYTES = 12;
export const BATCH_HEADER_BYTES = 61;

export const OFFSET_BASE_OFFSET = 0;
export const OFFSET_BATCH_LENGTH = 8;
export const OFFSET_PARTITION_LEADER_EPOCH = 12;
export const OFFSET_MAGIC = 16;
export const OFFSET_CRC = 17;
export const OFFSET_ATTRIBUTES = 21;
export const OFFSET_LAST_OFFSET_DELTA = 23;
export const OFFSET_BASE_TIMESTAMP = 27;
export const OFFSET_MAX_TIMESTAMP = 35;
export const OFFSET_PRODUCER_ID = 43;
export const OFFSET_PRODUCER_EPOCH = 51;
export const OFFSET_BASE_SEQUENCE = 53;
export const OFFSET_RECORD_COUNT = 57;

export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionName = keyof typeof Compression;
export const COMPRESSION_MASK = 0x07;
export const TIMESTAMP_TYPE_BIT = 0x08;
const TRANSACTIONAL_BIT = 0x10;
const CONTROL_BIT = 0x20;

export const TimestampType = { CreateTime: 0, LogAppendTime: 1 } as const;

const TWO_POW_32 = 2 ** 32;

export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_POW_32 + buf.readUInt32BE(pos + 4);
}

export function writeInt64(buf: Buffer, pos: number, value: number): void {
  const hi = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(value - hi * TWO_POW_32, pos + 4);
}

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** Reads every header field of the batch at `pos`. The caller checks bounds (see validateBatches). */
export function readBatchHeader(buf: Buffer, pos = 0): BatchHeader {
  return {
    baseOffset: readInt64(buf, pos + OFFSET_BASE_OFFSET),
    batchLength: buf.readInt32BE(pos + OFFSET_BATCH_LENGTH),
    partitionLeaderEpoch: buf.readInt32BE(pos + OFFSET_PARTITION_LEADER_EPOCH),
    magic: buf.readInt8(pos + OFFSET_MAGIC),
    crc: buf.readUInt32BE(pos + OFFSET_CRC),
    attributes: buf.readInt16BE(pos + OFFSET_ATTRIBUTES),
    lastOffsetDelta: buf.readInt32BE(pos + OFFSET_LAST_OFFSET_DELTA),
    baseTimestamp: readInt64(buf, pos + OFFSET_BASE_TIMESTAMP),
    maxTimestamp: readInt64(buf, pos + OFFSET_MAX_TIMESTAMP),
    producerId: readInt64(buf, pos + OFFSET_PRODUCER_ID),
    producerEpoch: buf.readInt16BE(pos + OFFSET_PRODUCER_EPOCH),
    baseSequence: buf.readInt32BE(pos + OFFSET_BASE_SEQUENCE),
    recordCount: buf.readInt32BE(pos + OFFSET_RECORD_COUNT),
  };
}

/** Total bytes of the batch at `pos` (LOG_OVERHEAD_BYTES + batchLength). */
export function batchSizeAt(buf: Buffer, pos: number): number {
  return LOG_OVERHEAD_BYTES + buf.readInt32BE(pos + OFFSET_BATCH_LENGTH);
}

export function batchBaseOffset(buf: Buffer, pos: number): number {
  return readInt64(buf, pos + OFFSET_BASE_OFFSET);
}

export function batchLastOffset(buf: Buffer, pos: number): number {
  return readInt64(buf, pos + OFFSET_BASE_OFFSET) + buf.readInt32BE(pos + OFFSET_LAST_OFFSET_DELTA);
}

export function batchMaxTimestamp(buf: Buffer, pos: number): number {
  return readInt64(buf, pos + OFFSET_MAX_TIMESTAMP);
}

export function batchRecordCount(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + OFFSET_RECORD_COUNT);
}

export function batchPartitionLeaderEpoch(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + OFFSET_PARTITION_LEADER_EPOCH);
}

/** Leader-side rewrite on append. Neither field is covered by the CRC. */
export function stampBatch(buf: Buffer, pos: number, baseOffset: number, leaderEpoch: number): void {
  writeInt64(buf, pos + OFFSET_BASE_OFFSET, baseOffset);
  buf.writeInt32BE(leaderEpoch, pos + OFFSET_PARTITION_LEADER_EPOCH);
}

const SEQUENCE_MOD = 2 ** 31;

/** `seq + n` on the int32 sequence space, wrapping to 0 after 2^31-1 as Kafka does. */
export function addSequence(seq: number, n: number): number {
  return (seq + n) % SEQUENCE_MOD;
}

/**
 * Idempotent producer: writes producerId, producerEpoch and baseSequence into a built batch (the
 * sequence is only known when the batch is first sent) and re-computes the CRC, which covers them.
 */
export function setProducerState(buf: Buffer, pos: number, producerId: number, producerEpoch: number, baseSequence: number): void {
  writeInt64(buf, pos + OFFSET_PRODUCER_ID, producerId);
  buf.writeInt16BE(producerEpoch, pos + OFFSET_PRODUCER_EPOCH);
  buf.writeInt32BE(baseSequence, pos + OFFSET_BASE_SEQUENCE);
  buf.writeUInt32BE(computeBatchCrc(buf, pos, batchSizeAt(buf, pos)), pos + OFFSET_CRC);
}

/** For LogAppendTime topics: sets the timestamp type bit and maxTimestamp, then re-computes the CRC. */
export function stampLogAppendTime(buf: Buffer, pos: number, nowMs: number): void {
  const size = batchSizeAt(buf, pos);
  buf.writeInt16BE(buf.readInt16BE(pos + OFFSET_ATTRIBUTES) | TIMESTAMP_TYPE_BIT, pos + OFFSET_ATTRIBUTES);
  writeInt64(buf, pos + OFFSET_MAX_TIMESTAMP, nowMs);
  buf.writeUInt32BE(crc32c(buf.subarray(pos + OFFSET_ATTRIBUTES, pos + size)), pos + OFFSET_CRC);
}

export function computeBatchCrc(buf: Buffer, pos: number, size: number): number {
  return crc32c(buf.subarray(pos + OFFSET_ATTRIBUTES, pos + size));
}

/** True when the stored CRC matches the bytes. Assumes the batch lies within `buf`. */
export function batchCrcMatches(buf: Buffer, pos: number, size: number): boolean {
  return buf.readUInt32BE(pos + OFFSET_CRC) === computeBatchCrc(buf, pos, size);
}

export interface BatchSummary {
  /** Byte position of the batch within the validated buffer. */
  pos: number;
  size: number;
  recordCount: number;
  maxTimestamp: number;
}

export interface ValidatedBatches {
  batches: BatchSummary[];
  recordCount: number;
  /** Sum of (lastOffsetDelta + 1): the offsets this append will take. */
  offsetCount: number;
  maxTimestamp: number;
}

export interface ValidationLimits {
  /** max.message.bytes: the largest single batch accepted. */
  maxBatchBytes: number;
}

/**
 * Checks one or more concatenated batches from an untrusted producer before anything touches disk:
 * bounds, magic, CRC, record count, compression codec, and flags a client may not set. Throws a
 * FerryError (CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, INVALID_RECORD, UNSUPPORTED_COMPRESSION_TYPE).
 */
export function validateBatches(buf: Buffer, limits: ValidationLimits): ValidatedBatches {
  if (buf.length === 0) throw new FerryError(ErrorCode.INVALID_RECORD, 'empty record batch');
  const batches: BatchSummary[] = [];
  let recordCount = 0;
  let offsetCount = 0;
  let maxTimestamp = -1;
  let pos = 0;
  while (pos < buf.length) {
    const remaining = buf.length - pos;
    if (remaining < BATCH_HEADER_BYTES) {
      throw new FerryError(ErrorCode.CORRUPT_MESSAGE, `truncated batch: ${remaining} bytes left, header needs ${BATCH_HEADER_BYTES}`);
    }
    const batchLength = buf.readInt32BE(pos + OFFSET_BATCH_LENGTH);
    const size = LOG_OVERHEAD_BYTES + batchLength;
    if (batchLength < BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES) {
      throw new FerryError(ErrorCode.CORRUPT_MESSAGE, `batch length ${batchLength} is smaller than a batch header`);
    }
    if (size > limits.maxBatchBytes) {
      throw new FerryError(ErrorCode.MESSAGE_TOO_LARGE, `batch of ${size} bytes exceeds max.message.bytes=${limits.maxBatchBytes}`);
    }
    if (size > remaining) {
      throw new FerryError(ErrorCode.CORRUPT_MESSAGE, `batch claims ${size} bytes but only ${remaining} remain`);
    }
    const magic = buf.readInt8(pos + OFFSET_MAGIC);
    if (magic !== MAGIC_V2) throw new FerryError(ErrorCode.CORRUPT_MESSAGE, `unsupported batch magic ${magic} (only 2)`);
    if (!batchCrcMatches(buf, pos, size)) throw new FerryError(ErrorCode.CORRUPT_MESSAGE, 'batch CRC-32C mismatch');
    const attributes = buf.readInt16BE(pos + OFFSET_ATTRIBUTES);
    const codec = attributes & COMPRESSION_MASK;
    if (codec > Compression.zstd) {
      throw new FerryError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `unknown compression codec ${codec}`);
    }
    if (attributes & (TRANSACTIONAL_BIT | CONTROL_BIT)) {
      throw new FerryError(ErrorCode.INVALID_RECORD, 'transactional and control batches are not accepted from producers');
    }
    const count = buf.readInt32BE(pos + OFFSET_RECORD_COUNT);
    const lastOffsetDelta = buf.readInt32BE(pos + OFFSET_LAST_OFFSET_DELTA);
    if (count <= 0) throw new FerryError(ErrorCode.INVALID_RECORD, `batch record count ${count} must be positive`);
    if (lastOffsetDelta !== count - 1) {
      throw new FerryError(ErrorCode.INVALID_RECORD, `lastOffsetDelta ${lastOffsetDelta} does not match ${count} records`);
    }
    // Each record takes at least 7 bytes (length, attributes, 2 deltas, 2 null lengths, header count).
    if (codec === Compression.none && count > (size - BATCH_HEADER_BYTES) / 7) {
      throw new FerryError(ErrorCode.CORRUPT_MESSAGE, `record count ${count} cannot fit in ${size} bytes`);
    }
    const ts = readInt64(buf, pos + OFFSET_MAX_TIMESTAMP);
    batches.push({ pos, size, recordCount: count, maxTimestamp: ts });
    recordCount += count;
    offsetCount += lastOffsetDelta + 1;
    if (ts > maxTimestamp) maxTimestamp = ts;
    pos += size;
  }
  return { batches, recordCount, offsetCount, maxTimestamp };
}

/**
 * Walks concatenated batches, yielding each whole one (start position and size). Stops at a partial
 * trailing batch, which a fetch may legitimately end with when a byte limit cut it.
 */
export function* iterateBatches(buf: Buffer): Generator<{ pos: number; size: number }> {
  let pos = 0;
  while (buf.length - pos >= LOG_OVERHEAD_BYTES) {
    const size = batchSizeAt(buf, pos);
    if (size < BATCH_HEADER_BYTES || pos + size > buf.length) return;
    yield { pos, size };
    pos += size;
  }
}
