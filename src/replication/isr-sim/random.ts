// Seeded randomness for the ISR simulation: every choice (delays, drops, faults, workload) comes from
// one stream, so a seed replays exactly. The generator is the Raft simulator's (mulberry32); the ISR
// simulation mixes its seed differently and adds the two helpers its code uses.

import { SeededRandom } from '../raft/random.js';

export class SimRandom extends SeededRandom {
  constructor(seed: number) {
    super((seed ^ 0x5bd1e995) >>> 0);
  }

  /** Uniform integer in [0, bound). */
  int(bound: number): number {
    return this.nextInt(bound);
  }

  /** Uniform integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.nextInt(hi - lo + 1);
  }
}
