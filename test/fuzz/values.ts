/**
 * Random values for the I/O fuzzers (grpc-fuzzer.test.ts, produce-stream-fuzzer.test.ts), all drawn
 * from one seeded PRNG so a seed replays a run.
 */
import { encodeRecordBatch } from '../../src/protocol/record-builder.js';

export function fuzzValues(rnd: () => number) {
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const chance = (p: number) => rnd() < p;
  const bytes = (n: number) => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  const goodBatch = () =>
    encodeRecordBatch(Array.from({ length: 1 + int(5) }, (_, i) => ({ key: chance(0.5) ? null : `k${i}`, value: bytes(int(200)), timestamp: chance(0.8) ? Date.now() : pick([0, -1, 2 ** 40, -(2 ** 40), 2 ** 50]) })));
  /** Batch bytes: random, truncated, with absurd claimed lengths or record counts, empty, or good. */
  const batchBytes = (): Buffer => {
    switch (int(7)) {
      case 0: return bytes(int(300));
      case 1: return bytes(int(64 * 1024));
      case 2: { const b = goodBatch(); b.writeInt32BE(pick([2 ** 31 - 1, -1, 0, 49, 1 << 30]), 8); return b; } // huge/negative claimed length
      case 3: { const b = goodBatch(); return b.subarray(0, int(b.length)); } // truncated
      case 4: { const b = goodBatch(); b.writeInt32BE(pick([2 ** 31 - 1, -1, 0]), 57); return b; } // absurd record count
      case 5: return Buffer.alloc(0);
      default: return goodBatch();
    }
  };
  return { int, pick, chance, bytes, goodBatch, batchBytes };
}
