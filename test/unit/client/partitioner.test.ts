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
