/**
 * Zigzag varints as Kafka's record format uses them (protobuf's sint32/sint64 encoding).
 *
 * Values are JS numbers. 32-bit values take the bitwise fast path; larger ones (timestamp deltas)
 * use arithmetic, which is exact up to 2^53. Readers return the value and advance a cursor object so
 * the hot decode loop allocates nothing per field.
 */

export interface Cursor {
  pos: number;
}

/** Bytes needed for zigzag varint encoding of `value`. */
export function sizeOfVarint(value: number): number {
  if (value >= -0x40000000 && value < 0x40000000) {
    let v = ((value << 1) ^ (value >> 31)) >>> 0;
    let bytes = 1;
    while (v >= 0x80) {
      v >>>= 7;
      bytes++;
    }
    return bytes;
  }
  // zigzag = 2u + sign with u = |value| or |value| - 1; 2u has the same bit length and, unlike
  // -2 * value - 1, stays exact for every safe integer.
  let v = value >= 0 ? value * 2 : (-value - 1) * 2;
  let bytes = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    bytes++;
  }
  return bytes;
}

/** Writes `value` zigzag-encoded at `pos`; returns the position after it. */
export function writeVarint(buf: Buffer, pos: number, value: number): number {
  if (value >= -0x40000000 && value < 0x40000000) {
    let v = ((value << 1) ^ (value >> 31)) >>> 0;
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    return pos;
  }
  // zigzag = 2u + sign. Forming it as one number (-2 * value - 1) loses precision below -2^52 and
  // can even flip the sign, so emit its low 7 bits from u's low 6 bits and the sign, then u / 64.
  // (Here |value| >= 2^30, so the encoding always takes more than one byte.)
  const u = value >= 0 ? value : -value - 1;
  buf[pos++] = ((u % 64) * 2 + (value < 0 ? 1 : 0)) | 0x80;
  let v = Math.floor(u / 64);
  while (v >= 0x80) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** Max bytes of a 64-bit varint. Longer runs of continuation bits are corrupt input. */
const VARINT_MAX_BYTES = 10;

/** Reads a zigzag varint at `cur.pos` (bounded by `end`); throws RangeError on truncated/oversized input. */
export function readVarint(buf: Buffer, cur: Cursor, end: number): number {
  let pos = cur.pos;
  let b = pos < end ? buf[pos++]! : -1;
  if (b < 0) throw new RangeError('varint runs past the end of the buffer');
  if (b < 0x80) {
    cur.pos = pos;
    return (b >>> 1) ^ -(b & 1);
  }
  // Up to 4 bytes (28 bits) stay in 32-bit arithmetic.
  let result = b & 0x7f;
  let shift = 7;
  while (shift < 28) {
    if (pos >= end) throw new RangeError('varint runs past the end of the buffer');
    b = buf[pos++]!;
    result |= (b & 0x7f) << shift;
    if (b < 0x80) {
      cur.pos = pos;
      return (result >>> 1) ^ -(result & 1);
    }
    shift += 7;
  }
  // Long form: continue with float arithmetic. The zigzag value itself may need 54 bits, so keep its
  // low 28 bits (sign + low 27 bits of u) apart and add the high part to u: exact up to 2^53.
  let high = 0;
  let mul = 1;
  for (let i = 4; i < VARINT_MAX_BYTES; i++) {
    if (pos >= end) throw new RangeError('varint runs past the end of the buffer');
    b = buf[pos++]!;
    high += (b & 0x7f) * mul;
    if (b < 0x80) {
      cur.pos = pos;
      const u = (result >>> 1) + high * 2 ** 27;
      return result & 1 ? -u - 1 : u;
    }
    mul *= 128;
  }
  throw new RangeError('varint longer than 10 bytes');
}
