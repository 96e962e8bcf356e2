// Runs one seed of the ISR simulation and reports the outcome; a violation comes back with the
// trace tail so the CLI and the vitest suite can print it.

import { InvariantViolation } from './checker.js';
import { SimCluster, type ClusterStats } from './sim-cluster.js';
import type { SimConfig } from './sim-config.js';

export interface SeedResult {
  seed: number;
  ok: boolean;
  error?: string;
  trace?: string[];
  stats?: ClusterStats;
}

const TRACE_TAIL_LINES = 150;

export function runSeed(seed: number, steps: number, override: Partial<SimConfig> = {}): SeedResult {
  const cluster = new SimCluster(seed, steps, override);
  try {
    return { seed, ok: true, stats: cluster.run() };
  } catch (err) {
    const message = err instanceof InvariantViolation ? err.message : `crash: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    return { seed, ok: false, error: message, trace: cluster.trace.tail(TRACE_TAIL_LINES) };
  }
}
