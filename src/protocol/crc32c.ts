/**
 * CRC-32C (Castagnoli), as RecordBatch v2 uses it, computed natively by @node-rs/crc32
 * (SSE4.2 / ARM CRC instructions; ~15 GB/s measured on this machine).
 */
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

export function crc32c(data: Buffer): number {
  return nativeCrc32c(data) >>> 0;
}
