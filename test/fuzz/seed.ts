/**
 * Seeds for the fuzz tests: FUZZ_SEED=<int> replays a run; otherwise a fresh seed per file, printed
 * so a failure can be reproduced (fast-check also repeats the seed and the shrunk counterexample).
 */
export function fuzzSeed(name: string): number {
  const env = process.env.FUZZ_SEED;
  const seed = env !== undefined && env !== '' ? Number(env) | 0 : (Math.random() * 2 ** 31) | 0;
  console.log(`[fuzz] ${name}: seed ${seed} (replay with FUZZ_SEED=${seed})`);
  return seed;
}

/** mulberry32: a small seeded PRNG for fuzzers that drive I/O rather than fast-check properties. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
