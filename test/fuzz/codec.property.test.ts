/**
 * Property tests for the RecordBatch v2 codec: random records round-trip through RecordBatchBuilder
 * and decodeBatch, validateBatches accepts every built batch (and concatenations), and any damage —
 * a flipped byte, a truncation, CRC-fixed garbage in the records — is always a FerryError, never
 * another exception and never silently accepted where the CRC covers it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, FerryError } from '../../src/protocol/errors.js';
import { computeBatchCrc, OFFSET_ATTRIBUTES, OFFSET_BATCH_LENGTH, OFFSET_CRC, validateBatches } from '../../src/protocol/record-batch.js';
import { RecordBatchBuilder, type RecordInput } from '../../src/protocol/record-builder.js';
import { decodeBatch } from '../../src/protocol/record-decoder.js';
import { fuzzSeed } from './seed.js';

const LIMITS = { maxBatchBytes: 64 * 1024 * 1024 };
const NUM_RUNS = 100;

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const nullableBytes = (max: number) => fc.oneof(fc.constant(null), fc.constant(Buffer.alloc(0)), bytes(max));
const headerArb = fc.record({
  key: fc.oneof(fc.constant(''), fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 })),
  value: fc.oneof(nullableBytes(24), fc.string({ unit: 'grapheme', maxLength: 8 })),
});
/** A record with a timestamp delta (possibly negative) relative to the batch's base timestamp. */
const recordArb = fc.record({
  key: fc.oneof(nullableBytes(40), fc.string({ maxLength: 16 })),
  value: nullableBytes(160),
  headers: fc.oneof(fc.constant(undefined), fc.array(headerArb, { maxLength: 4 })),
  tsDelta: fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -(2 ** 40), max: 2 ** 40 })),
});
const batchArb = fc.record({
  baseTimestamp: fc.integer({ min: 2 ** 41, max: 2 ** 42 }),
  records: fc.array(recordArb, { minLength: 1, maxLength: 500, size: 'max' }),
  producerId: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 2 ** 40 })),
});
type BatchSpec = { baseTimestamp: number; records: Array<{ key: Buffer | string | null; value: Buffer | null; headers: Array<{ key: string; value: Buffer | string | null }> | undefined; tsDelta: number }>; producerId: number };

function inputsOf(spec: BatchSpec): RecordInput[] {
  return spec.records.map((r, i) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: spec.baseTimestamp + (i === 0 ? 0 : r.tsDelta) }));
}

/** Builds one batch through the producer's incremental builder (small capacity so it grows on record 1 only if needed). */
function build(spec: BatchSpec): Buffer {
  const inputs = inputsOf(spec);
  for (let capacity = 256; ; capacity *= 2) {
    const b = new RecordBatchBuilder(capacity, { producerId: spec.producerId });
    if (inputs.every((r) => b.tryAppend(r))) return b.build();
  }
}

const asBuf = (v: Buffer | string | null | undefined): Buffer | null => (v === null || v === undefined ? null : Buffer.from(v));

function expectFerryError(fn: () => unknown, codes?: readonly ErrorCode[]): FerryError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  if (!(thrown instanceof FerryError)) throw new Error(`expected a FerryError, got ${thrown === undefined ? 'no error' : String((thrown as Error)?.stack ?? thrown)}`);
  if (codes && !codes.includes(thrown.code)) throw new Error(`expected one of ${codes.join(', ')}, got ${thrown.code}: ${thrown.message}`);
  return thrown;
}

/** Decoding without the CRC check must either succeed or throw a FerryError. */
function decodeOrFerryError(buf: Buffer): void {
  try {
    decodeBatch(buf, 0, { verifyCrc: false });
  } catch (err) {
    if (!(err instanceof FerryError)) throw new Error(`decodeBatch threw a non-FerryError: ${String((err as Error)?.stack ?? err)}`);
  }
}

describe('RecordBatch codec properties', () => {
  it('built batches round-trip through decodeBatch and pass validateBatches', () => {
    const seed = fuzzSeed('codec round-trip');
    fc.assert(
      fc.property(batchArb, (spec) => {
        const buf = build(spec);
        const v = validateBatches(buf, LIMITS);
        expect(v.batches).toHaveLength(1);
        expect(v.recordCount).toBe(spec.records.length);
        expect(v.offsetCount).toBe(spec.records.length);
        const inputs = inputsOf(spec);
        expect(v.maxTimestamp).toBe(Math.max(...inputs.map((r) => r.timestamp!)));
        const decoded = decodeBatch(buf);
        expect(decoded.header.recordCount).toBe(inputs.length);
        expect(decoded.header.producerId).toBe(spec.producerId);
        expect(decoded.records).toHaveLength(inputs.length);
        decoded.records.forEach((rec, i) => {
          const want = inputs[i]!;
          expect(rec.offset).toBe(i);
          expect(rec.timestamp).toBe(want.timestamp);
          expect(rec.key).toEqual(asBuf(want.key));
          expect(rec.value).toEqual(asBuf(want.value));
          expect(rec.headers).toEqual((want.headers ?? []).map((h) => ({ key: h.key, value: asBuf(h.value) })));
        });
      }),
      { seed, numRuns: NUM_RUNS },
    );
  });

  it('validateBatches accepts concatenations with the right counts and positions', () => {
    const seed = fuzzSeed('codec concatenation');
    fc.assert(
      fc.property(fc.array(batchArb.map((s) => ({ ...s, records: s.records.slice(0, 40) })), { minLength: 1, maxLength: 8 }), (specs) => {
        const bufs = specs.map(build);
        const all = Buffer.concat(bufs);
        const v = validateBatches(all, LIMITS);
        expect(v.batches.map((b) => b.size)).toEqual(bufs.map((b) => b.length));
        let pos = 0;
        v.batches.forEach((b, i) => {
          expect(b.pos).toBe(pos);
          expect(b.recordCount).toBe(specs[i]!.records.length);
          expect(decodeBatch(all, b.pos).records).toHaveLength(specs[i]!.records.length);
          pos += b.size;
        });
        const total = specs.reduce((n, s) => n + s.records.length, 0);
        expect(v.recordCount).toBe(total);
        expect(v.offsetCount).toBe(total);
      }),
      { seed, numRuns: NUM_RUNS },
    );
  });

  it('any single-byte corruption of the CRC-covered region is refused with a FerryError', () => {
    const seed = fuzzSeed('codec corruption');
    const small = batchArb.map((s) => ({ ...s, records: s.records.slice(0, 60) }));
    fc.assert(
      fc.property(small, fc.nat(), fc.integer({ min: 1, max: 255 }), (spec, at, mask) => {
        const buf = build(spec);
        const pos = OFFSET_ATTRIBUTES + (at % (buf.length - OFFSET_ATTRIBUTES));
        buf[pos] = buf[pos]! ^ mask;
        // CRC-32C detects every error burst of up to 32 bits, so the CRC check (which runs before the
        // attribute and count checks) always catches it.
        const err = expectFerryError(() => validateBatches(buf, LIMITS), [ErrorCode.CORRUPT_MESSAGE, ErrorCode.INVALID_RECORD, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE]);
        expect(err.code).toBe(ErrorCode.CORRUPT_MESSAGE);
        expectFerryError(() => decodeBatch(buf), [ErrorCode.CORRUPT_MESSAGE, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE]);
        decodeOrFerryError(buf);
      }),
      { seed, numRuns: NUM_RUNS * 4 },
    );
  });

  it('a flipped byte anywhere in the header after baseOffset is refused with a FerryError', () => {
    const seed = fuzzSeed('codec header corruption');
    const small = batchArb.map((s) => ({ ...s, records: s.records.slice(0, 10) }));
    fc.assert(
      fc.property(small, fc.integer({ min: OFFSET_BATCH_LENGTH, max: OFFSET_CRC + 3 }), fc.integer({ min: 1, max: 255 }), (spec, pos, mask) => {
        const buf = build(spec);
        if (pos >= 12 && pos < 16) return; // partitionLeaderEpoch: not covered, rewritten by the leader
        buf[pos] = buf[pos]! ^ mask;
        expectFerryError(() => validateBatches(buf, LIMITS), [ErrorCode.CORRUPT_MESSAGE, ErrorCode.MESSAGE_TOO_LARGE]);
        expectFerryError(() => decodeBatch(buf));
      }),
      { seed, numRuns: NUM_RUNS * 2 },
    );
  });

  it('any truncation is refused with a FerryError', () => {
    const seed = fuzzSeed('codec truncation');
    const small = batchArb.map((s) => ({ ...s, records: s.records.slice(0, 60) }));
    fc.assert(
      fc.property(fc.array(small, { minLength: 1, maxLength: 3 }), fc.nat(), (specs, at) => {
        const bufs = specs.map(build);
        const all = Buffer.concat(bufs);
        const cut = all.subarray(0, at % all.length);
        // A cut exactly at a batch boundary leaves whole batches: a valid (shorter) request.
        const boundaries = bufs.map((_, i) => bufs.slice(0, i + 1).reduce((n, b) => n + b.length, 0));
        const whole = boundaries.indexOf(cut.length);
        if (whole >= 0) expect(validateBatches(cut, LIMITS).batches).toHaveLength(whole + 1);
        else expectFerryError(() => validateBatches(cut, LIMITS), [ErrorCode.CORRUPT_MESSAGE, ErrorCode.INVALID_RECORD]);
        // decodeBatch reads the first batch only.
        if (cut.length < bufs[0]!.length) expectFerryError(() => decodeBatch(cut), [ErrorCode.CORRUPT_MESSAGE]);
        decodeOrFerryError(cut);
      }),
      { seed, numRuns: NUM_RUNS * 2 },
    );
  });

  it('garbage records under a valid header and CRC decode or fail with a FerryError, never another exception', () => {
    const seed = fuzzSeed('codec structured garbage');
    const small = batchArb.map((s) => ({ ...s, records: s.records.slice(0, 20) }));
    fc.assert(
      fc.property(small, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }), fc.option(fc.integer({ min: -5, max: 2 ** 31 - 1 })), (spec, edits, count) => {
        const buf = build(spec);
        for (const [at, byte] of edits) buf[61 + (at % Math.max(1, buf.length - 61))] = byte;
        if (count !== null) buf.writeInt32BE(count, 57);
        buf.writeUInt32BE(computeBatchCrc(buf, 0, buf.length), OFFSET_CRC);
        try {
          validateBatches(buf, LIMITS);
        } catch (err) {
          expect(err).toBeInstanceOf(FerryError);
        }
        decodeOrFerryError(buf);
      }),
      { seed, numRuns: NUM_RUNS * 4 },
    );
  });

  it('random bytes are refused by validateBatches with a FerryError', () => {
    const seed = fuzzSeed('codec random bytes');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (arr) => {
        const buf = Buffer.from(arr);
        expectFerryError(() => validateBatches(buf, LIMITS));
        decodeOrFerryError(buf);
      }),
      { seed, numRuns: NUM_RUNS * 4 },
    );
  });
});
