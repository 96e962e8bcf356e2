/**
 * Seeds for the fuzz tests: FUZZ_SEED=<int> replays a run; otherwise a fresh seed per file, printed
 * so a failure can be reproduced (fast-check also repeats the seed and the shrunk counterexample).
 */
import { SeededRandom } from '../../src/replication/raft/random.js';

export function fuzzSeed(name: string): number {
  const env = process.env.FUZZ_SEED;
  const seed = env !== undefined && env !== '' ? Number(env) | 0 : (Math.random() * 2 ** 31) | 0;
  console.log(`[fuzz] ${name}: seed ${seed} (replay with FUZZ_SEED=${seed})`);
  return seed;
}

/** A seeded PRNG (mulberry32, the simulators') for fuzzers that drive I/O rather than fast-check properties. */
export function prng(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}
