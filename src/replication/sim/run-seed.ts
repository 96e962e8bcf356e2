// One simulation run = one seed. Everything random in the run (fault schedule, network weather,
// message fates, fsync latency, election timeouts) comes from SeededRandom(seed), so `--seed X`
// replays a failing schedule exactly.
//
// Phases:
//   chaos   `steps` actions spaced a random 5–60 ms apart: client proposals (redirected by the
//           NOT_LEADER hint), crashes and restarts (losing un-fsynced writes), partitions
//           (isolated node, majority/minority split, one-way links) and heals, weather changes
//           (drop / duplicate / delay probabilities).
//   heal    every node restarted, every link restored, no loss or duplication.
//   liveness within LIVENESS_BOUND_MS a leader must be elected and a fresh proposal committed and
//           applied on every node; then the committed-durable check runs one last time.
// Invariants (invariants.ts) are checked after every step throughout.

import { strict as assert } from 'node:assert';
import type { NodeId } from '../raft/index.js';
import { SeededRandom } from '../raft/index.js';
import { encodeCommand } from './kv-state-machine.js';
import type { SimCluster } from './sim-cluster.js';
import { buildCluster } from './sim-setup.js';
import type { NetworkWeather } from './sim-network.js';

export interface RunOptions {
  readonly seed: number;
  /** 3 or 5; 0 = chosen by the seed. */
  readonly nodes: number;
  /** Chaos actions per run. */
  readonly steps: number;
}

export interface RunResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly trace?: string[];
  readonly nodes: number;
  readonly simMs: number;
  readonly events: number;
  readonly committed: number;
  readonly elections: number;
  readonly crashes: number;
  readonly snapshotsInstalled: number;
  /** Simulated ms from healing to the liveness proposal applied everywhere (-1 if never). */
  readonly recoveryMs: number;
}

/** After the heal, a leader must be elected and a proposal committed everywhere within this. */
export const LIVENESS_BOUND_MS = 6_000;
/** Simulated-time gap between chaos actions. */
const ACTION_GAP_MIN_MS = 5;
const ACTION_GAP_MAX_MS = 60;
/** Client: how often a proposal is retried after NOT_LEADER or while a liveness proposal is pending. */
const CLIENT_RETRY_MS = 20;
const CLIENT_ATTEMPTS_MAX = 4;

export function runSeed(options: RunOptions): RunResult {
  const random = new SeededRandom(options.seed);
  const nodeCount = options.nodes || (random.chance(0.5) ? 3 : 5);
  const limits = {
    appendEntriesMax: 1 + random.nextInt(8),
    snapshotIntervalEntries: 4 + random.nextInt(30),
    snapshotChunkBytes: 32 + random.nextInt(256),
  };
  const fsyncMaxMs = 1 + random.nextInt(random.chance(0.5) ? 10 : 60);
  const cluster = buildCluster({ random, nodes: nodeCount, limits, weather: randomWeather(random), fsyncMaxMs });
  let proposals = 0;
  let healed = false;
  let leaderHint: NodeId | null = null;

  const propose = (text: string, target: NodeId | null, attempt: number): void => {
    const alive = cluster.alive();
    if (alive.length === 0) return;
    const id = target !== null && alive.includes(target) ? target : random.pick(alive);
    const { result } = cluster.step(id, (n) => n.propose([encodeCommand(text)], cluster.now));
    if (result.ok) {
      leaderHint = id;
      cluster.trace.note(cluster.now, id, `propose ${text} -> index ${result.indexes[0]} term ${result.term}`);
    } else {
      leaderHint = result.leaderHint;
      if (attempt < CLIENT_ATTEMPTS_MAX) cluster.at(1 + random.nextInt(CLIENT_RETRY_MS), () => propose(text, result.leaderHint, attempt + 1));
    }
  };

  // Per-seed fault profile: some seeds are calm, some crash-heavy, some partition-heavy.
  const crashWeight = 0.04 + random.next() * 0.16;
  const partitionWeight = 0.04 + random.next() * 0.12;
  const restartDelayMaxMs = 50 + random.nextInt(800);
  const crashSoon = (victim: NodeId, delayMs: number): void => {
    cluster.at(delayMs, () => {
      if (healed) return; // faults scheduled during chaos do not leak into the liveness phase
      cluster.crash(victim);
      cluster.at(10 + random.nextInt(restartDelayMaxMs), () => { if (cluster.host(victim) === null) cluster.start(victim); });
    });
  };

  const chaosAction = (): void => {
    let roll = random.next();
    const alive = cluster.alive();
    const leader = cluster.currentLeader();
    if ((roll -= 0.45) < 0) {
      const count = 1 + random.nextInt(3);
      for (let i = 0; i < count; i++) propose(`k${random.nextInt(8)}=v${++proposals}`, leaderHint, 0);
    } else if ((roll -= crashWeight) < 0) {
      if (alive.length === 0) return;
      crashSoon(random.chance(0.5) && leader ? leader.id : random.pick(alive), 0);
    } else if ((roll -= 0.05) < 0) {
      // Propose, then crash the leader within an fsync window: acked-but-not-durable territory.
      if (!leader) return;
      propose(`k${random.nextInt(8)}=v${++proposals}`, leader.id, 0);
      crashSoon(leader.id, random.nextInt(cluster.fsyncMaxMs + 10));
    } else if ((roll -= partitionWeight) < 0) {
      partition(cluster, random);
      const healAfter = 100 + random.nextInt(1500);
      cluster.at(healAfter, () => { if (healed) return; cluster.network.healAll(); cluster.trace.note(cluster.now, null, 'heal'); });
    } else if ((roll -= 0.04) < 0) {
      cluster.network.healAll();
      cluster.trace.note(cluster.now, null, 'heal');
    } else if ((roll -= 0.05) < 0) {
      cluster.network.weather = randomWeather(random);
    }
  };

  try {
    let t = 0;
    for (let i = 0; i < options.steps; i++) {
      t += ACTION_GAP_MIN_MS + random.nextInt(ACTION_GAP_MAX_MS - ACTION_GAP_MIN_MS + 1);
      cluster.runUntil(t);
      chaosAction();
    }
    // Heal everything.
    cluster.runUntil(t + 1);
    healed = true;
    cluster.network.healAll();
    cluster.network.weather = { dropProbability: 0, duplicateProbability: 0, delayMinMs: 1, delayMaxMs: 10 };
    for (const id of cluster.voters) if (cluster.host(id) === null) cluster.start(id);
    cluster.trace.note(cluster.now, null, 'HEAL ALL: liveness phase');
    const healedAt = cluster.now;
    checkLiveness(cluster, random, options.seed);
    cluster.checker.checkCommittedDurable(cluster.disks);
    return { ...result(options.seed, nodeCount, cluster, true), recoveryMs: cluster.now - healedAt };
  } catch (error) {
    const message = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
    return { ...result(options.seed, nodeCount, cluster, false), error: message, trace: cluster.trace.format() };
  }
}

function checkLiveness(cluster: SimCluster, random: SeededRandom, seed: number): void {
  const healedAt = cluster.now;
  const deadline = healedAt + LIVENESS_BOUND_MS;
  const text = `final=${seed}`;
  let index: number | null = null;
  let term = 0;
  const everyoneApplied = (): boolean => {
    if (index === null) return false;
    for (const id of cluster.voters) {
      const n = cluster.node(id)!;
      if (n.lastApplied < index) return false;
    }
    // The entry at `index` must be ours (a leader change could have replaced it before commit).
    const committed = cluster.checker.committed.get(index);
    if (!committed || committed.term !== term) {
      index = null;
      return false;
    }
    return true;
  };
  while (cluster.now < deadline) {
    const leader = cluster.currentLeader();
    // Re-propose if our entry can no longer commit: the current leader does not hold it.
    if (index !== null && leader && leader.term > term && index > leader.log.snapshotIndex && leader.log.termAt(index) !== term) index = null;
    if (index === null && leader) {
      const { result } = cluster.step(leader.id, (n) => n.propose([encodeCommand(text)], cluster.now));
      if (result.ok) {
        index = result.indexes[0]!;
        term = result.term;
      }
    }
    cluster.runUntil(cluster.now + 10 + random.nextInt(CLIENT_RETRY_MS), everyoneApplied);
    if (everyoneApplied()) return;
  }
  const states = cluster.voters.map((id) => {
    const n = cluster.node(id)!;
    return `n${id}:${n.role}/t${n.term}/commit${n.commitIndex}/last${n.log.lastIndex()}`;
  });
  assert.fail(`liveness: no proposal committed on every node within ${LIVENESS_BOUND_MS} ms of healing (${states.join(' ')})`);
}

function randomWeather(random: SeededRandom): NetworkWeather {
  const delayMinMs = 1 + random.nextInt(5);
  return {
    dropProbability: random.chance(0.3) ? 0 : random.next() * 0.2,
    duplicateProbability: random.chance(0.5) ? 0 : random.next() * 0.1,
    delayMinMs,
    delayMaxMs: delayMinMs + random.nextInt(40),
  };
}

function partition(cluster: SimCluster, random: SeededRandom): void {
  const voters = [...cluster.voters];
  for (let i = voters.length - 1; i > 0; i--) {
    const j = random.nextInt(i + 1);
    [voters[i], voters[j]] = [voters[j]!, voters[i]!];
  }
  const kind = random.nextInt(3);
  if (kind === 0) {
    cluster.network.partition(voters.slice(0, 1), voters.slice(1)); // isolate one node
  } else if (kind === 1) {
    const minority = 1 + random.nextInt(Math.floor(voters.length / 2));
    cluster.network.partition(voters.slice(0, minority), voters.slice(minority));
  } else {
    const links = 1 + random.nextInt(voters.length);
    for (let i = 0; i < links; i++) {
      const a = random.pick(voters);
      const b = random.pick(voters);
      if (a !== b) cluster.network.cut(a, b); // one-way
    }
  }
  cluster.trace.note(cluster.now, null, `partition: cut ${cluster.network.describeCuts()}`);
}

function result(seed: number, nodes: number, cluster: SimCluster, ok: boolean): RunResult {
  return {
    seed, ok, nodes, simMs: cluster.now, events: cluster.stats.events,
    committed: cluster.checker.committed.size, elections: cluster.stats.elections,
    crashes: cluster.stats.crashes, snapshotsInstalled: cluster.stats.snapshotsInstalled, recoveryMs: -1,
  };
}
