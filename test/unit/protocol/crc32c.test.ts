import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../src/protocol/crc32c.js';

describe('crc32c (Castagnoli)', () => {
  it('matches the standard check value: "123456789" -> 0xE3069283', () => {
    expect(crc32c(Buffer.from('123456789', 'ascii'))).toBe(0xe3069283);
  });

  it('matches other published CRC-32C vectors (RFC 3720 B.4, iSCSI)', () => {
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(crc32c(Buffer.alloc(32, 0x00))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    expect(crc32c(ascending)).toBe(0x46dd794e);
    const descending = Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i));
    expect(crc32c(descending)).toBe(0x113fdb5c);
  });

  it('is not plain CRC-32 (IEEE): "123456789" would be 0xCBF43926 there', () => {
    expect(crc32c(Buffer.from('123456789'))).not.toBe(0xcbf43926);
  });

  it('returns an unsigned 32-bit number and respects subarray views', () => {
    const big = Buffer.from('xx123456789yy');
    const v = crc32c(big.subarray(2, 11));
    expect(v).toBe(0xe3069283);
    expect(v).toBeGreaterThan(0x7fffffff); // would be negative if the >>> 0 were missing
    expect(Number.isInteger(v)).toBe(true);
  });
});
