/**
 * Encoding RecordBatch v2 batches (layout in record-batch.ts): `RecordBatchBuilder` appends records
 * one at a time into a buffer of the producer's batch.size and finishes the header and CRC;
 * `encodeRecordBatch` is the one-shot form for tests, tools and the broker's simple produce path.
 */
import { gzipSync } from 'node:zlib';
import { ErrorCode, FerryError } from './errors.js';
import { BATCH_HEADER_BYTES, Compression, computeBatchCrc, LOG_OVERHEAD_BYTES, MAGIC_V2, OFFSET_ATTRIBUTES, OFFSET_BASE_OFFSET, OFFSET_BASE_SEQUENCE, OFFSET_BASE_TIMESTAMP, OFFSET_BATCH_LENGTH, OFFSET_CRC, OFFSET_LAST_OFFSET_DELTA, OFFSET_MAGIC, OFFSET_MAX_TIMESTAMP, OFFSET_PARTITION_LEADER_EPOCH, OFFSET_PRODUCER_EPOCH, OFFSET_PRODUCER_ID, OFFSET_RECORD_COUNT, writeInt64, type CompressionName } from './record-batch.js';
import { sizeOfVarint, writeVarint } from './varint.js';

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

  /**
   * @param buffer  where to build (its length is the capacity), e.g. one recycled by the producer;
   *                default a new buffer of `capacityBytes`.
   */
  constructor(capacityBytes: number, options: BatchOptions = {}, buffer?: Buffer) {
    this.buf = buffer && buffer.length >= BATCH_HEADER_BYTES + 64 ? buffer : Buffer.allocUnsafe(Math.max(capacityBytes, BATCH_HEADER_BYTES + 64));
    this.options = options;
  }

  /** The buffer written into (a larger one after a first record grew it). */
  get buffer(): Buffer {
    return this.buf;
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
