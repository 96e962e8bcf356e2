/**
 * Record values for the bench. Throughput runs reuse one random buffer (never mutated, so sharing
 * it between records is safe). End-to-end runs stamp each value's first 8 bytes with the send time
 * from process.hrtime.bigint(): CLOCK_MONOTONIC, which is the same clock in every process on one
 * machine, so a consumer in another process can subtract it from its own reading. A millisecond
 * record timestamp would be too coarse for sub-millisecond latencies.
 */
import { randomBytes } from 'node:crypto';

export const STAMP_BYTES = 8;

export function templateValue(messageSize: number): Buffer {
  return randomBytes(messageSize);
}

export function stampedValue(template: Buffer, sendTimeNs: bigint): Buffer {
  const value = Buffer.allocUnsafe(template.length);
  template.copy(value);
  value.writeBigInt64BE(sendTimeNs, 0);
  return value;
}

/** The send time a stamped value carries, or null if the value is too short to hold one. */
export function readStamp(value: Buffer | null): bigint | null {
  if (!value || value.length < STAMP_BYTES) return null;
  return value.readBigInt64BE(0);
}
