// Randomness for election timeouts. The core only sees the `Random` interface; the simulator passes
// a seeded generator so a schedule replays exactly, the broker passes `mathRandom`.

import type { Random } from './types.js';

/** mulberry32: 32-bit state, fast, good enough for scheduling decisions (not for cryptography). */
export class SeededRandom implements Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  nextInt(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.nextInt(items.length)]!;
  }

  /** An independent stream derived from this one (e.g. one per node). */
  fork(): SeededRandom {
    return new SeededRandom(this.nextInt(0x100000000) ^ 0x9e3779b9);
  }
}

/** For the broker: Math.random is fine where no replay is needed. */
export const mathRandom: Random = { nextInt: (bound) => Math.floor(Math.random() * bound) };
