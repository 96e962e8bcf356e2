import { describe, expect, it } from 'vitest';
import { DefaultPartitioner, Murmur2Partitioner, RoundRobinPartitioner, StickyPartitionCache } from '../../../src/client/partitioner.js';
import { partitionForKey } from '../../../src/client/murmur2.js';

function seq(values: number[]): (max: number) => number {
  let i = 0;
  return (max) => values[i++ % values.length]! % max;
}

describe('DefaultPartitioner', () => {
  it('sends keyed records where Kafka would', () => {
    const p = new DefaultPartitioner();
    for (const key of ['foobar', 'abc', 'user-42', 'ключ']) {
      expect(p.partition('t', key, 12)).toBe(partitionForKey(key, 12));
      expect(p.partition('t', Buffer.from(key), 12)).toBe(partitionForKey(key, 12));
    }
  });

  it('sticks null keys to one partition until its batch closes, then moves to another', () => {
    const p = new DefaultPartitioner(seq([3, 0, 5]));
    const first = p.partition('t', null, 8);
    expect(first).toBe(3);
    for (let i = 0; i < 100; i++) expect(p.partition('t', undefined, 8)).toBe(3);
    // A batch of another partition closing does not move the sticky one.
    p.onBatchClosed('t', 5, 8);
    expect(p.partition('t', null, 8)).toBe(3);
    p.onBatchClosed('t', 3, 8);
    const second = p.partition('t', null, 8);
    expect(second).not.toBe(3);
    expect(second).toBe(0);
    p.onBatchClosed('t', 0, 8);
    // randomInt(7) = 5 → skipping the previous (0) gives 6.
    expect(p.partition('t', null, 8)).toBe(6);
  });

  it('keeps sticky choices per topic', () => {
    const p = new DefaultPartitioner(seq([1, 2]));
    expect(p.partition('a', null, 4)).toBe(1);
    expect(p.partition('b', null, 4)).toBe(2);
    expect(p.partition('a', null, 4)).toBe(1);
  });

  it('never picks the same partition twice in a row when there are several', () => {
    const cache = new StickyPartitionCache();
    let prev = cache.partition('t', 3);
    for (let i = 0; i < 200; i++) {
      cache.onBatchClosed('t', prev, 3);
      const next = cache.partition('t', 3);
      expect(next).not.toBe(prev);
      expect(next).toBeGreaterThanOrEqual(0);
      expect(next).toBeLessThan(3);
      prev = next;
    }
  });

  it('with one partition always picks 0', () => {
    const p = new DefaultPartitioner();
    p.onBatchClosed('t', 0, 1);
    expect(p.partition('t', null, 1)).toBe(0);
  });
});

describe('other partitioners', () => {
  it('murmur2 hashes keys and round-robins null keys', () => {
    const p = new Murmur2Partitioner();
    expect(p.partition('t', 'foobar', 10)).toBe(partitionForKey('foobar', 10));
    expect([0, 1, 2, 3].map(() => p.partition('t', null, 3))).toEqual([0, 1, 2, 0]);
  });

  it('roundrobin ignores keys', () => {
    const p = new RoundRobinPartitioner();
    expect([0, 1, 2, 3].map(() => p.partition('t', 'same', 3))).toEqual([0, 1, 2, 0]);
  });
});

describe('partitions without a leader', () => {
  const leaders = (...led: boolean[]) => led.map((l) => ({ address: l ? 'b:1' : null }));

  it('sticky null keys leave a partition that lost its leader, and pick only led ones', () => {
    const p = new DefaultPartitioner(seq([2, 0, 1, 0]));
    expect(p.partition('t', null, 4, leaders(true, true, true, true))).toBe(2);
    // Partition 2 goes offline: the next record moves to a led partition (0 or 3 here).
    const moved = p.partition('t', null, 4, leaders(true, false, false, true));
    expect([0, 3]).toContain(moved);
    for (let i = 0; i < 50; i++) {
      p.onBatchClosed('t', p.partition('t', null, 4, leaders(true, false, false, true)), 4);
      expect([0, 3]).toContain(p.partition('t', null, 4, leaders(true, false, false, true)));
    }
  });

  it('with no partition led anywhere, keeps choosing as before', () => {
    const p = new DefaultPartitioner(seq([1]));
    expect(p.partition('t', null, 3, leaders(false, false, false))).toBe(1);
    expect(p.partition('t', null, 3, leaders(false, false, false))).toBe(1);
  });

  it('keyed records keep their partition even without a leader', () => {
    const p = new DefaultPartitioner();
    const k = partitionForKey('user-1', 4);
    const led = leaders(true, true, true, true);
    led[k] = { address: null };
    expect(p.partition('t', 'user-1', 4, led)).toBe(k);
  });

  it('round robin skips partitions without a leader', () => {
    const p = new RoundRobinPartitioner();
    const l = leaders(true, false, true);
    expect([0, 1, 2, 3].map(() => p.partition('t', 'k', 3, l))).toEqual([0, 2, 0, 2]);
    expect(p.partition('t', null, 3, leaders(false, false, false))).toBeGreaterThanOrEqual(0);
  });
});
