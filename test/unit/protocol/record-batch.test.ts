import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ErrorCode, FerryError } from '../../../src/protocol/errors.js';
import { BATCH_HEADER_BYTES, OFFSET_ATTRIBUTES, OFFSET_CRC, batchBaseOffset, batchCrcMatches, batchLastOffset, batchMaxTimestamp, batchPartitionLeaderEpoch, batchRecordCount, batchSizeAt, iterateBatches, readBatchHeader, readInt64, stampBatch, stampLogAppendTime, validateBatches, writeInt64 } from '../../../src/protocol/record-batch.js';
import { RecordBatchBuilder, encodeRecordBatch, type RecordInput } from '../../../src/protocol/record-builder.js';
import { decodeBatch } from '../../../src/protocol/record-decoder.js';
import { ferryError, fixCrc } from './helpers.js';

const LIMITS = { maxBatchBytes: 64 << 20 };
const T0 = 1_726_045_943_832;

function roundTrip(records: RecordInput[], options = {}) {
  const buf = encodeRecordBatch(records, options);
  expect(batchCrcMatches(buf, 0, buf.length)).toBe(true);
  expect(validateBatches(buf, LIMITS).recordCount).toBe(records.length);
  return { buf, decoded: decodeBatch(buf) };
}

describe('int64 helpers', () => {
  it('round-trip negative, zero, 32-bit boundary and large safe values', () => {
    const buf = Buffer.alloc(8);
    for (const v of [0, 1, -1, -2, 2 ** 31, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, T0, -T0, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
      writeInt64(buf, 0, v);
      expect(buf.readBigInt64BE(0)).toBe(BigInt(v));
      expect(readInt64(buf, 0)).toBe(v);
    }
  });
});

describe('RecordBatchBuilder / decodeBatch round trips', () => {
  it('writes the documented defaults into the header', () => {
    const { buf, decoded } = roundTrip([{ key: 'k', value: 'v', timestamp: T0 }]);
    expect(decoded.header).toEqual({
      baseOffset: 0,
      batchLength: buf.length - 12,
      partitionLeaderEpoch: -1,
      magic: 2,
      crc: buf.readUInt32BE(OFFSET_CRC),
      attributes: 0,
      lastOffsetDelta: 0,
      baseTimestamp: T0,
      maxTimestamp: T0,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      recordCount: 1,
    });
  });

  it('writes the given producer id/epoch, base sequence, leader epoch and base offset', () => {
    const opts = { producerId: 2 ** 40 + 7, producerEpoch: 32767, baseSequence: 2 ** 31 - 1, partitionLeaderEpoch: 9, baseOffset: 2 ** 45 };
    const { decoded } = roundTrip([{ value: 'a', timestamp: 1 }, { value: 'b', timestamp: 2 }], opts);
    expect(decoded.header).toMatchObject({ ...opts, lastOffsetDelta: 1, recordCount: 2 });
    expect(decoded.records.map((r) => r.offset)).toEqual([2 ** 45, 2 ** 45 + 1]);
  });

  it('keeps null and empty keys/values apart', () => {
    const { decoded } = roundTrip([
      { key: null, value: null, timestamp: T0 },
      { key: '', value: '', timestamp: T0 },
      { key: Buffer.alloc(0), value: Buffer.alloc(0), timestamp: T0 },
      { value: 'no key given', timestamp: T0 },
      { key: 'k', value: null, timestamp: T0 }, // a tombstone
    ]);
    const r = decoded.records;
    expect(r[0]!.key).toBeNull();
    expect(r[0]!.value).toBeNull();
    for (const i of [1, 2]) {
      expect(r[i]!.key).toEqual(Buffer.alloc(0));
      expect(r[i]!.value).toEqual(Buffer.alloc(0));
    }
    expect(r[3]!.key).toBeNull();
    expect(r[3]!.value!.toString()).toBe('no key given');
    expect(r[4]!.key!.toString()).toBe('k');
    expect(r[4]!.value).toBeNull();
  });

  it('round-trips string (UTF-8) and binary Buffer keys and values', () => {
    const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const text = 'héllo wörld — 你好 — 🚢 ferry';
    const { decoded } = roundTrip([
      { key: text, value: text, timestamp: T0 },
      { key: allBytes, value: allBytes, timestamp: T0 },
    ]);
    expect(decoded.records[0]!.key!.toString('utf8')).toBe(text);
    expect(decoded.records[0]!.value!.length).toBe(Buffer.byteLength(text));
    expect(decoded.records[0]!.value!.toString('utf8')).toBe(text);
    expect(decoded.records[1]!.key).toEqual(allBytes);
    expect(decoded.records[1]!.value).toEqual(allBytes);
  });

  it('round-trips headers: several, null value, empty value, UTF-8 keys, string and Buffer values', () => {
    const headers = [
      { key: 'content-type', value: 'application/json' },
      { key: 'trace', value: null },
      { key: 'empty', value: '' },
      { key: 'ключ-🔑', value: Buffer.from([0, 255, 128]) },
      { key: '', value: 'empty key' },
      { key: 'content-type', value: 'duplicate keys are kept in order' },
    ];
    const { decoded } = roundTrip([
      { key: 'k', value: 'v', headers, timestamp: T0 },
      { key: 'k2', value: 'v2', headers: [], timestamp: T0 },
      { key: 'k3', value: 'v3', timestamp: T0 },
    ]);
    const got = decoded.records[0]!.headers.map((h) => ({ key: h.key, value: h.value }));
    expect(got).toEqual(
      headers.map((h) => ({ key: h.key, value: h.value === null ? null : Buffer.from(h.value as string | Buffer) })),
    );
    expect(decoded.records[1]!.headers).toEqual([]);
    expect(decoded.records[2]!.headers).toEqual([]);
  });

  it('handles timestamps out of order (negative deltas); maxTimestamp is the largest', () => {
    const ts = [T0, T0 - 1, T0 - 86_400_000, T0 + 5, T0 - 10 ** 9, 0];
    const { buf, decoded } = roundTrip(ts.map((t, i) => ({ value: String(i), timestamp: t })));
    expect(decoded.header.baseTimestamp).toBe(T0);
    expect(decoded.header.maxTimestamp).toBe(T0 + 5);
    expect(batchMaxTimestamp(buf, 0)).toBe(T0 + 5);
    expect(decoded.records.map((r) => r.timestamp)).toEqual(ts);
  });

  it('defaults a missing timestamp to now', () => {
    const before = Date.now();
    const { decoded } = roundTrip([{ value: 'x' }, { value: 'y' }]);
    const after = Date.now();
    for (const r of decoded.records) {
      expect(r.timestamp).toBeGreaterThanOrEqual(before);
      expect(r.timestamp).toBeLessThanOrEqual(after);
    }
  });

  it('encodes many records (10,000) in one batch with consecutive offset deltas', () => {
    const n = 10_000;
    const records = Array.from({ length: n }, (_, i) => ({ key: `key-${i}`, value: `value-${i}`.repeat(1 + (i % 7)), timestamp: T0 + i }));
    const { buf, decoded } = roundTrip(records, { baseOffset: 1000 });
    expect(decoded.header).toMatchObject({ recordCount: n, lastOffsetDelta: n - 1, baseTimestamp: T0, maxTimestamp: T0 + n - 1 });
    expect(batchLastOffset(buf, 0)).toBe(1000 + n - 1);
    decoded.records.forEach((r, i) => {
      expect(r.offset).toBe(1000 + i);
      expect(r.timestamp).toBe(T0 + i);
      expect(r.key!.toString()).toBe(`key-${i}`);
    });
  });

  it('encodeRecordBatch accepts records totalling more than its initial 1 KiB buffer', () => {
    // Regression: it used to throw "unreachable: builder refused a record" past ~1 KiB.
    const records = Array.from({ length: 50 }, (_, i) => ({ value: Buffer.alloc(100, i), timestamp: T0 }));
    const { decoded } = roundTrip(records);
    expect(decoded.records).toHaveLength(50);
    expect(decoded.records[49]!.value).toEqual(Buffer.alloc(100, 49));
  });

  it('encodeRecordBatch gives records without a timestamp one shared "now"', () => {
    const records = Array.from({ length: 300 }, () => ({ value: 'x'.repeat(20) }));
    const { decoded } = roundTrip(records);
    expect(new Set(decoded.records.map((r) => r.timestamp)).size).toBe(1);
  });

  it('gzip: smaller for compressible data, attributes = 1, same records back', () => {
    const records = Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 10}`, value: 'compress me please '.repeat(10), headers: [{ key: 'h', value: String(i) }], timestamp: T0 + i }));
    const plain = encodeRecordBatch(records);
    const { buf, decoded } = roundTrip(records, { compression: 'gzip' });
    expect(buf.length).toBeLessThan(plain.length / 5);
    expect(readBatchHeader(buf).attributes).toBe(1);
    expect(buf.subarray(BATCH_HEADER_BYTES, BATCH_HEADER_BYTES + 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const want = decodeBatch(plain).records;
    expect(decoded.records).toEqual(want);
    // Apart from length, attributes and CRC the headers agree.
    expect({ ...decoded.header, batchLength: 0, attributes: 0, crc: 0 }).toEqual({ ...readBatchHeader(plain), batchLength: 0, attributes: 0, crc: 0 });
  });

  it('refuses compression codecs this SDK does not implement', () => {
    const b = new RecordBatchBuilder(1024, { compression: 'zstd' });
    b.tryAppend({ value: 'x', timestamp: T0 });
    ferryError(() => b.build(), ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  });

  it('build() on an empty builder throws', () => {
    expect(() => new RecordBatchBuilder(1024).build()).toThrow(/empty/);
  });

  it('returns keys and values as views into the input buffer (no copies)', () => {
    const buf = encodeRecordBatch([{ key: 'key', value: 'value', timestamp: T0 }]);
    const r = decodeBatch(buf).records[0]!;
    expect(r.key!.buffer).toBe(buf.buffer);
    expect(r.value!.buffer).toBe(buf.buffer);
  });
});

describe('RecordBatchBuilder capacity (batch.size)', () => {
  it('tryAppend returns false once the capacity is reached, and the batch is still valid', () => {
    const b = new RecordBatchBuilder(1024);
    let n = 0;
    while (b.tryAppend({ key: `k${n}`, value: Buffer.alloc(100, n), timestamp: T0 + n })) n++;
    expect(n).toBeGreaterThan(5);
    expect(b.recordCount).toBe(n);
    expect(b.sizeInBytes).toBeLessThanOrEqual(1024);
    const buf = b.build();
    expect(buf.length).toBe(b.sizeInBytes);
    expect(decodeBatch(buf).records).toHaveLength(n);
  });

  it('accepts a single record larger than the capacity (grows), then refuses the next one', () => {
    const b = new RecordBatchBuilder(256);
    const big = Buffer.alloc(100_000, 7);
    expect(b.tryAppend({ key: 'big', value: big, headers: [{ key: 'h', value: 'v' }], timestamp: T0 })).toBe(true);
    expect(b.sizeInBytes).toBeGreaterThan(100_000);
    expect(b.tryAppend({ value: 'small', timestamp: T0 })).toBe(false);
    const buf = b.build();
    const d = decodeBatch(buf);
    expect(d.records).toHaveLength(1);
    expect(d.records[0]!.value).toEqual(big);
    expect(d.records[0]!.headers[0]!.value!.toString()).toBe('v');
    expect(validateBatches(buf, LIMITS).recordCount).toBe(1);
  });

  it('a large first record after a grow keeps earlier header bytes intact (gzip too)', () => {
    const b = new RecordBatchBuilder(100, { compression: 'gzip', producerId: 5, producerEpoch: 1, baseSequence: 10 });
    expect(b.tryAppend({ value: 'y'.repeat(5000), timestamp: T0 })).toBe(true);
    const d = decodeBatch(b.build());
    expect(d.header).toMatchObject({ producerId: 5, producerEpoch: 1, baseSequence: 10, recordCount: 1 });
    expect(d.records[0]!.value!.toString()).toBe('y'.repeat(5000));
  });
});

describe('decodeBatch: corrupt input', () => {
  const good = () => encodeRecordBatch([{ key: 'a', value: 'b', timestamp: T0 }, { key: 'c', value: 'd', timestamp: T0 }]);

  it('CRC mismatch -> CORRUPT_MESSAGE, unless verifyCrc is false', () => {
    const buf = good();
    buf[buf.length - 2] ^= 0x01; // inside the last record's value
    ferryError(() => decodeBatch(buf), ErrorCode.CORRUPT_MESSAGE);
    expect(decodeBatch(buf, 0, { verifyCrc: false }).records[1]!.value!.toString()).toBe('e');
  });

  it('truncated header or body -> CORRUPT_MESSAGE', () => {
    const buf = good();
    ferryError(() => decodeBatch(buf.subarray(0, 60)), ErrorCode.CORRUPT_MESSAGE);
    ferryError(() => decodeBatch(buf.subarray(0, buf.length - 1)), ErrorCode.CORRUPT_MESSAGE);
  });

  it('wrong magic -> CORRUPT_MESSAGE', () => {
    const buf = good();
    buf[16] = 1;
    ferryError(() => decodeBatch(buf), ErrorCode.CORRUPT_MESSAGE);
  });

  it('a record claiming more bytes than the batch has -> CORRUPT_MESSAGE (CRC fixed up)', () => {
    const buf = good();
    buf[BATCH_HEADER_BYTES] = 0x7e; // first record's length varint: 63 bytes
    fixCrc(buf);
    ferryError(() => decodeBatch(buf), ErrorCode.CORRUPT_MESSAGE);
  });

  it('a key length running past its record -> CORRUPT_MESSAGE (CRC fixed up)', () => {
    const buf = good();
    buf[BATCH_HEADER_BYTES + 4] = 0x20; // first record's key length: 16
    fixCrc(buf);
    ferryError(() => decodeBatch(buf), ErrorCode.CORRUPT_MESSAGE);
  });

  it('recordCount larger than the records present -> CORRUPT_MESSAGE (CRC fixed up)', () => {
    const buf = good();
    buf.writeInt32BE(3, 57);
    fixCrc(buf);
    ferryError(() => decodeBatch(buf), ErrorCode.CORRUPT_MESSAGE);
  });

  it('a gzip payload that does not decompress -> CORRUPT_MESSAGE, not a zlib error', () => {
    // Regression: gunzipSync errors used to escape decodeBatch as plain Errors.
    const buf = encodeRecordBatch([{ value: 'hello '.repeat(50), timestamp: T0 }], { compression: 'gzip' });
    buf[BATCH_HEADER_BYTES + 12] ^= 0xff; // inside the deflate stream
    fixCrc(buf);
    ferryError(() => decodeBatch(buf), ErrorCode.CORRUPT_MESSAGE);
    const truncated = Buffer.concat([buf.subarray(0, BATCH_HEADER_BYTES), gzipSync(Buffer.from('x')).subarray(0, 8)]);
    truncated.writeInt32BE(truncated.length - 12, 8);
    fixCrc(truncated);
    ferryError(() => decodeBatch(truncated), ErrorCode.CORRUPT_MESSAGE);
  });
});

describe('leader-side stamping', () => {
  it('stampBatch rewrites baseOffset and leader epoch without invalidating the CRC', () => {
    const buf = encodeRecordBatch([{ value: 'a', timestamp: T0 }, { value: 'b', timestamp: T0 + 1 }]);
    const crc = buf.readUInt32BE(OFFSET_CRC);
    stampBatch(buf, 0, 123_456_789_012, 42);
    expect(buf.readUInt32BE(OFFSET_CRC)).toBe(crc);
    expect(batchCrcMatches(buf, 0, buf.length)).toBe(true);
    expect(batchBaseOffset(buf, 0)).toBe(123_456_789_012);
    expect(batchPartitionLeaderEpoch(buf, 0)).toBe(42);
    expect(batchLastOffset(buf, 0)).toBe(123_456_789_013);
    expect(validateBatches(buf, LIMITS).recordCount).toBe(2);
    expect(decodeBatch(buf).records.map((r) => r.offset)).toEqual([123_456_789_012, 123_456_789_013]);
  });

  it('stampBatch works at a position inside a larger buffer', () => {
    const a = encodeRecordBatch([{ value: 'a', timestamp: T0 }]);
    const b = encodeRecordBatch([{ value: 'b', timestamp: T0 }, { value: 'c', timestamp: T0 }]);
    const both = Buffer.concat([a, b]);
    stampBatch(both, 0, 10, 3);
    stampBatch(both, a.length, 11, 3);
    expect(validateBatches(both, LIMITS).offsetCount).toBe(3);
    expect(decodeBatch(both, a.length).records.map((r) => r.offset)).toEqual([11, 12]);
  });

  it('stampLogAppendTime sets the timestamp type and maxTimestamp and keeps the CRC valid', () => {
    for (const compression of ['none', 'gzip'] as const) {
      const buf = encodeRecordBatch([{ value: 'a', timestamp: T0 }, { value: 'b', timestamp: T0 + 9 }], { compression });
      const now = T0 + 60_000;
      stampLogAppendTime(buf, 0, now);
      expect(batchCrcMatches(buf, 0, buf.length)).toBe(true);
      expect(validateBatches(buf, LIMITS).maxTimestamp).toBe(now);
      const d = decodeBatch(buf);
      expect(d.header.attributes & 0x08).toBe(0x08);
      expect(d.header.attributes & 0x07).toBe(compression === 'gzip' ? 1 : 0);
      expect(d.header.maxTimestamp).toBe(now);
      expect(d.records.map((r) => r.timestamp)).toEqual([now, now]);
    }
  });

  it('stampLogAppendTime at a position inside a larger buffer leaves the neighbours alone', () => {
    const a = encodeRecordBatch([{ value: 'a', timestamp: T0 }]);
    const b = encodeRecordBatch([{ value: 'b', timestamp: T0 }]);
    const both = Buffer.concat([a, b]);
    stampLogAppendTime(both, a.length, T0 + 1);
    expect(both.subarray(0, a.length)).toEqual(a);
    expect(both.readInt16BE(OFFSET_ATTRIBUTES)).toBe(0);
    expect(validateBatches(both, LIMITS).batches.map((x) => x.maxTimestamp)).toEqual([T0, T0 + 1]);
  });
});

describe('header accessors and iterateBatches', () => {
  it('read sizes, counts and offsets of concatenated batches', () => {
    const a = encodeRecordBatch([{ value: 'a', timestamp: T0 }], { baseOffset: 5 });
    const b = encodeRecordBatch([{ value: 'b', timestamp: T0 }, { value: 'c', timestamp: T0 + 3 }], { baseOffset: 6 });
    const both = Buffer.concat([a, b]);
    expect(batchSizeAt(both, 0)).toBe(a.length);
    expect(batchSizeAt(both, a.length)).toBe(b.length);
    expect(batchRecordCount(both, a.length)).toBe(2);
    expect(batchLastOffset(both, a.length)).toBe(7);
    expect(batchMaxTimestamp(both, a.length)).toBe(T0 + 3);
    expect([...iterateBatches(both)]).toEqual([
      { pos: 0, size: a.length },
      { pos: a.length, size: b.length },
    ]);
  });

  it('iterateBatches stops before a partial trailing batch (a fetch cut by a byte limit)', () => {
    const a = encodeRecordBatch([{ value: 'a', timestamp: T0 }]);
    const b = encodeRecordBatch([{ value: 'b', timestamp: T0 }]);
    const both = Buffer.concat([a, b]);
    for (const cut of [a.length, a.length + 5, a.length + 12, both.length - 1]) {
      expect([...iterateBatches(both.subarray(0, cut))]).toEqual([{ pos: 0, size: a.length }]);
    }
    expect([...iterateBatches(Buffer.alloc(0))]).toEqual([]);
    expect([...iterateBatches(a.subarray(0, 11))]).toEqual([]);
  });

  it('FerryError carries the retriable flag for CORRUPT_MESSAGE', () => {
    const buf = encodeRecordBatch([{ value: 'a', timestamp: T0 }]);
    buf[buf.length - 1] ^= 1;
    const err = ferryError(() => decodeBatch(buf), ErrorCode.CORRUPT_MESSAGE);
    expect(err).toBeInstanceOf(FerryError);
    expect(err.retriable).toBe(true);
  });
});
