import { describe, expect, it } from 'vitest';
import { ErrorCode, FerryError } from '../../../src/protocol/errors.js';
import { converge, Harness, SimMember } from './helpers.js';

const DAY_MS = 24 * 3600_000;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof FerryError) return err.code;
    throw err;
  }
  return undefined;
}

const one = (topic: string, partition: number, offset: number, metadata = '') => [{ topic, partitions: [{ partition, offset, metadata, leaderEpoch: 0 }] }];

describe('committed offsets', () => {
  it('accepts a commit at the member epoch; rejects stale, future, unknown; per-partition errors', () => {
    const h = new Harness();
    h.topics({ orders: 4 });
    const a = new SimMember(h, 'g', { topics: ['orders'] });
    a.join();
    converge(h, [a], 'g');
    const res = h.keep(h.shard.commitOffsets({ groupId: 'g', memberId: a.id, memberEpoch: a.epoch, topics: [
      { topic: 'orders', partitions: [
        { partition: 0, offset: 10, metadata: 'hello', leaderEpoch: 0 },
        { partition: 9, offset: 1, metadata: '', leaderEpoch: 0 },
        { partition: 1, offset: -5, metadata: '', leaderEpoch: 0 },
        { partition: 2, offset: 1, metadata: 'x'.repeat(5000), leaderEpoch: 0 },
      ] },
      { topic: 'nope', partitions: [{ partition: 0, offset: 1, metadata: '', leaderEpoch: 0 }] },
    ] }, 0));
    expect(res.topics.map((t) => t.partitions.map((p) => p.error?.code ?? 'OK'))).toEqual([
      ['OK', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_COMMIT_OFFSET, ErrorCode.OFFSET_METADATA_TOO_LARGE],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    expect(h.shard.fetchOffsets('g', [{ topic: 'orders', partitions: [0, 1] }])).toEqual({
      topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: 10, metadata: 'hello', leaderEpoch: 0 }, { partition: 1, offset: -1, metadata: '', leaderEpoch: -1 }] }],
    });

    // A rebalance moves the member to a newer epoch: a commit at the old one is stale.
    const oldEpoch = a.epoch;
    const b = new SimMember(h, 'g', { topics: ['orders'] });
    b.join();
    converge(h, [a, b], 'g');
    expect(a.epoch).toBeGreaterThan(oldEpoch);
    const commit = (memberId: string, memberEpoch: number) => () => h.shard.commitOffsets({ groupId: 'g', memberId, memberEpoch, topics: one('orders', 0, 11) }, 0);
    expect(codeOf(commit(a.id, oldEpoch))).toBe(ErrorCode.STALE_MEMBER_EPOCH);
    expect(codeOf(commit(a.id, a.epoch + 1))).toBe(ErrorCode.FENCED_MEMBER_EPOCH);
    expect(codeOf(commit('ghost', 1))).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(codeOf(commit('', -1))).toBe(ErrorCode.UNKNOWN_MEMBER_ID); // group has members
    expect(codeOf(() => h.shard.alterOffsets('g', one('orders', 0, 0), 0))).toBe(ErrorCode.NON_EMPTY_GROUP);
    expect(codeOf(commit(a.id, a.epoch))).toBeUndefined();
  });

  it('a member mid-revocation can still commit at its epoch (commit on revoke)', () => {
    const h = new Harness();
    h.topics({ orders: 4 });
    const a = new SimMember(h, 'g', { topics: ['orders'] });
    a.join();
    converge(h, [a], 'g');
    new SimMember(h, 'g', { topics: ['orders'] }).join();
    const held = new Set(a.owned);
    a.beat();
    a.owned = held; // still revoking
    a.beat();
    expect(h.shard.describeGroup('g')!.state).toBe('RECONCILING');
    expect(codeOf(() => h.shard.commitOffsets({ groupId: 'g', memberId: a.id, memberEpoch: a.epoch, topics: one('orders', 3, 7) }, 0))).toBeUndefined();
  });

  it('simple commits for memberless groups; expiry after retention once empty; delete', () => {
    const h = new Harness({ offsetsRetentionMs: DAY_MS });
    h.topics({ orders: 2 });
    h.keep(h.shard.commitOffsets({ groupId: 'simple', memberId: '', memberEpoch: -1, topics: one('orders', 0, 5) }, 0));
    expect(h.shard.listGroups([])).toEqual([{ groupId: 'simple', state: 'EMPTY', members: 0 }]);

    const a = new SimMember(h, 'g', { topics: ['orders'] });
    a.join(0);
    h.keep(h.shard.commitOffsets({ groupId: 'g', memberId: a.id, memberEpoch: a.epoch, topics: one('orders', 1, 9) }, 0));
    expect(h.keep(h.shard.deleteGroups(['g', 'missing'])).map((r) => r.error?.code)).toEqual([ErrorCode.NON_EMPTY_GROUP, ErrorCode.GROUP_ID_NOT_FOUND]);
    a.leave(2 * DAY_MS); // g empty from day 2

    h.tick(DAY_MS + 1);
    expect(h.shard.fetchOffsets('simple', []).topics).toEqual([]);
    expect(h.shard.listGroups([]).map((g) => g.groupId)).toEqual(['g']);
    h.tick(2 * DAY_MS + 1000); // g's commit is old but g only became empty now
    expect(h.shard.fetchOffsets('g', []).topics[0]!.partitions[0]!.offset).toBe(9);
    h.keep(h.shard.alterOffsets('g', one('orders', 1, 3), 2 * DAY_MS + 2000));
    expect(h.shard.fetchOffsets('g', []).topics[0]!.partitions[0]!.offset).toBe(3);
    expect(h.keep(h.shard.deleteGroups(['g']))[0]!.error).toBeNull();
    expect(h.shard.listGroups([])).toEqual([]);
    expect(h.replayed().snapshot()).toEqual(h.shard.snapshot());
  });
});

describe('topic deletion', () => {
  it('removes committed offsets of a deleted topic, and only that topic', () => {
    const h = new Harness();
    h.topics({ a: 1, b: 1 });
    h.keep(h.shard.commitOffsets({ groupId: 'g', memberId: '', memberEpoch: -1, topics: [...one('a', 0, 1), ...one('b', 0, 2)] }, 0));
    h.topics({ b: 1 });
    expect(h.shard.fetchOffsets('g', []).topics.map((t) => t.topic)).toEqual(['b']);
    expect(h.replayed().snapshot()).toEqual(h.shard.snapshot());
  });
});
