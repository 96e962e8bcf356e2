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
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
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
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
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
  // Long form: continue with float arithmetic (exact up to 2^53).
  let value = result >>> 0;
  let mul = 2 ** 28;
  for (let i = 4; i < VARINT_MAX_BYTES; i++) {
    if (pos >= end) throw new RangeError('varint runs past the end of the buffer');
    b = buf[pos++]!;
    value += (b & 0x7f) * mul;
    if (b < 0x80) {
      cur.pos = pos;
      // zigzag decode without bitwise ops
      return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    }
    mul *= 128;
  }
  throw new RangeError('varint longer than 10 bytes');
}
