/**
 * The chaos checker (chaos/checker.ts) on small hand-made histories: each violation kind is found,
 * and the benign cases (a retried batch stored twice, failed sends, nothing committed yet) are not
 * reported as violations.
 */
import { describe, expect, it } from 'vitest';
import { check } from '../../chaos/checker.js';
import type { HistoryEvent } from '../../chaos/history.js';

const RUN: HistoryEvent = { t: 0, type: 'run', seed: 7, seconds: 1, brokers: 3, flushMode: 'always', faults: [], network: 'test', lazyfs: 'test', topic: 'chaos', partitions: 1, group: 'g' };

function base(): HistoryEvent[] {
  return [
    RUN,
    { t: 1, type: 'send', producer: 'p1', id: 'p1-1', key: null },
    { t: 2, type: 'send', producer: 'p1', id: 'p1-2', key: null },
    { t: 3, type: 'ack', producer: 'p1', id: 'p1-1', partition: 0, offset: 0, latencyMs: 2 },
    { t: 4, type: 'ack', producer: 'p1', id: 'p1-2', partition: 0, offset: 1, latencyMs: 2 },
    { t: 5, type: 'deliver', member: 'm1', partition: 0, offset: 0, id: 'p1-1' },
    { t: 6, type: 'deliver', member: 'm1', partition: 0, offset: 1, id: 'p1-2' },
    { t: 7, type: 'commit', member: 'm1', partition: 0, offset: 2, op: 1 },
    { t: 8, type: 'commit-ok', member: 'm1', partition: 0, offset: 2, op: 1 },
    { t: 10, type: 'committed', invokedT: 9, offsets: [[0, 2]] },
    { t: 11, type: 'phase', name: 'producers-stopped' },
  ];
}

const final = (ids: Array<string | null>, logStart = 0): HistoryEvent => ({ t: 20, type: 'final', partition: 0, logStart, end: logStart + ids.length, ids });

describe('chaos checker', () => {
  it('accepts a clean history', () => {
    const r = check([...base(), final(['p1-1', 'p1-2'])]);
    expect(r.violations).toEqual([]);
    expect(r).toMatchObject({ ok: true, ops: 2, acked: 2, lost: 0, reordered: 0, duplicated: 0, delivered: 2, commitsAcked: 1 });
  });

  it('finds an acknowledged record missing from the final read (lost) and one moved to another offset', () => {
    const r = check([...base(), final(['p1-2'])]);
    expect(r.ok).toBe(false);
    expect(r.lost).toBe(1);
    expect(r.misplaced).toBe(1); // p1-2 acked at 1, found at 0
    expect(r.conflicts).toBeGreaterThan(0); // offset 0: p1-1 (ack) vs p1-2 (final)
    expect(r.violations.some((v) => v.startsWith('lost: p1-1'))).toBe(true);
  });

  it('counts a record stored twice as duplicated, not as a violation, when the producers were not idempotent', () => {
    const r = check([...base(), final(['p1-1', 'p1-2', 'p1-2'])]);
    expect(r.ok).toBe(true);
    expect(r.duplicated).toBe(1);
    const explicit = check([{ ...RUN, idempotent: false } as HistoryEvent, ...base().slice(1), final(['p1-1', 'p1-2', 'p1-2'])]);
    expect(explicit.ok).toBe(true);
  });

  it('a record stored twice by idempotent producers is a violation (duplicated)', () => {
    const idem = (ids: Array<string | null>) => check([{ ...RUN, idempotent: true } as HistoryEvent, ...base().slice(1), final(ids)]);
    const r = idem(['p1-1', 'p1-2', 'p1-2']);
    expect(r.ok).toBe(false);
    expect(r.duplicated).toBe(1);
    expect(r.violations).toEqual(['duplicated: p1-2 stored 2 times (0@1, 0@2) by an idempotent producer']);
    expect(idem(['p1-1', 'p1-2']).ok).toBe(true);
    // tolerable like any other kind
    const tolerated = check([{ ...RUN, idempotent: true } as HistoryEvent, ...base().slice(1), final(['p1-1', 'p1-2', 'p1-2'])], { tolerate: ['duplicated'] });
    expect(tolerated.ok).toBe(true);
    expect(tolerated.known.length).toBe(1);
  });

  it('finds acknowledged offsets out of send order, unless a duplicate explains them', () => {
    const h: HistoryEvent[] = [
      RUN,
      { t: 1, type: 'send', producer: 'p1', id: 'p1-1', key: null },
      { t: 2, type: 'send', producer: 'p1', id: 'p1-2', key: null },
      { t: 3, type: 'ack', producer: 'p1', id: 'p1-1', partition: 0, offset: 1, latencyMs: 2 },
      { t: 4, type: 'ack', producer: 'p1', id: 'p1-2', partition: 0, offset: 0, latencyMs: 2 },
    ];
    const r = check([...h, final(['p1-2', 'p1-1'])]);
    expect(r.reordered).toBe(1);
    expect(r.ok).toBe(false);
    // p1-1 also sits at offset 0 below p1-2 at 1: a retry stored it twice, the ack names the copy.
    const h2 = h.map((e) => (e.type === 'ack' && e.id === 'p1-1' ? { ...e, offset: 2 } : e.type === 'ack' ? { ...e, offset: 1 } : e));
    const r2 = check([...h2, final(['p1-1', 'p1-2', 'p1-1'])]);
    expect(r2.reordered).toBe(0);
    expect(r2.duplicated).toBe(1);
    expect(r2.ok).toBe(true);
  });

  it('finds a delivered record that is gone from the final read', () => {
    const h = base().filter((e) => e.type !== 'ack');
    const r = check([...h, { t: 6, type: 'deliver', member: 'm2', partition: 0, offset: 2, id: 'x-9' }, final(['p1-1', 'p1-2'])]);
    expect(r.vanished).toBe(1);
    expect(r.ok).toBe(false);
  });

  it('finds group violations: committed offset moving backwards, records below a commit never delivered, commits past the end', () => {
    const backwards = check([...base(), { t: 13, type: 'committed', invokedT: 12, offsets: [[0, 1]] }, final(['p1-1', 'p1-2'])]);
    expect(backwards.groupViolations).toBeGreaterThanOrEqual(1);
    expect(backwards.violations.some((v) => v.includes('moved backwards'))).toBe(true);
    expect(backwards.violations.some((v) => v.includes('answered 1'))).toBe(true);

    const undelivered = check([...base().filter((e) => !(e.type === 'deliver' && e.offset === 1)), final(['p1-1', 'p1-2'])]);
    expect(undelivered.violations.some((v) => v.includes('never delivered'))).toBe(true);

    const pastEnd = check([...base(), { t: 12, type: 'commit-ok', member: 'm1', partition: 0, offset: 5, op: 2 }, final(['p1-1', 'p1-2'])]);
    expect(pastEnd.violations.some((v) => v.includes('past the final log end'))).toBe(true);
  });

  it('a failed send is an unknown outcome: present or absent, no violation', () => {
    const h: HistoryEvent[] = [...base(), { t: 9, type: 'send', producer: 'p2', id: 'p2-1', key: 'k' }, { t: 10, type: 'send-fail', producer: 'p2', id: 'p2-1', error: 'REQUEST_TIMED_OUT', latencyMs: 5 }];
    expect(check([...h, final(['p1-1', 'p1-2'])]).ok).toBe(true);
    expect(check([...h, final(['p1-1', 'p1-2', 'p2-1'])]).ok).toBe(true);
  });

  it('finds a replica that disagrees with the final read below the high watermark; a lagging one is only counted', () => {
    const replica = (node: number, start: number, ids: Array<string | null>): HistoryEvent => ({ t: 30, type: 'replica', node, partition: 0, start, ids, stoppedAt: null });
    const ok = check([...base(), final(['p1-1', 'p1-2']), replica(1, 0, ['p1-1', 'p1-2', 'p1-3']), replica(2, 0, ['p1-1'])]);
    expect(ok.ok).toBe(true);
    expect(ok.replicasLagging).toBe(1);
    const bad = check([...base(), final(['p1-1', 'p1-2']), replica(3, 0, ['p1-1', 'x-1'])]);
    expect(bad.ok).toBe(false);
    expect(bad.replicaDivergent).toBe(1);
    expect(bad.violations[0]).toMatch(/^replica: node 3/);
    // Out of the final ISR, the same divergence is a follower still truncating: counted only.
    const isr: HistoryEvent = { t: 25, type: 'isr', partitions: [{ partition: 0, leader: 1, replicas: [1, 2, 3], isr: [1, 2] }], full: false };
    const unconverged = check([...base(), final(['p1-1', 'p1-2']), isr, replica(3, 0, ['p1-1', 'x-1'])]);
    expect(unconverged.ok).toBe(true);
    expect(unconverged).toMatchObject({ replicaDivergent: 0, unconvergedOffsets: 1, outOfIsr: 1 });
  });

  it('lists violations of tolerated kinds (known bugs) without failing the run', () => {
    const h = [...base(), { t: 13, type: 'committed', invokedT: 12, offsets: [[0, 1]] } as HistoryEvent, final(['p1-1', 'p1-2'])];
    const strict = check(h);
    expect(strict.ok).toBe(false);
    const tolerant = check(h, { tolerate: ['group-backwards', 'group-lost-commit'] });
    expect(tolerant.ok).toBe(true);
    expect(tolerant.known.length).toBe(2);
    expect(tolerant.groupViolations).toBe(2);
  });

  it('without a final read, counts acknowledged records that no replica holds as lost', () => {
    const replica = (node: number, ids: Array<string | null>): HistoryEvent => ({ t: 30, type: 'replica', node, partition: 0, start: 0, ids, stoppedAt: null });
    const r = check([...base(), replica(1, ['p1-1']), replica(2, ['p1-1', 'p1-2'])]);
    expect(r.lost).toBe(0);
    const gone = check([...base(), replica(1, ['p1-1']), replica(2, ['p1-1'])]);
    expect(gone.lost).toBe(1);
    expect(gone.violations.some((v) => v.startsWith('lost: p1-2'))).toBe(true);
  });

  it('reports a history without a final read as incomplete', () => {
    const r = check(base());
    expect(r.ok).toBe(false);
    expect(r.violations[0]).toMatch(/^incomplete/);
  });
});
