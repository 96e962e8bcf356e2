import { describe, expect, it } from 'vitest';
import { ErrorCode, FerryError } from '../../../src/protocol/errors.js';
import { BATCH_HEADER_BYTES, OFFSET_ATTRIBUTES, OFFSET_BASE_TIMESTAMP, OFFSET_BATCH_LENGTH, OFFSET_CRC, OFFSET_LAST_OFFSET_DELTA, OFFSET_MAGIC, OFFSET_RECORD_COUNT, batchCrcMatches, stampBatch, stampLogAppendTime, validateBatches } from '../../../src/protocol/record-batch.js';
import { encodeRecordBatch, type BatchOptions } from '../../../src/protocol/record-builder.js';
import { decodeBatch } from '../../../src/protocol/record-decoder.js';
import { ferryError, fixCrc, mulberry32 } from './helpers.js';

const LIMITS = { maxBatchBytes: 1 << 20 };
const T0 = 1_700_000_000_000;

function batch(n: number, options: BatchOptions = {}, ts = T0): Buffer {
  return encodeRecordBatch(
    Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `value-${i}`, headers: [{ key: 'h', value: 'x' }], timestamp: ts + i })),
    options,
  );
}

describe('validateBatches: accepted input', () => {
  it('accepts concatenated batches and reports positions, sizes and counts', () => {
    const a = batch(1);
    const b = batch(5, {}, T0 + 1000);
    const c = batch(3, { compression: 'gzip' }, T0 - 1000);
    const all = Buffer.concat([a, b, c]);
    expect(validateBatches(all, LIMITS)).toEqual({
      batches: [
        { pos: 0, size: a.length, recordCount: 1, maxTimestamp: T0 },
        { pos: a.length, size: b.length, recordCount: 5, maxTimestamp: T0 + 1004 },
        { pos: a.length + b.length, size: c.length, recordCount: 3, maxTimestamp: T0 - 998 },
      ],
      recordCount: 9,
      offsetCount: 9,
      maxTimestamp: T0 + 1004,
    });
  });

  it('accepts a batch of exactly maxBatchBytes', () => {
    const b = batch(4);
    expect(validateBatches(b, { maxBatchBytes: b.length }).recordCount).toBe(4);
  });

  it('accepts idempotent batches and batches whose codec the broker only stores (snappy/lz4/zstd)', () => {
    expect(validateBatches(batch(2, { producerId: 77, producerEpoch: 3, baseSequence: 100 }), LIMITS).recordCount).toBe(2);
    for (const codec of [2, 3, 4]) {
      const b = batch(2);
      b.writeInt16BE(codec, OFFSET_ATTRIBUTES);
      fixCrc(b);
      expect(validateBatches(b, LIMITS).recordCount).toBe(2);
    }
  });

  it('ignores baseOffset and partitionLeaderEpoch (not covered by the CRC; the leader overwrites them)', () => {
    const b = batch(3);
    stampBatch(b, 0, 9_999_999_999, 77);
    expect(validateBatches(b, LIMITS).offsetCount).toBe(3);
    b.fill(0xff, 0, 8);
    b.fill(0xab, 12, 16);
    expect(validateBatches(b, LIMITS).offsetCount).toBe(3);
  });

  it('accepts what stampLogAppendTime produced (CRC stays valid)', () => {
    const b = batch(3);
    stampLogAppendTime(b, 0, T0 + 5000);
    expect(validateBatches(b, LIMITS)).toMatchObject({ recordCount: 3, maxTimestamp: T0 + 5000 });
  });
});

describe('validateBatches: CORRUPT_MESSAGE', () => {
  it('empty input is refused (INVALID_RECORD)', () => {
    ferryError(() => validateBatches(Buffer.alloc(0), LIMITS), ErrorCode.INVALID_RECORD);
  });

  it('one flipped bit anywhere the CRC covers -> CRC mismatch', () => {
    const good = batch(4);
    for (let pos = OFFSET_ATTRIBUTES; pos < good.length; pos++) {
      const b = Buffer.from(good);
      b[pos] ^= 0x10;
      const err = ferryError(() => validateBatches(b, LIMITS), ErrorCode.CORRUPT_MESSAGE);
      expect(err.message, `byte ${pos}`).toMatch(/CRC/);
    }
  });

  it('a damaged CRC field itself -> CRC mismatch', () => {
    const b = batch(2);
    b[OFFSET_CRC + 3] ^= 0x01;
    ferryError(() => validateBatches(b, LIMITS), ErrorCode.CORRUPT_MESSAGE);
  });

  it('a bad second batch fails the whole request', () => {
    const b2 = batch(2);
    b2[b2.length - 3] ^= 0xff;
    ferryError(() => validateBatches(Buffer.concat([batch(1), b2]), LIMITS), ErrorCode.CORRUPT_MESSAGE);
  });

  it('truncated at every length -> CORRUPT_MESSAGE', () => {
    const good = batch(3);
    for (let len = 1; len < good.length; len++) {
      ferryError(() => validateBatches(good.subarray(0, len), LIMITS), ErrorCode.CORRUPT_MESSAGE);
    }
    const two = Buffer.concat([good, good]);
    for (const len of [good.length + 1, good.length + 60, good.length + 61, two.length - 1]) {
      ferryError(() => validateBatches(two.subarray(0, len), LIMITS), ErrorCode.CORRUPT_MESSAGE);
    }
  });

  it('batchLength bigger than the buffer -> CORRUPT_MESSAGE', () => {
    const b = batch(2);
    b.writeInt32BE(b.length - 12 + 1, OFFSET_BATCH_LENGTH);
    const err = ferryError(() => validateBatches(b, LIMITS), ErrorCode.CORRUPT_MESSAGE);
    expect(err.message).toMatch(/remain/);
    b.writeInt32BE(0x7fffffff, OFFSET_BATCH_LENGTH);
    ferryError(() => validateBatches(b, { maxBatchBytes: Number.MAX_SAFE_INTEGER }), ErrorCode.CORRUPT_MESSAGE);
  });

  it('batchLength smaller than a header (or negative) -> CORRUPT_MESSAGE', () => {
    for (const len of [0, 1, 48, -1, -0x80000000]) {
      const b = batch(2);
      b.writeInt32BE(len, OFFSET_BATCH_LENGTH);
      ferryError(() => validateBatches(b, LIMITS), ErrorCode.CORRUPT_MESSAGE);
    }
  });

  it('batchLength shorter than the data: the leftover does not parse as a batch -> CORRUPT_MESSAGE', () => {
    const b = batch(3);
    b.writeInt32BE(b.length - 12 - 10, OFFSET_BATCH_LENGTH);
    ferryError(() => validateBatches(b, LIMITS), ErrorCode.CORRUPT_MESSAGE);
  });

  it('wrong magic (0, 1, 3, -1) -> CORRUPT_MESSAGE', () => {
    for (const magic of [0, 1, 3, -1]) {
      const b = batch(2);
      b.writeInt8(magic, OFFSET_MAGIC); // magic sits before the CRC-covered range
      const err = ferryError(() => validateBatches(b, LIMITS), ErrorCode.CORRUPT_MESSAGE);
      expect(err.message).toMatch(/magic/);
    }
  });

  it('a record count that cannot fit in the batch bytes -> CORRUPT_MESSAGE', () => {
    const b = batch(2);
    b.writeInt32BE(1000, OFFSET_RECORD_COUNT);
    b.writeInt32BE(999, OFFSET_LAST_OFFSET_DELTA);
    fixCrc(b);
    ferryError(() => validateBatches(b, LIMITS), ErrorCode.CORRUPT_MESSAGE);
  });
});

describe('validateBatches: MESSAGE_TOO_LARGE, INVALID_RECORD, UNSUPPORTED_COMPRESSION_TYPE', () => {
  it('a batch over maxBatchBytes -> MESSAGE_TOO_LARGE (per batch, not per request)', () => {
    const b = batch(4);
    ferryError(() => validateBatches(b, { maxBatchBytes: b.length - 1 }), ErrorCode.MESSAGE_TOO_LARGE);
    const big = encodeRecordBatch([{ value: Buffer.alloc(2 << 20), timestamp: T0 }]);
    ferryError(() => validateBatches(big, LIMITS), ErrorCode.MESSAGE_TOO_LARGE);
    // Several batches each under the limit pass even when together they are over it.
    const three = Buffer.concat([b, b, b]);
    expect(validateBatches(three, { maxBatchBytes: b.length }).recordCount).toBe(12);
  });

  it('recordCount 0 or negative -> INVALID_RECORD', () => {
    for (const count of [0, -1]) {
      const b = batch(1);
      b.writeInt32BE(count, OFFSET_RECORD_COUNT);
      b.writeInt32BE(count - 1, OFFSET_LAST_OFFSET_DELTA);
      fixCrc(b);
      ferryError(() => validateBatches(b, LIMITS), ErrorCode.INVALID_RECORD);
    }
  });

  it('lastOffsetDelta not matching recordCount - 1 -> INVALID_RECORD', () => {
    for (const delta of [0, 2, 3, -1, 1000]) {
      const b = batch(2);
      b.writeInt32BE(delta, OFFSET_LAST_OFFSET_DELTA);
      fixCrc(b);
      const err = ferryError(() => validateBatches(b, LIMITS), ErrorCode.INVALID_RECORD);
      expect(err.message).toMatch(/lastOffsetDelta/);
    }
  });

  it('transactional or control bit -> INVALID_RECORD', () => {
    for (const bits of [0x10, 0x20, 0x30, 0x11]) {
      const b = batch(2);
      b.writeInt16BE(bits, OFFSET_ATTRIBUTES);
      fixCrc(b);
      ferryError(() => validateBatches(b, LIMITS), ErrorCode.INVALID_RECORD);
    }
  });

  it('unknown compression codec 5..7 -> UNSUPPORTED_COMPRESSION_TYPE', () => {
    for (const codec of [5, 6, 7]) {
      const b = batch(2);
      b.writeInt16BE(codec, OFFSET_ATTRIBUTES);
      fixCrc(b);
      ferryError(() => validateBatches(b, LIMITS), ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    }
  });
});

describe('fuzz: only FerryErrors escape', () => {
  function onlyFerryErrors(fn: () => unknown, what: string): 'ok' | 'ferry' {
    try {
      fn();
      return 'ok';
    } catch (err) {
      if (!(err instanceof FerryError)) {
        throw new Error(`${what}: threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
      }
      return 'ferry';
    }
  }

  it('1,000 random buffers of random lengths (seeded)', () => {
    const rand = mulberry32(0xf3a7);
    let rejected = 0;
    for (let i = 0; i < 1000; i++) {
      const len = Math.floor(rand() * (i % 10 === 0 ? 4096 : 300));
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = Math.floor(rand() * 256);
      // Make a share of them look plausible so the checks past the first ones run too.
      if (len >= BATCH_HEADER_BYTES && rand() < 0.5) {
        buf.writeInt32BE(Math.min(len - 12, 49 + Math.floor(rand() * len)), OFFSET_BATCH_LENGTH);
        buf[OFFSET_MAGIC] = 2;
      }
      if (onlyFerryErrors(() => validateBatches(buf, { maxBatchBytes: 1 + Math.floor(rand() * 8192) }), `buffer #${i}`) === 'ferry') rejected++;
      onlyFerryErrors(() => decodeBatch(buf), `decode #${i}`);
      onlyFerryErrors(() => decodeBatch(buf, 0, { verifyCrc: false }), `decode (no CRC) #${i}`);
    }
    expect(rejected).toBe(1000); // random bytes never pass the CRC
  });

  it('2,000 mutated valid batches (some with the CRC fixed up so the record parser is reached)', () => {
    const rand = mulberry32(42);
    const seeds = [
      batch(1),
      batch(7, { producerId: 1, producerEpoch: 0, baseSequence: 0 }),
      batch(5, { compression: 'gzip' }),
      encodeRecordBatch([{ key: null, value: null, headers: [{ key: 'k', value: null }], timestamp: T0 }]),
    ];
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(seeds[i % seeds.length]!);
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips; f++) {
        const pos = OFFSET_ATTRIBUTES + Math.floor(rand() * (b.length - OFFSET_ATTRIBUTES));
        b[pos] = Math.floor(rand() * 256);
      }
      if (rand() < 0.7 && b.readInt32BE(OFFSET_BATCH_LENGTH) + 12 === b.length) fixCrc(b);
      const outcome = onlyFerryErrors(() => validateBatches(b, LIMITS), `mutant #${i}`);
      if (outcome === 'ok') expect(batchCrcMatches(b, 0, b.length)).toBe(true);
      onlyFerryErrors(() => decodeBatch(b), `decode mutant #${i}`);
      onlyFerryErrors(() => decodeBatch(b, 0, { verifyCrc: false }), `decode (no CRC) mutant #${i}`);
    }
  });

  it('a timestamp field can hold anything without breaking validation', () => {
    const b = batch(2);
    b.fill(0xff, OFFSET_BASE_TIMESTAMP, OFFSET_BASE_TIMESTAMP + 16);
    fixCrc(b);
    expect(validateBatches(b, LIMITS).maxTimestamp).toBe(-1);
  });
});
