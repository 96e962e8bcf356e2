import { describe, expect, it } from 'vitest';
import { rangeAssignor } from '../../../src/coordinator/assignors/range.js';
import { roundRobinAssignor } from '../../../src/coordinator/assignors/roundrobin.js';
import { stickyAssignor } from '../../../src/coordinator/assignors/sticky.js';
import type { Assignor, AssignorMember } from '../../../src/coordinator/assignors/types.js';
import { assignmentOf, toJson, type Assignment } from '../../../src/coordinator/topic-partitions.js';

const member = (id: string, topics: string[], instanceId = ''): AssignorMember => ({ id, instanceId, rackId: '', topics: new Set(topics) });

function run(assignor: Assignor, members: AssignorMember[], topics: Record<string, number>, previous: Record<string, Record<string, number[]>> = {}) {
  const prev = new Map<string, Assignment>(Object.entries(previous).map(([id, a]) => [id, assignmentOf(a)]));
  const out = assignor.assign({ members, topics: new Map(Object.entries(topics)), previous: prev });
  return Object.fromEntries([...out].map(([id, a]) => [id, toJson(a)]));
}

function counts(layout: Record<string, Record<string, number[]>>): number[] {
  return Object.values(layout).map((a) => Object.values(a).reduce((n, ps) => n + ps.length, 0));
}

function everyPartitionOnce(layout: Record<string, Record<string, number[]>>, topics: Record<string, number>): void {
  const seen = Object.values(layout).flatMap((a) => Object.entries(a).flatMap(([t, ps]) => ps.map((p) => `${t}-${p}`)));
  expect(new Set(seen).size).toBe(seen.length);
  expect(seen.length).toBe(Object.values(topics).reduce((a, b) => a + b, 0));
}

describe('range assignor', () => {
  it('gives contiguous ranges per topic, the first members one extra', () => {
    const layout = run(rangeAssignor, [member('c', ['t']), member('a', ['t', 'u']), member('b', ['t', 'u'])], { t: 7, u: 2 });
    expect(layout).toEqual({
      a: { t: [0, 1, 2], u: [0] },
      b: { t: [3, 4], u: [1] },
      c: { t: [5, 6] },
    });
  });
});

describe('round-robin assignor', () => {
  it('deals sorted partitions to sorted members, skipping members not subscribed', () => {
    expect(run(roundRobinAssignor, [member('a', ['t', 'u']), member('b', ['t', 'u'])], { t: 3, u: 2 })).toEqual({
      a: { t: [0, 2], u: [1] },
      b: { t: [1], u: [0] },
    });
    expect(run(roundRobinAssignor, [member('a', ['t']), member('b', ['t', 'u'])], { t: 2, u: 2 })).toEqual({
      a: { t: [0] },
      b: { t: [1], u: [0, 1] },
    });
  });
});

describe('sticky assignor', () => {
  it('balances a fresh group', () => {
    const layout = run(stickyAssignor, ['a', 'b', 'c'].map((id) => member(id, ['t'])), { t: 12 });
    everyPartitionOnce(layout, { t: 12 });
    expect(counts(layout)).toEqual([4, 4, 4]);
  });

  it('keeps unaffected partitions in place when a member joins or leaves', () => {
    const before = { a: { t: [0, 1, 2, 3] }, b: { t: [4, 5, 6, 7] }, c: { t: [8, 9, 10, 11] } };
    // d joins: each of a, b, c gives up exactly one partition and keeps the rest.
    const joined = run(stickyAssignor, ['a', 'b', 'c', 'd'].map((id) => member(id, ['t'])), { t: 12 }, before);
    everyPartitionOnce(joined, { t: 12 });
    expect(counts(joined)).toEqual([3, 3, 3, 3]);
    for (const id of ['a', 'b', 'c'] as const) {
      for (const p of joined[id]!.t!) expect(before[id].t).toContain(p);
    }
    // c leaves: a and b keep everything they had and split c's four.
    const left = run(stickyAssignor, ['a', 'b'].map((id) => member(id, ['t'])), { t: 12 }, before);
    everyPartitionOnce(left, { t: 12 });
    expect(counts(left)).toEqual([6, 6]);
    for (const p of before.a.t) expect(left.a!.t).toContain(p);
    for (const p of before.b.t) expect(left.b!.t).toContain(p);
  });

  it('handles different subscriptions and new partitions', () => {
    const layout = run(stickyAssignor, [member('a', ['t']), member('b', ['t', 'u']), member('c', ['u'])], { t: 4, u: 4 }, { a: { t: [0, 1, 2, 3] } });
    everyPartitionOnce(layout, { t: 4, u: 4 });
    expect(counts(layout).sort()).toEqual([2, 3, 3]);
    expect(layout.c!.t).toBeUndefined();
    expect(layout.a!.u).toBeUndefined();
  });

  it('drops partitions of topics a member no longer subscribes to or that no longer exist', () => {
    const layout = run(stickyAssignor, [member('a', ['t'])], { t: 2 }, { a: { t: [0, 1, 5], gone: [0] } });
    expect(layout).toEqual({ a: { t: [0, 1] } });
  });

  it('is deterministic and balanced at scale', () => {
    const members = Array.from({ length: 37 }, (_, i) => member(`m${i}`, ['t', 'u']));
    const a = run(stickyAssignor, members, { t: 500, u: 123 });
    expect(run(stickyAssignor, members, { t: 500, u: 123 })).toEqual(a);
    const c = counts(a);
    expect(Math.max(...c) - Math.min(...c)).toBeLessThanOrEqual(1);
  });
});
