// Building a simulated cluster: the timing the simulator runs Raft with, and a constructor shared
// by the random runs (run-seed.ts) and the hand-written scenario tests.

import type { NodeId, RaftConfig, RaftLimitsConfig, RaftTimingConfig } from '../raft/index.js';
import { SeededRandom } from '../raft/index.js';
import { SimCluster } from './sim-cluster.js';
import type { NetworkWeather } from './sim-network.js';

/** Scaled-down broker timing: elections in 150–300 ms keep a simulated run short. */
export const SIM_TIMING: RaftTimingConfig = {
  electionTimeoutMinMs: 150,
  electionTimeoutMaxMs: 300,
  heartbeatIntervalMs: 50,
  requestRetryMs: 100,
};

export const CALM_WEATHER: NetworkWeather = { dropProbability: 0, duplicateProbability: 0, delayMinMs: 1, delayMaxMs: 10 };

export interface ClusterSetup {
  readonly random: SeededRandom;
  readonly nodes: number;
  readonly limits: RaftLimitsConfig;
  readonly weather: NetworkWeather;
  /** Upper bound of simulated fsync latency. */
  readonly fsyncMaxMs: number;
}

export function buildCluster(setup: ClusterSetup): SimCluster {
  const voters = Array.from({ length: setup.nodes }, (_, i) => i + 1);
  const configFor = (id: NodeId): RaftConfig => ({ id, voters, ...SIM_TIMING, ...setup.limits });
  return new SimCluster(setup.random, configFor, setup.nodes, setup.weather, setup.fsyncMaxMs);
}
