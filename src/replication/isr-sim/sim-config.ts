// One seed's cluster shape and timings, drawn from the seed. Timings are Kafka's, scaled down ~100×
// so a seed covers many leader changes in a few simulated seconds.

import type { SimRandom } from './random.js';
import { defaultMinInsyncReplicas } from '../isr/types.js';

export interface SimConfig {
  brokers: number;
  partitions: number;
  replicationFactor: number;
  minInsyncReplicas: number;
  /** Partitions (by index) whose topic allows unclean leader election. */
  uncleanPartitions: ReadonlySet<number>;
  /** 0 = fsync on every append (flush.mode=always); else the flush interval. */
  flushIntervalMs: number;
  /** Followers ask OffsetForLeaderEpoch before fetching (pre-KIP-320 flow). */
  truncateFirst: boolean;
  replicaLagTimeMaxMs: number;
  brokerSessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  brokerTickMs: number;
  alterPartitionRetryMs: number;
  replicaFetchTimeoutMs: number;
  replicaFetchBackoffMs: number;
  /** Records per fetch answer at most (stands in for max bytes). */
  fetchMaxRecords: number;
  produceTimeoutMs: number;
  producers: number;
  /** Probability a produce uses acks=all (else acks=1). */
  acksAllShare: number;
  chaosMs: number;
  quiesceMs: number;
  dropRate: number;
  /** One-way delay bounds. */
  minDelayMs: number;
  maxDelayMs: number;
}

export function drawConfig(rng: SimRandom, steps: number): SimConfig {
  const brokers = rng.pick([3, 3, 3, 4, 5]);
  const replicationFactor = rng.chance(0.8) ? 3 : 2;
  const partitions = rng.between(1, 3);
  const unclean = new Set<number>();
  if (rng.chance(0.2)) unclean.add(partitions - 1);
  return {
    brokers,
    partitions,
    replicationFactor,
    minInsyncReplicas: rng.chance(0.8) ? defaultMinInsyncReplicas(replicationFactor) : rng.between(1, replicationFactor),
    uncleanPartitions: unclean,
    flushIntervalMs: rng.chance(0.15) ? 0 : rng.pick([10, 50, 200, 1000]),
    truncateFirst: rng.chance(0.3),
    replicaLagTimeMaxMs: 300,
    brokerSessionTimeoutMs: 400,
    heartbeatIntervalMs: 50,
    brokerTickMs: 10,
    alterPartitionRetryMs: 100,
    replicaFetchTimeoutMs: 100,
    replicaFetchBackoffMs: 20,
    fetchMaxRecords: rng.pick([1, 5, 50]),
    produceTimeoutMs: 500,
    producers: rng.between(1, 3),
    acksAllShare: rng.pick([0.5, 0.8, 1]),
    chaosMs: steps * 50,
    quiesceMs: 3_000,
    dropRate: rng.pick([0, 0.01, 0.05]),
    minDelayMs: 1,
    maxDelayMs: rng.pick([3, 10, 30]),
  };
}
