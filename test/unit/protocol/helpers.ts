/** Shared helpers for the protocol codec tests (not a test file itself). */
import { SeededRandom } from '../../../src/replication/raft/random.js';
import { expect } from 'vitest';
import { FerryError, type ErrorCode } from '../../../src/protocol/errors.js';
import { computeBatchCrc, batchSizeAt, OFFSET_CRC } from '../../../src/protocol/record-batch.js';

/** Runs `fn`, asserts it throws a FerryError (optionally with `code`), and returns the error. */
export function ferryError(fn: () => unknown, code?: ErrorCode): FerryError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'expected a FerryError to be thrown').toBeInstanceOf(FerryError);
  const err = thrown as FerryError;
  if (code !== undefined) expect(err.code, err.message).toBe(code);
  return err;
}

/** Re-computes the CRC of the batch at `pos` after a test edited CRC-covered bytes on purpose. */
export function fixCrc(buf: Buffer, pos = 0, size = batchSizeAt(buf, pos)): void {
  buf.writeUInt32BE(computeBatchCrc(buf, pos, size), pos + OFFSET_CRC);
}

/** Small deterministic PRNG (mulberry32), so fuzz failures reproduce. */
export function mulberry32(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}
