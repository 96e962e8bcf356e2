/**
 * Decoding RecordBatch v2 batches (layout in record-batch.ts) for consumers, tools and the log
 * cleaner. Never on the broker's produce or fetch path. Keys and values are views into the input
 * buffer (zero-copy) except for compressed batches, which decode into their own buffer.
 */
import { gunzipSync } from 'node:zlib';
import { ErrorCode, FerryError } from './errors.js';
import { BATCH_HEADER_BYTES, batchCrcMatches, Compression, COMPRESSION_MASK, LOG_OVERHEAD_BYTES, MAGIC_V2, readBatchHeader, TIMESTAMP_TYPE_BIT, type BatchHeader } from './record-batch.js';
import { readVarint, type Cursor } from './varint.js';

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
