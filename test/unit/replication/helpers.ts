// Shared builders for the ISR data-plane unit tests.
import { LeaderPartition, type LeaderConfig, type LeaderInit } from '../../../src/replication/isr/index.js';
import { SimLog } from '../../../src/replication/isr-sim/sim-log.js';

export const CONFIG: LeaderConfig = { replicaLagTimeMaxMs: 100, minInsyncReplicas: 2, alterPartitionRetryMs: 50 };

/** A log holding `epochs[i]` at offset i (ids = offset + 1000 * epoch). */
export function logWith(epochs: readonly number[]): SimLog {
  const log = new SimLog();
  epochs.forEach((epoch, i) => log.append({ epoch, id: i + 1000 * epoch }));
  return log;
}

export function leader(overrides: Partial<LeaderInit> = {}): LeaderPartition {
  return new LeaderPartition({
    brokerId: 1,
    replicas: [1, 2, 3],
    isr: [1, 2, 3],
    leaderEpoch: 5,
    partitionEpoch: 10,
    logEndOffset: 0,
    highWatermark: 0,
    nowMs: 0,
    config: CONFIG,
    ...overrides,
  });
}

export function fetch(followerId: number, fetchOffset: number, lastFetchedEpoch = 5, currentLeaderEpoch = 5, brokerEpoch = 7) {
  return { followerId, fetchOffset, lastFetchedEpoch, currentLeaderEpoch, brokerEpoch };
}
