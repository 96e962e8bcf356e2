// Scenario helpers: a calm simulated cluster and "run until" with a simulated-time bound.
import { SeededRandom } from '../../src/replication/raft/index.js';
import type { RaftNode } from '../../src/replication/raft/index.js';
import { encodeCommand } from '../../src/replication/sim/kv-state-machine.js';
import type { SimCluster } from '../../src/replication/sim/sim-cluster.js';
import { CALM_WEATHER, buildCluster } from '../../src/replication/sim/sim-setup.js';

export function calmCluster(nodes: number, seed = 7, limits: Partial<{ snapshotIntervalEntries: number; snapshotChunkBytes: number; appendEntriesMax: number }> = {}): SimCluster {
  return buildCluster({
    random: new SeededRandom(seed),
    nodes,
    limits: { appendEntriesMax: 64, snapshotIntervalEntries: 1000, snapshotChunkBytes: 1024, ...limits },
    weather: CALM_WEATHER,
    fsyncMaxMs: 3,
  });
}

/** Advance simulated time until `done` holds; throws after `maxMs`. */
export function runUntil(cluster: SimCluster, done: () => boolean, maxMs: number, what: string): void {
  const deadline = cluster.now + maxMs;
  while (!done()) {
    if (cluster.now >= deadline) throw new Error(`timed out after ${maxMs} simulated ms waiting for ${what}`);
    cluster.runUntil(cluster.now + 5, done);
  }
}

export function waitForLeader(cluster: SimCluster, maxMs = 3000): RaftNode {
  runUntil(cluster, () => stableLeader(cluster) !== null, maxMs, 'a leader');
  return stableLeader(cluster)!;
}

/** A leader whose term every live node has reached and follows. */
function stableLeader(cluster: SimCluster): RaftNode | null {
  const leader = cluster.currentLeader();
  if (!leader) return null;
  const all = cluster.alive().every((id) => {
    const n = cluster.node(id)!;
    return n.term === leader.term && n.leaderId === leader.id;
  });
  return all ? leader : null;
}

export function propose(cluster: SimCluster, leader: RaftNode, texts: string[]): number[] {
  const { result } = cluster.step(leader.id, (n) => n.propose(texts.map(encodeCommand), cluster.now));
  if (!result.ok) throw new Error(`propose on n${leader.id}: ${result.error}`);
  return result.indexes;
}

export function waitApplied(cluster: SimCluster, index: number, maxMs = 3000): void {
  runUntil(cluster, () => cluster.alive().every((id) => cluster.node(id)!.lastApplied >= index), maxMs, `index ${index} applied everywhere`);
}

export function kvOf(cluster: SimCluster, id: number): Record<string, string> {
  return Object.fromEntries(cluster.host(id)!.sm.map);
}
