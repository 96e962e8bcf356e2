/**
 * Protobuf wire-format helpers for the hand-written encoders (topic-results-encoder.ts,
 * produce-request-encoder.ts): varints of int32/int64 fields held as JS numbers (negative ones as
 * ten-byte two's complement, as protobuf encodes them), single-byte tags (field numbers below 16).
 */

/** Bytes of the varint of an int32/int64 value. */
export function varintSize(n: number): number {
  if (n < 0) return 10;
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes the varint of an int32/int64 value at `pos`; returns the position after it. */
export function writeVarint(buf: Buffer, pos: number, n: number): number {
  if (n < 0) {
    let v = BigInt.asUintN(64, BigInt(n));
    for (let i = 0; i < 9; i++) {
      buf[pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    buf[pos++] = Number(v);
    return pos;
  }
  while (n >= 128) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** Size of an integer field (tag + varint); 0 for the proto3 default 0, which is not written. */
export function fieldSize(n: number): number {
  return n ? 1 + varintSize(n) : 0;
}

/** Writes an integer field unless it is 0; returns the position after it. */
export function writeIntField(buf: Buffer, pos: number, tag: number, n: number): number {
  if (!n) return pos;
  buf[pos++] = tag;
  return writeVarint(buf, pos, n);
}

/** Size of a length-delimited field of `length` bytes (tag + length + bytes). */
export function lengthDelimitedSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/** Writes the key and length of a length-delimited field; its `length` bytes go at the returned position. */
export function writeLengthPrefix(buf: Buffer, pos: number, tag: number, length: number): number {
  buf[pos++] = tag;
  return writeVarint(buf, pos, length);
}

/** Writes a string field whose UTF-8 length (`bytes`, known from sizing) is not 0. */
export function writeStringField(buf: Buffer, pos: number, tag: number, value: string, bytes: number): number {
  pos = writeLengthPrefix(buf, pos, tag, bytes);
  return pos + buf.write(value, pos, 'utf8');
}
