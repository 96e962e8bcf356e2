// The ISR data-plane simulation: ≥1,000 random fault schedules (crashes with un-fsynced loss,
// partitions, slow links, drops), plus targeted scenarios for the cases DESIGN §3 calls out.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/errors.js';
import { runSeed } from '../../src/replication/isr-sim/run-seed.js';
import { SimCluster } from '../../src/replication/isr-sim/sim-cluster.js';
import type { SimConfig } from '../../src/replication/isr-sim/sim-config.js';
import { CONTROLLER } from '../../src/replication/isr-sim/sim-network.js';

const SEEDS = 1_000;
const STEPS = 60;

/** Three brokers, one RF-3 partition, min ISR 2, no background producers, nothing fsynced for 100 s. */
const QUIET: Partial<SimConfig> = {
  brokers: 3, partitions: 1, replicationFactor: 3, minInsyncReplicas: 2, uncleanPartitions: new Set(), producers: 0,
  flushIntervalMs: 100_000, dropRate: 0, maxDelayMs: 3, fetchMaxRecords: 50, truncateFirst: false,
};

function scripted(over: Partial<SimConfig> = {}): SimCluster {
  const c = new SimCluster(7, 0, { ...QUIET, ...over });
  c.runFor(200);
  return c;
}

function produceMany(c: SimCluster, to: number, n: number, acks: -1 | 1) {
  return Array.from({ length: n }, () => c.produceTo(to, 0, acks));
}

function others(c: SimCluster, id: number): number[] {
  return c.registration(0).replicas.filter((r) => r !== id);
}

describe('ISR simulation', () => {
  it(`${SEEDS} random seeds keep every safety property`, () => {
    const failures: string[] = [];
    let acked = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = runSeed(seed, STEPS);
      acked += r.stats?.acked ?? 0;
      if (!r.ok) failures.push(`seed ${seed}: ${r.error}\n  replay: npm run sim:isr -- --seed ${seed} --steps ${STEPS}\n  ${(r.trace ?? []).slice(-40).join('\n  ')}`);
    }
    expect(failures.slice(0, 2).join('\n\n')).toBe('');
    expect(acked).toBeGreaterThan(SEEDS * 50); // the schedules do commit data, not just fail
  }, 120_000);

  it('replays a seed exactly', () => {
    expect(runSeed(42, STEPS)).toEqual(runSeed(42, STEPS));
  });

  it('leader crash with acks=all in flight: nothing acknowledged is lost, a new epoch leads', () => {
    const c = scripted();
    const old = c.registration(0);
    const first = produceMany(c, old.leader, 20, -1);
    c.runFor(100);
    expect(first.every((w) => w.result === null)).toBe(true);
    const inFlight = produceMany(c, old.leader, 20, -1);
    c.runFor(2); // some replicated, none necessarily acknowledged
    c.broker(old.leader).crash(false);
    c.runFor(1_000);
    const now = c.registration(0);
    expect(now.leader).not.toBe(old.leader);
    expect(now.leaderEpoch).toBeGreaterThan(old.leaderEpoch);
    expect(inFlight.every((w) => w.result !== null)).toBe(true); // never acknowledged by a dead leader
    produceMany(c, now.leader, 10, -1);
    c.settleAndCheck();
    expect(c.checker.ackCount).toBeGreaterThanOrEqual(30);
  });

  it('follower lag shrinks the ISR; below min.insync.replicas acks=all gets NOT_ENOUGH_REPLICAS; recovery expands it', () => {
    const c = scripted();
    const leader = c.registration(0).leader;
    for (const f of others(c, leader)) {
      c.net.cutLink(f, leader); // followers cannot fetch, but stay registered with the controller
      c.net.cutLink(leader, f);
    }
    const stuck = produceMany(c, leader, 5, -1);
    c.runFor(1_000); // > replica.lag.time.max.ms
    expect(c.registration(0).isr).toEqual([leader]);
    // Both were removed in the shrink that took the ISR below min ISR: both still hold every committed record.
    expect(c.registration(0).elr).toEqual(others(c, leader));
    expect(stuck.every((w) => w.result === ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND || w.result === ErrorCode.REQUEST_TIMED_OUT)).toBe(true);
    expect(c.produceTo(leader, 0, -1).result).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
    const hwBefore = c.broker(leader).logOf(0).highWatermark;
    expect(c.produceTo(leader, 0, 1).result).toBe(null); // acks=1 still appends...
    c.runFor(100);
    expect(c.broker(leader).logOf(0).highWatermark).toBe(hwBefore); // ...but the HW is frozen (KIP-966)
    c.net.healAll();
    c.runFor(1_000);
    expect(c.registration(0).isr.length).toBe(3);
    const ok = c.produceTo(leader, 0, -1);
    c.runFor(100);
    expect(ok.result).toBe(null);
    c.settleAndCheck();
  });

  it('KIP-101: a stale leader\'s divergent tail is truncated after the leader change', () => {
    const c = scripted();
    const old = c.registration(0).leader;
    produceMany(c, old, 10, -1);
    c.runFor(100);
    c.net.isolate(old, [CONTROLLER, ...others(c, old)]); // clients can still reach it
    const orphans = produceMany(c, old, 5, 1); // acks=1: appended on the old leader only
    expect(orphans.every((w) => w.result === null)).toBe(true);
    c.runFor(1_000); // session timeout → new leader
    const next = c.registration(0).leader;
    expect(next).not.toBe(old);
    produceMany(c, next, 8, -1);
    c.runFor(100);
    const truncationsBefore = c.checker.truncations;
    c.net.healAll();
    c.runFor(1_000);
    expect(c.checker.truncations).toBeGreaterThan(truncationsBefore);
    const oldLog = c.broker(old).logOf(0);
    const newLog = c.broker(next).logOf(0);
    expect(oldLog.entries).toEqual(newLog.entries);
    for (const w of orphans) expect(oldLog.entries.some((e) => e.id === w.id)).toBe(false);
    c.settleAndCheck();
  });

  it('KIP-966 last replica standing: the lone ISR leader loses its un-fsynced tail, the ELR member keeps every ack', () => {
    const c = scripted();
    const leader = c.registration(0).leader;
    const [f1, f2] = others(c, leader) as [number, number];
    const acked = produceMany(c, leader, 10, -1);
    c.runFor(100);
    c.net.cutLink(f2, leader); // f2 falls out first: ISR {leader, f1} still ≥ min ISR
    produceMany(c, leader, 3, 1); // traffic, so f2 is no longer at the leader's end
    c.runFor(800);
    expect(c.registration(0).isr).toEqual(expect.not.arrayContaining([f2]));
    acked.push(...produceMany(c, leader, 10, -1)); // committed on leader + f1 only
    c.runFor(100);
    expect(acked.every((w) => w.result === null)).toBe(true);
    c.net.cutLink(f1, leader); // now f1 lags too: ISR {leader}, f1 goes to the ELR
    produceMany(c, leader, 3, 1);
    c.runFor(800);
    expect(c.registration(0)).toMatchObject({ isr: [leader], elr: [f1] });
    produceMany(c, leader, 10, 1); // acks=1 only; the HW stays frozen
    c.broker(leader).crash(false); // nothing was fsynced: the leader loses everything
    expect(c.broker(leader).logOf(0).logEndOffset).toBeLessThan(20);
    c.runFor(1_000);
    expect(c.registration(0).leader).toBe(f1); // elected from the ELR, not the unclean ex-leader
    c.settleAndCheck(); // every acks=all record on the new leader and every ISR member
    for (const w of acked) expect(c.broker(f1).logOf(0).entries.some((e) => e.id === w.id)).toBe(true);
  });
});
