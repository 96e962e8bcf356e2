import { describe, expect, it } from 'vitest';
import { murmur2, murmur2Bytes, partitionForKey, toPositive } from '../../../src/client/murmur2.js';

// Independent reference: Kafka's Utils.murmur2 transcribed with BigInt 32-bit arithmetic, so the
// production Math.imul path is checked against different code.
function referenceMurmur2(data: Uint8Array): number {
  const mask = 0xffffffffn;
  const m = 0x5bd1e995n;
  const mul = (a: bigint, b: bigint) => (a * b) & mask;
  let h = (0x9747b28cn ^ BigInt(data.length)) & mask;
  const len4 = data.length - (data.length % 4);
  for (let i = 0; i < len4; i += 4) {
    let k = BigInt(data[i]!) | (BigInt(data[i + 1]!) << 8n) | (BigInt(data[i + 2]!) << 16n) | (BigInt(data[i + 3]!) << 24n);
    k = mul(k, m);
    k ^= k >> 24n;
    k = mul(k, m);
    h = mul(h, m);
    h ^= k;
  }
  const rest = data.length % 4;
  if (rest >= 3) h ^= BigInt(data[len4 + 2]!) << 16n;
  if (rest >= 2) h ^= BigInt(data[len4 + 1]!) << 8n;
  if (rest >= 1) {
    h ^= BigInt(data[len4]!);
    h = mul(h, m);
  }
  h ^= h >> 13n;
  h = mul(h, m);
  h ^= h >> 15n;
  return Number(BigInt.asIntN(32, h));
}

describe('murmur2', () => {
  // From Kafka's clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java (testMurmur2).
  const kafkaUtilsTest: Record<string, number> = {
    '21': -973932308,
    foobar: -790332482,
    'a-little-bit-long-string': -985981536,
    'a-little-bit-longer-string': -1486304829,
    lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8: -58897971,
    abc: 479470107,
  };
  // From KafkaJS's Java-compatible partitioner tests (generated with Kafka's Java client).
  const kafkaJsJava: Record<string, number> = {
    '0': 971027396,
    '1': -1993445489,
    '128': -326012175,
    '2187': -1508407203,
    '16384': -325739742,
    '78125': -1654490814,
    '279936': 1462227128,
    '823543': -2014198330,
    '2097152': 607668903,
    '4782969': -1182699775,
    '10000000': -1830336757,
  };

  it('matches Kafka UtilsTest values', () => {
    for (const [key, expected] of Object.entries(kafkaUtilsTest)) {
      expect(murmur2(key), key).toBe(expected);
      expect(murmur2(Buffer.from(key)), key).toBe(expected);
    }
  });

  it('matches Kafka Java client values used by KafkaJS', () => {
    for (const [key, expected] of Object.entries(kafkaJsJava)) expect(murmur2(key), key).toBe(expected);
  });

  it('matches the BigInt reference on every tail length, empty and multi-byte UTF-8 keys', () => {
    const keys = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'héllo', 'ключ', '键值', '🚀 rocket', 'x'.repeat(100), 'é'.repeat(70)];
    for (const k of keys) {
      const bytes = Buffer.from(k, 'utf8');
      expect(murmur2(k), k).toBe(referenceMurmur2(bytes));
      expect(murmur2Bytes(bytes), k).toBe(referenceMurmur2(bytes));
    }
    // Fixed expectations so a change in the reference would also be caught.
    expect(murmur2('')).toBe(referenceMurmur2(new Uint8Array(0)));
    expect(murmur2('a-little-bit-long-string')).toBe(referenceMurmur2(Buffer.from('a-little-bit-long-string')));
  });

  it('hashes a string as its UTF-8 bytes', () => {
    for (const k of ['héllo', 'ключ', '键值', '🚀']) expect(murmur2(k)).toBe(murmur2(Buffer.from(k, 'utf8')));
  });

  it('toPositive clears the sign bit like Kafka (not Math.abs)', () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(5)).toBe(5);
  });

  it('picks the partition Kafka would', () => {
    // toPositive(-790332482) = 1357151166; % 10 = 6.
    expect(partitionForKey('foobar', 10)).toBe(1357151166 % 10);
    expect(partitionForKey('abc', 7)).toBe(479470107 % 7);
  });
});
