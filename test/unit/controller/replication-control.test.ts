// AlterPartition (ISR changes from leaders) and automatic preferred-leader restoration.
import { describe, expect, it } from 'vitest';
import { alterPartitionErrorCode, type AlterPartitionResult } from '../../../src/controller/index.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { Harness, sameImage } from './helpers.js';

function setup(): Harness {
  const h = new Harness();
  h.startBrokers(3);
  h.createTopic('t', 1, 3);
  return h;
}

function alter(h: Harness, isr: number[], over: { leader?: number; brokerEpoch?: number; leaderEpoch?: number; partitionEpoch?: number; topicId?: string; memberEpoch?: (b: number) => number } = {}): AlterPartitionResult {
  const reg = h.partition('t', 0);
  const leader = over.leader ?? reg.leader;
  return h.run((c, ctx) => c.alterPartition({
    brokerId: leader, brokerEpoch: over.brokerEpoch ?? h.epochs.get(leader)!,
    topics: [{
      topicId: over.topicId ?? h.image.topicByName('t')!.id,
      partitions: [{
        partition: 0, leaderEpoch: over.leaderEpoch ?? reg.leaderEpoch, partitionEpoch: over.partitionEpoch ?? reg.partitionEpoch,
        newIsr: isr.map((b) => ({ brokerId: b, brokerEpoch: over.memberEpoch?.(b) ?? h.epochs.get(b)! })),
      }],
    }],
  }, ctx)).results[0]!;
}

describe('AlterPartition', () => {
  it('accepts a shrink and an expansion from the leader, bumping the partition epoch only', () => {
    const h = setup();
    const reg = h.partition('t', 0);
    const follower = reg.replicas.find((b) => b !== reg.leader)!;
    const shrunk = alter(h, reg.isr.filter((b) => b !== follower));
    expect(shrunk.error).toBe(null);
    expect(shrunk.registration).toMatchObject({ leader: reg.leader, leaderEpoch: reg.leaderEpoch, partitionEpoch: reg.partitionEpoch + 1 });
    expect(h.partition('t', 0).isr).not.toContain(follower);
    const grown = alter(h, [...h.partition('t', 0).isr, follower]);
    expect(grown.error).toBe(null);
    expect([...h.partition('t', 0).isr].sort()).toEqual([1, 2, 3]);
    expect(sameImage(h.replay(), h.image)).toBe(true);
  });

  it('rejects stale leader epochs, stale partition epochs, non-leaders and stale broker epochs', () => {
    const h = setup();
    const reg = h.partition('t', 0);
    const follower = reg.replicas.find((b) => b !== reg.leader)!;
    const isr = reg.isr.filter((b) => b !== follower);
    const logLength = h.log.length;
    expect(alter(h, isr, { leaderEpoch: reg.leaderEpoch - 1 }).error).toBe('FENCED_LEADER_EPOCH');
    expect(alter(h, isr, { partitionEpoch: reg.partitionEpoch + 3 }).error).toBe('INVALID_UPDATE_VERSION');
    expect(alter(h, isr, { leader: follower }).error).toBe('NOT_LEADER');
    expect(alter(h, isr, { brokerEpoch: 999 }).error).toBe('NOT_LEADER');
    expect(alter(h, isr, { topicId: 'nope' })).toMatchObject({ error: 'UNKNOWN_TOPIC_OR_PARTITION', registration: null });
    expect(alter(h, [follower]).error).toBe('INVALID_REQUEST'); // leader not in its own ISR
    expect(h.log.length).toBe(logLength);
    // Rejections carry the current registration so the leader can resync.
    expect(alter(h, isr, { leaderEpoch: reg.leaderEpoch - 1 }).registration).toEqual(reg);
    expect(alterPartitionErrorCode('FENCED_LEADER_EPOCH')!.code).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    expect(alterPartitionErrorCode(null)).toBe(null);
  });

  it('refuses to add a fenced broker, one in controlled shutdown, or an old incarnation', () => {
    const h = setup();
    const reg = h.partition('t', 0);
    const [a, b] = reg.replicas.filter((x) => x !== reg.leader) as [number, number];
    alter(h, reg.isr.filter((x) => x !== a && x !== b));
    h.heartbeat(b, { wantShutdown: true });
    expect(alter(h, [...h.partition('t', 0).isr, b]).error).toBe('INELIGIBLE_REPLICA');
    expect(alter(h, [...h.partition('t', 0).isr, a], { memberEpoch: (x) => (x === a ? 1234 : h.epochs.get(x)!) }).error).toBe('INELIGIBLE_REPLICA');
    h.heartbeat(a, { wantFence: true });
    expect(alter(h, [...h.partition('t', 0).isr, a]).error).toBe('INELIGIBLE_REPLICA');
  });

  it('an INELIGIBLE_REPLICA refusal bumps the partition epoch, so no copy of the proposal can apply later', () => {
    const h = setup();
    const reg = h.partition('t', 0);
    const a = reg.replicas.find((x) => x !== reg.leader)!;
    alter(h, reg.isr.filter((x) => x !== a));
    h.heartbeat(a, { wantFence: true });
    const before = h.partition('t', 0);
    const refused = alter(h, [...before.isr, a]);
    expect(refused.error).toBe('INELIGIBLE_REPLICA');
    expect(refused.registration).toEqual({ ...before, partitionEpoch: before.partitionEpoch + 1 });
    expect(h.partition('t', 0)).toEqual(refused.registration);
    // The broker is back with the same epoch: a late copy built on the old partition epoch is void.
    h.heartbeat(a);
    expect(alter(h, [...before.isr, a], { partitionEpoch: before.partitionEpoch }).error).toBe('INVALID_UPDATE_VERSION');
    expect(h.partition('t', 0).isr).not.toContain(a);
    expect(sameImage(h.replay(), h.image)).toBe(true);
  });
});

describe('preferred leader election', () => {
  it('restores the preferred leader once it is back in the ISR', () => {
    const h = new Harness();
    h.startBrokers(3);
    h.createTopic('p', 3, 3);
    const preferred = h.image.partitionsLedBy(1).map((p) => p.partition);
    expect(preferred.length).toBe(1);
    const epoch = h.epochs.get(1)!;
    h.heartbeat(1, { wantShutdown: true });
    h.advance(1_500, [2, 3]);
    const moved = h.partition('p', preferred[0]!);
    expect(moved.leader).not.toBe(1);
    // Broker 1 returns cleanly; not in the ISR yet → stays a follower through imbalance checks.
    h.register(1, { previousBrokerEpoch: epoch });
    h.advance(1_000, [1, 2, 3]);
    expect(h.partition('p', preferred[0]!).leader).toBe(moved.leader);
    // Its leader adds it back to the ISR (caught up); the next imbalance check moves leadership back.
    const reg = h.partition('p', preferred[0]!);
    const res = h.run((c, ctx) => c.alterPartition({
      brokerId: reg.leader, brokerEpoch: h.epochs.get(reg.leader)!,
      topics: [{ topicId: h.image.topicByName('p')!.id, partitions: [{ partition: preferred[0]!, leaderEpoch: reg.leaderEpoch, partitionEpoch: reg.partitionEpoch, newIsr: [...reg.isr, 1].map((b) => ({ brokerId: b, brokerEpoch: h.epochs.get(b)! })) }] }],
    }, ctx)).results[0]!;
    expect(res.error).toBe(null);
    h.advance(600, [1, 2, 3]);
    expect(h.partition('p', preferred[0]!)).toMatchObject({ leader: 1, leaderEpoch: reg.leaderEpoch + 1 });
    for (const b of [1, 2, 3]) expect(h.image.partitionsLedBy(b).length).toBe(1);
  });
});
