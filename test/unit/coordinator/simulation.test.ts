/**
 * Seeded simulation of a group under churn: members join, heartbeat on their own schedule, are slow
 * to give partitions up, leave, crash, restart as static members; topics grow and appear. After every
 * answer no partition may be owned by two live members. When the churn stops, the group must
 * converge (every partition owned once, counts within one) and replaying the records — as written,
 * or compacted — must rebuild the same state. A failing seed replays exactly.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, FerryError } from '../../../src/protocol/errors.js';
import { expectFullyOwned, expectNoOverlap, Harness, SimMember } from './helpers.js';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SESSION_MS = 3_000;
const STEP_MS = 100;

interface Sim {
  m: SimMember;
  nextBeatMs: number;
  /** Partitions told to go, dropped (after "committing") at this time. */
  dropAtMs: number;
  toDrop: Set<string>;
}

function runSeed(seed: number, steps: number): void {
  const rand = mulberry32(seed);
  const h = new Harness({ sessionTimeoutMs: SESSION_MS });
  const topics: Record<string, number> = { t1: 6 };
  h.topics(topics);
  const live: Sim[] = [];
  let now = 0;
  let instances = 0;
  let fenced = 0;

  const spawn = (instanceId = '') => {
    const m = new SimMember(h, 'g', { regex: 't.*', sessionTimeoutMs: SESSION_MS, ...(instanceId ? { instanceId } : {}) });
    m.join(now);
    if (process.env.SIM_TRACE) console.log(now, 'join', m.id, instanceId, 'epoch', m.epoch, [...m.owned].join(','));
    live.push({ m, nextBeatMs: now + 300, dropAtMs: 0, toDrop: new Set() });
  };
  // A heartbeat by a member that, like the SDK, starts new partitions at once but takes a while to
  // give old ones up (it keeps reporting them until then).
  const beat = (s: Sim) => {
    if (s.toDrop.size > 0 && now >= s.dropAtMs) {
      for (const k of s.toDrop) s.m.owned.delete(k);
      s.toDrop.clear();
    }
    let before = new Set(s.m.owned);
    try {
      s.m.beat(now);
    } catch (err) {
      if (!(err instanceof FerryError) || (err.code !== ErrorCode.FENCED_MEMBER_EPOCH && err.code !== ErrorCode.UNKNOWN_MEMBER_ID)) throw err;
      // Fenced: everything is lost at once (no commit), then a fresh join.
      fenced++;
      s.toDrop.clear();
      before = new Set();
      if (err.code === ErrorCode.UNKNOWN_MEMBER_ID) s.m.id = '';
      s.m.join(now);
    }
    const revoked = [...before].filter((k) => !s.m.owned.has(k));
    if (revoked.length > 0) {
      for (const k of revoked) s.m.owned.add(k);
      for (const k of revoked) s.toDrop.add(k);
      s.dropAtMs = now + Math.floor(rand() * 4) * STEP_MS;
    }
    s.nextBeatMs = now + 200 + Math.floor(rand() * 600);
    if (process.env.SIM_TRACE) console.log(now, 'beat', s.m.id, 'epoch', s.m.epoch, 'owned', [...s.m.owned].sort().join(','), 'toDrop', [...s.toDrop].join(','));
    expectNoOverlap(live.map((x) => x.m));
  };

  spawn();
  for (let step = 0; step < steps; step++) {
    now += STEP_MS;
    const r = rand();
    if (r < 0.04 && live.length < 8) spawn();
    else if (r < 0.06 && live.length < 8) spawn(`svc-${++instances}`);
    else if (r < 0.08 && live.length > 1) {
      const [s] = live.splice(Math.floor(rand() * live.length), 1);
      s!.m.leave(now);
    } else if (r < 0.10 && live.length > 1) {
      // Crash: the process is gone; the coordinator only learns from the session timeout...
      const [s] = live.splice(Math.floor(rand() * live.length), 1);
      // ...unless it was static and comes straight back under the same instance id.
      if (s!.m.opts.instanceId && rand() < 0.5) {
        const m = new SimMember(h, 'g', s!.m.opts);
        live.push({ m, nextBeatMs: now, dropAtMs: 0, toDrop: new Set() });
        m.join(now);
        expectNoOverlap(live.map((x) => x.m));
      }
    } else if (r < 0.115) {
      const names = Object.keys(topics);
      if (rand() < 0.5) topics[names[Math.floor(rand() * names.length)]!]! += 1 + Math.floor(rand() * 3);
      else topics[`t${names.length + 1}`] = 1 + Math.floor(rand() * 4);
      h.topics(topics, now);
    }
    h.tick(now);
    for (const s of [...live]) if (now >= s.nextBeatMs) beat(s);
  }

  // Quiesce: no churn; everyone keeps heartbeating until crashed members' sessions have expired
  // and the group settles.
  for (let step = 0; step < (2 * SESSION_MS) / STEP_MS; step++) {
    now += STEP_MS;
    h.tick(now);
    for (const s of live) {
      s.dropAtMs = now;
      if (now >= s.nextBeatMs) beat(s);
    }
  }
  const d = h.shard.describeGroup('g')!;
  expect(d.state).toBe('STABLE');
  expect(d.members.map((x) => x.memberId).sort()).toEqual(live.map((s) => s.m.id).sort());
  expectFullyOwned(live.map((s) => s.m), topics);
  const counts = live.map((s) => s.m.owned.size);
  expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  expect(h.replayed().snapshot()).toEqual(h.shard.snapshot());
  // The same after log compaction, with or without its tombstones.
  expect(h.replayed('keep-tombstones').snapshot()).toEqual(h.shard.snapshot());
  expect(h.replayed('drop-tombstones').snapshot()).toEqual(h.shard.snapshot());
  // Live members heartbeat well within their session: nobody should have been fenced.
  expect(fenced).toBe(0);
}

describe('group coordinator simulation', () => {
  for (let seed = 1; seed <= (Number(process.env.SIM_SEEDS) || 25); seed++) {
    it(`seed ${seed}: never two owners, converges, replays`, () => runSeed(seed, 600));
  }
});
