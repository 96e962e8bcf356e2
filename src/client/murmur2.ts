/**
 * Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), bit for bit, so a key lands on the
 * same partition number as it would with Kafka's Java client: `toPositive(murmur2(key)) % n`.
 *
 * Seed 0x9747b28c, m = 0x5bd1e995, r = 24, little-endian 4-byte words, signed 32-bit result.
 * Strings are hashed as their UTF-8 bytes; short ASCII strings skip the Buffer allocation.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Hashes the first `length` bytes; returns a signed 32-bit integer like Java's int. */
export function murmur2Bytes(data: Uint8Array, length: number = data.length): number {
  let h = SEED ^ length;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // Java's switch falls through: 3 → 2 → 1.
  const rest = length & 3;
  if (rest === 3) h ^= data[length4 + 2]! << 16;
  if (rest >= 2) h ^= data[length4 + 1]! << 8;
  if (rest >= 1) {
    h ^= data[length4]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Largest string hashed without allocating (pure ASCII only); longer ones go through a Buffer. */
const ASCII_FAST_PATH_CHARS_MAX = 64;
const scratch = new Uint8Array(ASCII_FAST_PATH_CHARS_MAX);

/** murmur2 of a key given as bytes or as a string (hashed as UTF-8). */
export function murmur2(key: Uint8Array | string): number {
  if (typeof key !== 'string') return murmur2Bytes(key);
  const n = key.length;
  if (n <= ASCII_FAST_PATH_CHARS_MAX) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c > 0x7f) {
        ascii = false;
        break;
      }
      scratch[i] = c;
    }
    if (ascii) return murmur2Bytes(scratch, n);
  }
  return murmur2Bytes(Buffer.from(key, 'utf8'));
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs, which differs for MIN_VALUE). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionForKey(key: Uint8Array | string, numPartitions: number): number {
  return toPositive(murmur2(key)) % numPartitions;
}
