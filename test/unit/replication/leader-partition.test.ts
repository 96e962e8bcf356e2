// LeaderPartition: HW over the maximal ISR gated by min.insync.replicas (KIP-966), ISR expand/shrink
// through AlterPartition with one change in flight, acks=all waiters, fencing and divergence answers.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { ACKS_ALL } from '../../../src/replication/isr/index.js';
import { CONFIG, fetch, leader, logWith } from './helpers.js';

const log10 = logWith(Array(10).fill(5));

describe('LeaderPartition high watermark', () => {
  it('is the minimum LEO over the ISR and never moves backwards', () => {
    const l = leader({ logEndOffset: 10 });
    expect(l.onFollowerFetch(fetch(2, 6), log10, 1).effects.highWatermark).toBe(null); // 3 unknown yet
    expect(l.onFollowerFetch(fetch(3, 4), log10, 2).effects.highWatermark).toBe(4);
    expect(l.onFollowerFetch(fetch(3, 9), log10, 3).effects.highWatermark).toBe(6);
    // A follower reporting a lower offset (it restarted) cannot pull the HW back.
    const r = l.onFollowerFetch(fetch(2, 2), log10, 4);
    expect(r.effects.highWatermark).toBe(null);
    expect(l.highWatermark).toBe(6);
  });

  it('does not advance while the ISR is below min.insync.replicas, even with acks=1 data', () => {
    const l = leader({ isr: [1], logEndOffset: 10 });
    expect(l.onLocalAppend(12, 1).highWatermark).toBe(null);
    expect(l.appendCheck(ACKS_ALL)).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
    expect(l.appendCheck(1)).toBe(null);
  });

  it('with RF 1 and min.insync.replicas 1 follows the leader LEO', () => {
    const l = leader({ replicas: [1], isr: [1], config: { ...CONFIG, minInsyncReplicas: 1 } });
    expect(l.onLocalAppend(3, 1).highWatermark).toBe(3);
  });

  it('does not count a fetch that diverged, or serve records to it', () => {
    const l = leader({ logEndOffset: 10 });
    const log = logWith([3, 3, 3, 5, 5, 5, 5, 5, 5, 5]);
    const r = l.onFollowerFetch(fetch(2, 6, 4), log, 1); // our epoch 4 never existed on the leader
    expect(r.kind).toBe('diverging');
    if (r.kind === 'diverging') expect(r.divergingEpoch).toEqual({ epoch: 3, endOffset: 3 });
    expect(l.followerEndOffset(2)).toBe(-1);
    const r2 = l.onFollowerFetch(fetch(2, 12, 5), log, 1); // past the end of epoch 5 (= LEO 10)
    expect(r2.kind).toBe('diverging');
  });

  it('fences fetches from other leader epochs', () => {
    const l = leader({ logEndOffset: 10 });
    expect(l.onFollowerFetch(fetch(2, 1, 5, 4), log10, 1)).toMatchObject({ kind: 'error', error: ErrorCode.FENCED_LEADER_EPOCH });
    expect(l.onFollowerFetch(fetch(2, 1, 5, 6), log10, 1)).toMatchObject({ kind: 'error', error: ErrorCode.UNKNOWN_LEADER_EPOCH });
    expect(l.onFollowerFetch(fetch(9, 1), log10, 1)).toMatchObject({ kind: 'error', error: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    expect(l.onFollowerFetch(fetch(2, 11, -1), log10, 1)).toMatchObject({ kind: 'error', error: ErrorCode.OFFSET_OUT_OF_RANGE });
  });
});

describe('LeaderPartition ISR changes', () => {
  it('expands with a follower at the HW and the epoch start; the pending member holds the HW back', () => {
    const l = leader({ isr: [1, 2], logEndOffset: 2 });
    l.onLocalAppend(10, 0);
    l.onFollowerFetch(fetch(2, 8), log10, 1);
    expect(l.highWatermark).toBe(8);
    const r = l.onFollowerFetch(fetch(3, 9, 5, 5, 42), log10, 2);
    expect(r.effects.alterPartition).toMatchObject({ leaderEpoch: 5, partitionEpoch: 10, newIsr: [{ brokerId: 1 }, { brokerId: 2 }, { brokerId: 3, brokerEpoch: 42 }] });
    expect(l.maximalIsr).toEqual([1, 2, 3]);
    l.onFollowerFetch(fetch(2, 10), log10, 3);
    expect(l.highWatermark).toBe(9); // waits for 3, which may already be in the controller's ISR
    const proposal = l.pendingAlter!;
    l.onAlterPartitionAnswer({ requestId: proposal.requestId, accepted: true, state: { leaderEpoch: 5, partitionEpoch: 11, isr: [1, 2, 3] } });
    expect([l.isr, l.partitionEpoch, l.pendingAlter]).toEqual([[1, 2, 3], 11, null]);
  });

  it('does not propose a replica the metadata calls ineligible (fenced, shutting down: KIP-841)', () => {
    let eligible = false;
    const l = leader({ isr: [1, 2], logEndOffset: 2, config: { ...CONFIG, isIsrEligible: (id) => id !== 3 || eligible } });
    l.onLocalAppend(10, 0);
    expect(l.onFollowerFetch(fetch(3, 10), log10, 1).effects.alterPartition).toBe(null);
    expect(l.maximalIsr).toEqual([1, 2]);
    eligible = true;
    expect(l.onFollowerFetch(fetch(3, 10), log10, 2).effects.alterPartition).toMatchObject({ newIsr: [{ brokerId: 1 }, { brokerId: 2 }, { brokerId: 3 }] });
  });

  it('does not expand a follower below the start of its leader epoch', () => {
    const l = leader({ isr: [1, 2], logEndOffset: 10, highWatermark: 4 });
    expect(l.onFollowerFetch(fetch(3, 6), log10, 1).effects.alterPartition).toBe(null);
  });

  it('shrinks followers not caught up for replica.lag.time.max.ms, one change at a time', () => {
    const l = leader({ logEndOffset: 10 });
    l.onFollowerFetch(fetch(2, 10), log10, 0);
    l.onFollowerFetch(fetch(3, 5), log10, 0);
    expect(l.tick(100).alterPartition).toBe(null);
    l.onFollowerFetch(fetch(2, 10), log10, 150); // 2 keeps up
    const shrink = l.tick(150).alterPartition!;
    expect(shrink.newIsr.map((m) => m.brokerId)).toEqual([1, 2]);
    expect(l.tick(160).alterPartition).toBe(null); // in flight
    expect(l.tick(200).alterPartition).toBe(shrink); // resent after alterPartitionRetryMs
    l.onAlterPartitionAnswer({ requestId: shrink.requestId, accepted: true, state: { leaderEpoch: 5, partitionEpoch: 11, isr: [1, 2] } });
    expect(l.highWatermark).toBe(10); // 3 no longer holds it back
  });

  it('keeps a rejected expansion in the maximal ISR until a newer partition epoch (a resent copy may still apply)', () => {
    const l = leader({ isr: [1, 2], logEndOffset: 0 });
    l.onLocalAppend(10, 0);
    l.onFollowerFetch(fetch(2, 5), log10, 1);
    const p = l.onFollowerFetch(fetch(3, 5), log10, 1).effects.alterPartition!;
    l.onAlterPartitionAnswer({ requestId: p.requestId, accepted: false, state: { leaderEpoch: 5, partitionEpoch: 10, isr: [1, 2] } });
    expect(l.pendingAlter).toBe(null);
    expect(l.maximalIsr).toContain(3);
    l.onPartitionState({ leaderEpoch: 5, partitionEpoch: 10, isr: [1, 2] }); // same version settles nothing
    expect(l.maximalIsr).toContain(3);
    l.onPartitionState({ leaderEpoch: 5, partitionEpoch: 11, isr: [1, 2] });
    expect(l.maximalIsr).toEqual([1, 2]);
  });

  it('ignores answers to other requests and steps aside on a newer leader epoch', () => {
    const l = leader({ logEndOffset: 10 });
    expect(l.onAlterPartitionAnswer({ requestId: 99, accepted: true, state: { leaderEpoch: 5, partitionEpoch: 12, isr: [1] } }).completed).toEqual([]);
    expect(l.isr).toEqual([1, 2, 3]);
    l.addAckWaiter(1, 3, 1000);
    l.onLocalAppend(10, 0);
    const e = l.onPartitionState({ leaderEpoch: 6, partitionEpoch: 13, isr: [2, 3] });
    expect(e.completed).toEqual([{ id: 1, error: ErrorCode.NOT_LEADER_OR_FOLLOWER }]);
    expect(l.isLeading).toBe(false);
  });
});

describe('LeaderPartition acks=all waiters', () => {
  it('complete when the HW passes them, time out, or fail when the ISR drops below min.insync.replicas', () => {
    const l = leader({ logEndOffset: 10 });
    expect(l.addAckWaiter(1, 4, 100).completed).toEqual([]);
    expect(l.addAckWaiter(2, 8, 100).completed).toEqual([]);
    expect(l.addAckWaiter(3, 10, 50).completed).toEqual([]);
    l.onFollowerFetch(fetch(2, 10), log10, 1);
    expect(l.onFollowerFetch(fetch(3, 5), log10, 1).effects.completed).toEqual([{ id: 1, error: null }]);
    expect(l.tick(60).completed).toEqual([{ id: 3, error: ErrorCode.REQUEST_TIMED_OUT }]);
    const e = l.onPartitionState({ leaderEpoch: 5, partitionEpoch: 11, isr: [1] });
    expect(e.completed).toEqual([{ id: 2, error: ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND }]);
    expect(l.appendCheck(ACKS_ALL)).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
  });

  it('completes at once when the HW is already past, and fails everything on resign', () => {
    const l = leader({ logEndOffset: 10, highWatermark: 6 });
    expect(l.addAckWaiter(1, 6, 100).completed).toEqual([{ id: 1, error: null }]);
    l.addAckWaiter(2, 9, 100);
    expect(l.resign().completed).toEqual([{ id: 2, error: ErrorCode.NOT_LEADER_OR_FOLLOWER }]);
    expect(l.appendCheck(1)).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });
});
