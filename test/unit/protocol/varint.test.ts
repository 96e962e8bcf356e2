import { describe, expect, it } from 'vitest';
import { readVarint, sizeOfVarint, writeVarint, type Cursor } from '../../../src/protocol/varint.js';
import { mulberry32 } from './helpers.js';

function encode(value: number): Buffer {
  const buf = Buffer.alloc(16, 0xee);
  const end = writeVarint(buf, 0, value);
  expect(end).toBe(sizeOfVarint(value));
  return Buffer.from(buf.subarray(0, end));
}

function decode(bytes: Buffer | number[]): { value: number; pos: number } {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  const cur: Cursor = { pos: 0 };
  const value = readVarint(buf, cur, buf.length);
  return { value, pos: cur.pos };
}

/** Reference zigzag varint encoder in BigInt (protobuf sint64 / Kafka varlong). */
function referenceEncode(value: bigint): Buffer {
  let z = value >= 0n ? value << 1n : ((-value) << 1n) - 1n;
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return Buffer.from(out);
}

describe('zigzag varint: known encodings', () => {
  const cases: Array<[number, number[]]> = [
    [0, [0x00]],
    [-1, [0x01]],
    [1, [0x02]],
    [-2, [0x03]],
    [2, [0x04]],
    [63, [0x7e]],
    [-64, [0x7f]],
    [64, [0x80, 0x01]],
    [-65, [0x81, 0x01]],
    [150, [0xac, 0x02]],
    [300, [0xd8, 0x04]],
    [-300, [0xd7, 0x04]],
    [8191, [0xfe, 0x7f]],
    [8192, [0x80, 0x80, 0x01]],
    [2 ** 31 - 1, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
    [-(2 ** 31), [0xff, 0xff, 0xff, 0xff, 0x0f]],
    [2 ** 31, [0x80, 0x80, 0x80, 0x80, 0x10]],
  ];
  for (const [value, bytes] of cases) {
    it(`${value} <-> ${Buffer.from(bytes).toString('hex')}`, () => {
      expect(encode(value)).toEqual(Buffer.from(bytes));
      expect(decode(bytes)).toEqual({ value, pos: bytes.length });
    });
  }
});

describe('zigzag varint: round trips at boundaries', () => {
  const values: number[] = [];
  for (const base of [0, 63, 64, 8191, 8192, 2 ** 20, 2 ** 27, 2 ** 28, 2 ** 30, 2 ** 31, 2 ** 32, 2 ** 35, 2 ** 42, 2 ** 49]) {
    for (const d of [-1, 0, 1]) values.push(base + d, -(base + d));
  }
  // Fast path / long path seam in the encoder (|v| around 2^30) and decoder (4 vs 5 bytes, 2^27).
  values.push(0x3fffffff, 0x40000000, -0x40000000, -0x40000001);
  // Millisecond timestamps and deltas between far-apart ones.
  values.push(1_726_045_943_832, -1_726_045_943_832, 253_402_300_799_999 /* year 9999 */);
  // Up to the safe-integer limit on both sides. zigzag(v) needs 54 bits there and is not itself a
  // safe integer for negative v: regression for a long-path bug that returned +2^52 for -(2^52 + 1).
  values.push(2 ** 52, -(2 ** 52), 2 ** 52 - 1, -(2 ** 52 - 1), 2 ** 52 + 1, -(2 ** 52 + 1), 2 ** 52 + 3, -(2 ** 52 + 3));
  values.push(2 ** 53 - 1, 2 ** 53 - 2, -(2 ** 53 - 1), -(2 ** 53 - 2), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER);

  for (const v of [...new Set(values.map((x) => x + 0))]) {
    it(`round-trips ${v} and agrees with a BigInt reference encoder`, () => {
      const bytes = encode(v);
      expect(bytes).toEqual(referenceEncode(BigInt(v)));
      expect(decode(bytes)).toEqual({ value: v, pos: bytes.length });
    });
  }

  it('sizeOfVarint matches the bytes written for every length class', () => {
    for (let bits = 0; bits <= 53; bits++) {
      for (const v of [2 ** bits - 1, 2 ** bits, -(2 ** bits), -(2 ** bits) + 1]) {
        if (Math.abs(v) > Number.MAX_SAFE_INTEGER) continue;
        const buf = Buffer.alloc(16);
        expect(writeVarint(buf, 3, v) - 3).toBe(sizeOfVarint(v));
        expect(sizeOfVarint(v)).toBe(referenceEncode(BigInt(v)).length);
      }
    }
  });

  it('agrees with the BigInt reference for 5,000 random safe integers of every magnitude (seeded)', () => {
    const rand = mulberry32(2024);
    for (let i = 0; i < 5000; i++) {
      const magnitude = Math.floor(rand() * 2 ** Math.floor(rand() * 54));
      const v = Math.min(magnitude, Number.MAX_SAFE_INTEGER) * (rand() < 0.5 ? -1 : 1) + 0;
      const ref = referenceEncode(BigInt(v));
      expect(encode(v), String(v)).toEqual(ref);
      expect(decode(ref).value, String(v)).toBe(v);
    }
  });

  it('reads a sequence of varints, advancing the cursor', () => {
    const vals = [0, -1, 300, -(2 ** 31), 1_726_045_943_832, 7];
    const buf = Buffer.alloc(64);
    let p = 0;
    for (const v of vals) p = writeVarint(buf, p, v);
    const cur: Cursor = { pos: 0 };
    expect(vals.map(() => readVarint(buf, cur, p))).toEqual(vals);
    expect(cur.pos).toBe(p);
  });
});

describe('zigzag varint: malformed input', () => {
  it('throws RangeError on an empty buffer', () => {
    expect(() => decode([])).toThrow(RangeError);
  });

  it('throws RangeError when the continuation bit runs off the end (every length 1..9)', () => {
    for (let n = 1; n <= 9; n++) {
      const bytes = Array<number>(n).fill(0x80);
      expect(() => decode(bytes), `${n} bytes`).toThrow(RangeError);
    }
  });

  it('respects `end` even when the buffer itself goes on', () => {
    const buf = Buffer.from([0xd8, 0x04, 0x00]);
    expect(() => readVarint(buf, { pos: 0 }, 1)).toThrow(RangeError);
    expect(() => readVarint(buf, { pos: 3 }, 3)).toThrow(RangeError);
  });

  it('throws RangeError for a varint longer than 10 bytes, and leaves the cursor alone', () => {
    const bytes = Buffer.from([...Array<number>(10).fill(0xff), 0x01]);
    const cur: Cursor = { pos: 0 };
    expect(() => readVarint(bytes, cur, bytes.length)).toThrow(/longer than 10 bytes/);
    expect(cur.pos).toBe(0);
  });

  it('accepts a 10-byte varint (the longest a 64-bit value can need)', () => {
    // zigzag(2^52) = 2^53 uses 54 bits -> 8 bytes; pad with a redundant (non-canonical) tail.
    const bytes = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
    expect(decode(bytes)).toEqual({ value: 0, pos: 10 });
  });
});
