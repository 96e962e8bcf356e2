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
 * batches with `RecordBatchBuilder`; consumers decode with `decodeBatch`.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { crc32c } from './crc32c.js';
import { ErrorCode, FerryError } from './errors.js';
import { readVarint, sizeOfVarint, writeVarint, type Cursor } from './varint.js';

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
const COMPRESSION_MASK = 0x07;
const TIMESTAMP_TYPE_BIT = 0x08;
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

export interface HeaderInput {
  key: string;
  value: Buffer | string | null;
}

export interface RecordInput {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: HeaderInput[] | undefined;
  /** ms since epoch; defaults to now */
  timestamp?: number | undefined;
}

export interface BatchOptions {
  compression?: CompressionName;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** Partition leader epoch to write (producers send -1; the leader stamps its own). */
  partitionLeaderEpoch?: number;
  baseOffset?: number;
}

function byteLengthOf(data: Buffer | string): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.length;
}

function writeBytes(buf: Buffer, pos: number, data: Buffer | string, len: number): number {
  if (typeof data === 'string') buf.write(data, pos, len, 'utf8');
  else data.copy(buf, pos);
  return pos + len;
}

/**
 * Builds one batch incrementally into a buffer of `capacityBytes` (the producer's batch.size).
 * `tryAppend` returns false when a record does not fit and the batch already holds one; a single
 * record larger than the capacity grows the buffer so it is never refused here (the broker enforces
 * max.message.bytes).
 */
export class RecordBatchBuilder {
  private buf: Buffer;
  private pos = BATCH_HEADER_BYTES;
  private count = 0;
  private baseTimestamp = 0;
  private maxTimestamp = -1;
  private readonly options: BatchOptions;

  constructor(capacityBytes: number, options: BatchOptions = {}) {
    this.buf = Buffer.allocUnsafe(Math.max(capacityBytes, BATCH_HEADER_BYTES + 64));
    this.options = options;
  }

  get recordCount(): number {
    return this.count;
  }

  /** Bytes the batch would take if built now (before compression). */
  get sizeInBytes(): number {
    return this.pos;
  }

  tryAppend(record: RecordInput): boolean {
    const timestamp = record.timestamp ?? Date.now();
    if (this.count === 0) this.baseTimestamp = timestamp;
    const key = record.key ?? null;
    const value = record.value;
    const keyLen = key === null ? -1 : byteLengthOf(key);
    const valueLen = value === null ? -1 : byteLengthOf(value);
    const tsDelta = timestamp - this.baseTimestamp;
    const headers = record.headers;
    let headersSize = sizeOfVarint(headers ? headers.length : 0);
    let headerLens: number[] | undefined;
    if (headers && headers.length > 0) {
      headerLens = new Array<number>(headers.length * 2);
      for (let i = 0; i < headers.length; i++) {
        const h = headers[i]!;
        const kl = Buffer.byteLength(h.key);
        const vl = h.value === null ? -1 : byteLengthOf(h.value);
        headerLens[2 * i] = kl;
        headerLens[2 * i + 1] = vl;
        headersSize += sizeOfVarint(kl) + kl + sizeOfVarint(vl) + Math.max(vl, 0);
      }
    }
    const bodySize =
      1 +
      sizeOfVarint(tsDelta) +
      sizeOfVarint(this.count) +
      sizeOfVarint(keyLen) + Math.max(keyLen, 0) +
      sizeOfVarint(valueLen) + Math.max(valueLen, 0) +
      headersSize;
    const total = sizeOfVarint(bodySize) + bodySize;
    if (this.pos + total > this.buf.length) {
      if (this.count > 0) return false;
      const grown = Buffer.allocUnsafe(this.pos + total);
      this.buf.copy(grown, 0, 0, this.pos);
      this.buf = grown;
    }
    const buf = this.buf;
    let p = writeVarint(buf, this.pos, bodySize);
    buf[p++] = 0; // record attributes: unused in v2
    p = writeVarint(buf, p, tsDelta);
    p = writeVarint(buf, p, this.count);
    p = writeVarint(buf, p, keyLen);
    if (key !== null) p = writeBytes(buf, p, key, keyLen);
    p = writeVarint(buf, p, valueLen);
    if (value !== null) p = writeBytes(buf, p, value, valueLen);
    p = writeVarint(buf, p, headers ? headers.length : 0);
    if (headers && headerLens) {
      for (let i = 0; i < headers.length; i++) {
        const h = headers[i]!;
        const kl = headerLens[2 * i]!;
        const vl = headerLens[2 * i + 1]!;
        p = writeVarint(buf, p, kl);
        p = writeBytes(buf, p, h.key, kl);
        p = writeVarint(buf, p, vl);
        if (h.value !== null) p = writeBytes(buf, p, h.value, vl);
      }
    }
    this.pos = p;
    this.count++;
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
    return true;
  }

  /** Finishes the batch: header, optional compression, CRC. The builder must not be used after. */
  build(): Buffer {
    if (this.count === 0) throw new Error('RecordBatchBuilder.build() on an empty batch');
    const codecName = this.options.compression ?? 'none';
    let out: Buffer;
    if (codecName === 'none') {
      out = this.buf.subarray(0, this.pos);
    } else if (codecName === 'gzip') {
      const compressed = gzipSync(this.buf.subarray(BATCH_HEADER_BYTES, this.pos));
      out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + compressed.length);
      compressed.copy(out, BATCH_HEADER_BYTES);
    } else {
      throw new FerryError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `compression ${codecName} is not supported by this SDK yet`);
    }
    const o = this.options;
    writeInt64(out, OFFSET_BASE_OFFSET, o.baseOffset ?? 0);
    out.writeInt32BE(out.length - LOG_OVERHEAD_BYTES, OFFSET_BATCH_LENGTH);
    out.writeInt32BE(o.partitionLeaderEpoch ?? -1, OFFSET_PARTITION_LEADER_EPOCH);
    out.writeInt8(MAGIC_V2, OFFSET_MAGIC);
    out.writeInt16BE(Compression[codecName], OFFSET_ATTRIBUTES);
    out.writeInt32BE(this.count - 1, OFFSET_LAST_OFFSET_DELTA);
    writeInt64(out, OFFSET_BASE_TIMESTAMP, this.baseTimestamp);
    writeInt64(out, OFFSET_MAX_TIMESTAMP, this.maxTimestamp);
    writeInt64(out, OFFSET_PRODUCER_ID, o.producerId ?? -1);
    out.writeInt16BE(o.producerEpoch ?? -1, OFFSET_PRODUCER_EPOCH);
    out.writeInt32BE(o.baseSequence ?? -1, OFFSET_BASE_SEQUENCE);
    out.writeInt32BE(this.count, OFFSET_RECORD_COUNT);
    out.writeUInt32BE(computeBatchCrc(out, 0, out.length), OFFSET_CRC);
    return out;
  }
}

/** Encodes `records` as one batch (convenience for tests, the broker's simple path and tools). */
export function encodeRecordBatch(records: RecordInput[], options: BatchOptions = {}): Buffer {
  // The builder grows only for a first record and refuses later ones that do not fit, so start over
  // with twice the capacity until everything fits. Default timestamps are pinned first so every
  // attempt encodes the same records.
  const now = Date.now();
  const pinned = records.map((r) => (r.timestamp === undefined ? { ...r, timestamp: now } : r));
  for (let capacity = 1024; ; capacity *= 2) {
    const builder = new RecordBatchBuilder(capacity, options);
    if (pinned.every((r) => builder.tryAppend(r))) return builder.build();
  }
}

export interface DecodedHeader {
  key: string;
  value: Buffer | null;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: DecodedHeader[];
}

export interface DecodedBatch {
  header: BatchHeader;
  records: DecodedRecord[];
}

const EMPTY_HEADERS: DecodedHeader[] = [];

function readNullableBytes(buf: Buffer, cur: Cursor, end: number): Buffer | null {
  const len = readVarint(buf, cur, end);
  if (len < 0) return null;
  const start = cur.pos;
  if (start + len > end) throw new RangeError('field runs past the end of the record');
  cur.pos = start + len;
  return buf.subarray(start, start + len);
}

interface OpenedBatch {
  header: BatchHeader;
  /** Where the records are: `buf` itself, or the decompressed payload. */
  data: Buffer;
  start: number;
  end: number;
  logAppendTime: boolean;
}

/** Checks the batch at `pos` (bounds, magic, optionally CRC) and decompresses its records. */
function openBatch(buf: Buffer, pos: number, verifyCrc: boolean): OpenedBatch {
  if (buf.length - pos < BATCH_HEADER_BYTES) throw new FerryError(ErrorCode.CORRUPT_MESSAGE, 'truncated batch header');
  const header = readBatchHeader(buf, pos);
  const size = LOG_OVERHEAD_BYTES + header.batchLength;
  if (header.magic !== MAGIC_V2) throw new FerryError(ErrorCode.CORRUPT_MESSAGE, `unsupported magic ${header.magic}`);
  if (header.batchLength < BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES || pos + size > buf.length) {
    throw new FerryError(ErrorCode.CORRUPT_MESSAGE, 'batch length out of bounds');
  }
  if (verifyCrc && !batchCrcMatches(buf, pos, size)) {
    throw new FerryError(ErrorCode.CORRUPT_MESSAGE, `CRC mismatch in batch at offset ${header.baseOffset}`);
  }
  const codec = header.attributes & COMPRESSION_MASK;
  const logAppendTime = (header.attributes & TIMESTAMP_TYPE_BIT) !== 0;
  if (codec === Compression.none) return { header, data: buf, start: pos + BATCH_HEADER_BYTES, end: pos + size, logAppendTime };
  if (codec !== Compression.gzip) {
    throw new FerryError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `compression codec ${codec} is not supported by this SDK yet`);
  }
  let data: Buffer;
  try {
    data = gunzipSync(buf.subarray(pos + BATCH_HEADER_BYTES, pos + size));
  } catch (err) {
    throw new FerryError(ErrorCode.CORRUPT_MESSAGE, `gzip payload of batch at offset ${header.baseOffset} does not decompress: ${(err as Error).message}`);
  }
  return { header, data, start: 0, end: data.length, logAppendTime };
}

/** Builds the caller's record object straight from the decoded fields (no intermediate object). */
export type RecordFactory<T> = (offset: number, timestamp: number, key: Buffer | null, value: Buffer | null, headers: DecodedHeader[]) => T;

/**
 * Decodes the records of the batch at `pos` whose offset is >= `fromOffset`, appending
 * `make(...)` of each to `out`. Keys and values are views into `buf` (no copies). Checks the CRC
 * unless told not to. Throws FerryError(CORRUPT_MESSAGE) on any structural problem. Returns the
 * batch header.
 */
export function decodeRecordsInto<T>(
  buf: Buffer,
  pos: number,
  fromOffset: number,
  make: RecordFactory<T>,
  out: T[],
  options: { verifyCrc?: boolean } = {},
): BatchHeader {
  const { header, data, start, end, logAppendTime } = openBatch(buf, pos, options.verifyCrc !== false);
  const baseOffset = header.baseOffset;
  const cur: Cursor = { pos: start };
  try {
    for (let i = 0; i < header.recordCount; i++) {
      const length = readVarint(data, cur, end);
      const recordEnd = cur.pos + length;
      if (length < 0 || recordEnd > end) throw new RangeError('record length out of bounds');
      cur.pos++; // attributes
      const tsDelta = readVarint(data, cur, recordEnd);
      const offsetDelta = readVarint(data, cur, recordEnd);
      if (baseOffset + offsetDelta < fromOffset) {
        cur.pos = recordEnd;
        continue;
      }
      const key = readNullableBytes(data, cur, recordEnd);
      const value = readNullableBytes(data, cur, recordEnd);
      const headerCount = readVarint(data, cur, recordEnd);
      let headers = EMPTY_HEADERS;
      if (headerCount > 0) {
        headers = [];
        for (let h = 0; h < headerCount; h++) {
          const hk = readNullableBytes(data, cur, recordEnd);
          const hv = readNullableBytes(data, cur, recordEnd);
          headers.push({ key: hk ? hk.toString('utf8') : '', value: hv });
        }
      }
      cur.pos = recordEnd;
      out.push(make(baseOffset + offsetDelta, logAppendTime ? header.maxTimestamp : header.baseTimestamp + tsDelta, key, value, headers));
    }
  } catch (err) {
    if (err instanceof RangeError) {
      throw new FerryError(ErrorCode.CORRUPT_MESSAGE, `malformed record in batch at offset ${baseOffset}: ${err.message}`);
    }
    throw err;
  }
  return header;
}

const makeDecodedRecord: RecordFactory<DecodedRecord> = (offset, timestamp, key, value, headers) => ({ offset, timestamp, key, value, headers });

/**
 * Decodes the batch at `pos` (checking its CRC). Keys and values are views into `buf` (no copies).
 * Throws FerryError(CORRUPT_MESSAGE) on any structural problem.
 */
export function decodeBatch(buf: Buffer, pos = 0, options: { verifyCrc?: boolean } = {}): DecodedBatch {
  const records: DecodedRecord[] = [];
  const header = decodeRecordsInto(buf, pos, -Infinity, makeDecodedRecord, records, options);
  return { header, records };
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
