// Deterministic simulation of the Raft controller quorum: 1,000 random fault schedules (each
// checked against the safety invariants and a liveness bound after healing) plus targeted
// scenarios. A failing seed replays with `npm run sim -- --seed N`.
import { describe, expect, it } from 'vitest';
import { runSeed } from '../../src/replication/sim/run-seed.js';
import { calmCluster, kvOf, propose, runUntil, waitApplied, waitForLeader } from './helpers.js';

/** Seeds run in CI; `npm run sim -- --seeds 100000` for a long soak. */
const CI_SEEDS = 1000;

describe('raft simulation: random fault schedules', () => {
  it(`keeps every invariant over ${CI_SEEDS} seeds`, () => {
    const failures: string[] = [];
    let committed = 0;
    for (let seed = 1; seed <= CI_SEEDS; seed++) {
      const r = runSeed({ seed, nodes: 0, steps: 60 });
      committed += r.committed;
      if (!r.ok) failures.push(`seed ${seed}: ${r.error}\n  ${(r.trace ?? []).slice(-30).join('\n  ')}`);
    }
    expect(failures.slice(0, 3)).toEqual([]);
    expect(committed).toBeGreaterThan(CI_SEEDS * 5); // the runs do real work
  });

  it('replays a seed exactly', () => {
    const a = runSeed({ seed: 4242, nodes: 5, steps: 60 });
    const b = runSeed({ seed: 4242, nodes: 5, steps: 60 });
    expect(b).toEqual(a);
  });
});

describe('raft simulation: scenarios', () => {
  it('elects a new leader after the leader crashes, keeping committed entries', () => {
    const cluster = calmCluster(3);
    const first = waitForLeader(cluster);
    const indexes = propose(cluster, first, ['a=1', 'b=2', 'c=3']);
    waitApplied(cluster, indexes[2]!);
    const oldTerm = first.term;
    cluster.crash(first.id);
    const second = waitForLeader(cluster);
    expect(second.id).not.toBe(first.id);
    expect(second.term).toBeGreaterThan(oldTerm);
    const more = propose(cluster, second, ['d=4']);
    waitApplied(cluster, more[0]!);
    cluster.start(first.id); // the old leader restarts and catches up from the new one
    waitApplied(cluster, more[0]!);
    for (const id of cluster.voters) expect(kvOf(cluster, id)).toEqual({ a: '1', b: '2', c: '3', d: '4' });
  });

  it('a partitioned leader with a stale term steps down and its uncommitted entries are discarded', () => {
    const cluster = calmCluster(5);
    const old = waitForLeader(cluster);
    const base = propose(cluster, old, ['x=committed']);
    waitApplied(cluster, base[0]!);
    const oldTerm = old.term;
    const others = cluster.voters.filter((id) => id !== old.id);
    cluster.network.partition([old.id], others);
    propose(cluster, old, ['x=lost']); // accepted locally, can never reach a majority
    // Check quorum: the isolated leader stops leading within electionTimeoutMax (+ a tick).
    runUntil(cluster, () => cluster.node(old.id)!.role !== 'leader', 400, 'the isolated leader to step down');
    runUntil(cluster, () => others.some((id) => cluster.node(id)!.role === 'leader'), 2000, 'a leader in the majority');
    const fresh = cluster.node(others.find((id) => cluster.node(id)!.role === 'leader')!)!;
    expect(fresh.term).toBeGreaterThan(oldTerm);
    expect(old.term).toBe(oldTerm); // the stale leader has not heard of the new term yet
    const next = propose(cluster, fresh, ['y=new']);
    runUntil(cluster, () => others.every((id) => cluster.node(id)!.lastApplied >= next[0]!), 2000, 'majority commit');
    cluster.network.healAll();
    waitApplied(cluster, next[0]!);
    expect(cluster.node(old.id)!.leaderId).toBe(fresh.id);
    expect(cluster.node(old.id)!.term).toBe(fresh.term);
    for (const id of cluster.voters) expect(kvOf(cluster, id)).toEqual({ x: 'committed', y: 'new' });
  });

  it('pre-vote: a node rejoining after a partition does not disrupt the leader', () => {
    const cluster = calmCluster(3, 11);
    const leader = waitForLeader(cluster);
    const term = leader.term;
    const loner = cluster.voters.find((id) => id !== leader.id)!;
    cluster.network.partition([loner], cluster.voters.filter((id) => id !== loner));
    cluster.runUntil(cluster.now + 3000); // ~10+ election timeouts alone
    expect(cluster.node(loner)!.term).toBe(term); // pre-vote never won, so the term never moved
    expect(cluster.node(loner)!.role).toBe('prospective');
    cluster.network.healAll();
    cluster.runUntil(cluster.now + 2000);
    expect(leader.role).toBe('leader');
    expect(leader.term).toBe(term);
    expect(cluster.node(loner)!.leaderId).toBe(leader.id);
  });

  it('installs a snapshot on a follower that fell behind the leader\'s compacted log', () => {
    const cluster = calmCluster(3, 5, { snapshotIntervalEntries: 5, snapshotChunkBytes: 16, appendEntriesMax: 4 });
    const leader = waitForLeader(cluster);
    const laggard = cluster.voters.find((id) => id !== leader.id)!;
    cluster.crash(laggard);
    let last = 0;
    for (let i = 0; i < 40; i++) last = propose(cluster, leader, [`k${i % 7}=v${i}`])[0]!;
    runUntil(cluster, () => leader.lastApplied >= last, 2000, 'commit without the laggard');
    expect(leader.log.snapshotIndex).toBeGreaterThan(cluster.disks.get(laggard)!.log.lastIndex());
    cluster.start(laggard);
    waitApplied(cluster, last);
    expect(cluster.stats.snapshotsInstalled).toBeGreaterThanOrEqual(1);
    expect(cluster.node(laggard)!.log.snapshotIndex).toBeGreaterThan(0);
    expect(kvOf(cluster, laggard)).toEqual(kvOf(cluster, leader.id));
  });
});
