// FollowerPartition: fetch requests from the local log, KIP-320/KIP-279 truncation rounds, fencing,
// out-of-range recovery, lost answers.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { FollowerPartition, findDivergence, truncationFor, type FetchAnswer } from '../../../src/replication/isr/index.js';
import { logWith } from './helpers.js';

function follower(truncateFirst = false): FollowerPartition {
  return new FollowerPartition({ brokerId: 2, brokerEpoch: 7, leaderId: 1, leaderEpoch: 6, truncateFirst, nowMs: 0, fetchBackoffMs: 10, requestTimeoutMs: 100 });
}

function answer(requestId: number, over: Partial<FetchAnswer> = {}): FetchAnswer {
  return { requestId, error: null, highWatermark: 0, logStartOffset: 0, logEndOffset: 0, divergingEpoch: null, hasRecords: false, ...over };
}

describe('FollowerPartition', () => {
  it('fetches from its LEO with its latest epoch, one request at a time', () => {
    const f = follower();
    const log = logWith([1, 1, 3]);
    const req = f.poll(log, 0)!;
    expect(req).toMatchObject({ kind: 'fetch', fetchOffset: 3, lastFetchedEpoch: 3, currentLeaderEpoch: 6, brokerEpoch: 7 });
    expect(f.poll(log, 1)).toBe(null);
    expect(f.onFetchResponse(answer(req.requestId, { hasRecords: true, highWatermark: 9 }), log, 2)).toEqual({ kind: 'append', leaderHighWatermark: 9 });
    log.append({ epoch: 6, id: 1 });
    expect(f.onAppended(log)).toBe(4); // min(leader HW, our LEO)
    expect(f.poll(log, 3)).toMatchObject({ fetchOffset: 4, lastFetchedEpoch: 6 });
  });

  it('KIP-101: a divergent tail from a dead leader is truncated before anything is appended', () => {
    // Leader (epochs 1,1,2,2 then 3 as new leader); follower wrote 1,1,2,2,2,2 under the old leader of epoch 2...
    const leaderLog = logWith([1, 1, 2, 2, 4]);
    const followerLog = logWith([1, 1, 2, 2, 3, 3]); // ...and epoch 3 the leader never saw
    const f = follower();
    const req = f.poll(followerLog, 0)!;
    if (req.kind !== 'fetch') throw new Error('expected a fetch');
    const div = findDivergence(leaderLog, req.fetchOffset, req.lastFetchedEpoch);
    expect(div).toEqual({ epoch: 2, endOffset: 4 });
    expect(f.onFetchResponse(answer(req.requestId, { divergingEpoch: div as { epoch: number; endOffset: number } }), followerLog, 1)).toEqual({ kind: 'truncate', offset: 4 });
    followerLog.truncateTo(4);
    f.onTruncated();
    const again = f.poll(followerLog, 2)!;
    expect(again).toMatchObject({ fetchOffset: 4, lastFetchedEpoch: 2 });
    if (again.kind === 'fetch') expect(findDivergence(leaderLog, again.fetchOffset, again.lastFetchedEpoch)).toBe(null);
  });

  it('KIP-279: truncates over several rounds when it lacks the leader epoch', () => {
    const follower3 = logWith([1, 1, 1, 3, 3]);
    // Leader's largest epoch ≤ 3 is 2, ending at 6; the follower has no epoch 2: drop epoch 3 first.
    expect(truncationFor({ epoch: 2, endOffset: 6 }, follower3)).toEqual({ offset: 3, complete: false });
    // Then: our epoch 1 ends at 3, the leader's at 2.
    follower3.truncateTo(3);
    expect(truncationFor({ epoch: 1, endOffset: 2 }, follower3)).toEqual({ offset: 2, complete: true });
    // Undefined answers fall back to the HW.
    follower3.setHighWatermark(1);
    expect(truncationFor({ epoch: -1, endOffset: -1 }, follower3)).toEqual({ offset: 1, complete: true });
  });

  it('drops an epoch it led but never wrote in, then truncates its stale tail (sim seed 6995)', () => {
    // We led epoch 1 (stale: the controller had moved on) and wrote 8..11; then led epoch 4 without writing.
    const ours = logWith([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    ours.assignEpoch(4, 12);
    const leader = logWith([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 6]);
    const f = follower();
    const req = f.poll(ours, 0)!;
    expect(req).toMatchObject({ fetchOffset: 12, lastFetchedEpoch: 4 });
    const div = findDivergence(leader, 12, 4) as { epoch: number; endOffset: number };
    expect(div).toEqual({ epoch: 2, endOffset: 13 });
    // Our epoch ≤ 2 is 1, ending at 12 (= LEO): "truncate" to the LEO drops the empty epoch 4; no HW from this answer.
    expect(f.onFetchResponse(answer(req.requestId, { divergingEpoch: div, highWatermark: 13 }), ours, 1)).toEqual({ kind: 'truncate', offset: 12 });
    ours.truncateTo(12);
    f.onTruncated();
    const again = f.poll(ours, 2)!;
    expect(again).toMatchObject({ fetchOffset: 12, lastFetchedEpoch: 1 });
    const div2 = findDivergence(leader, 12, 1) as { epoch: number; endOffset: number };
    expect(div2).toEqual({ epoch: 1, endOffset: 10 });
    expect(f.onFetchResponse(answer(again.requestId, { divergingEpoch: div2 }), ours, 3)).toEqual({ kind: 'truncate', offset: 10 });
  });

  it('asks OffsetForLeaderEpoch first when configured', () => {
    const f = follower(true);
    const log = logWith([1, 1, 2, 2, 2]);
    const q = f.poll(log, 0)!;
    expect(q).toMatchObject({ kind: 'offset-for-leader-epoch', requestedEpoch: 2, currentLeaderEpoch: 6 });
    expect(f.onOffsetForLeaderEpochResponse({ requestId: q.requestId, error: null, epochEnd: { epoch: 2, endOffset: 3 } }, log, 1)).toEqual({ kind: 'truncate', offset: 3 });
    log.truncateTo(3);
    f.onTruncated();
    expect(f.poll(log, 2)).toMatchObject({ kind: 'fetch', fetchOffset: 3 });
  });

  it('waits for metadata when fenced and backs off on other errors', () => {
    const f = follower();
    const log = logWith([]);
    const r1 = f.poll(log, 0)!;
    expect(f.onFetchResponse(answer(r1.requestId, { error: ErrorCode.FENCED_LEADER_EPOCH }), log, 1)).toEqual({ kind: 'await-metadata', error: ErrorCode.FENCED_LEADER_EPOCH });
    expect(f.poll(log, 1000)).toBe(null);
    const g = follower();
    const r2 = g.poll(log, 0)!;
    expect(g.onFetchResponse(answer(r2.requestId, { error: ErrorCode.STORAGE_ERROR }), log, 1)).toMatchObject({ kind: 'backoff', untilMs: 11 });
    expect(g.poll(log, 5)).toBe(null);
    expect(g.poll(log, 11)).not.toBe(null);
  });

  it('recovers from OFFSET_OUT_OF_RANGE by truncating to the leader end or jumping to its start', () => {
    const f = follower();
    const log = logWith([1, 1, 1]);
    const r = f.poll(log, 0)!;
    expect(f.onFetchResponse(answer(r.requestId, { error: ErrorCode.OFFSET_OUT_OF_RANGE, logEndOffset: 1 }), log, 1)).toEqual({ kind: 'truncate', offset: 1 });
    const g = follower();
    const r2 = g.poll(log, 0)!;
    expect(g.onFetchResponse(answer(r2.requestId, { error: ErrorCode.OFFSET_OUT_OF_RANGE, logStartOffset: 50, logEndOffset: 60 }), log, 1)).toEqual({ kind: 'truncate-fully', offset: 50 });
  });

  it('resends after a lost answer and ignores the late one', () => {
    const f = follower();
    const log = logWith([1]);
    const r1 = f.poll(log, 0)!;
    expect(f.wakeAtMs()).toBe(100);
    const r2 = f.poll(log, 100)!;
    expect(r2.requestId).not.toBe(r1.requestId);
    expect(f.onFetchResponse(answer(r1.requestId, { hasRecords: true }), log, 101)).toEqual({ kind: 'ignored' });
    expect(f.onFetchResponse(answer(r2.requestId, { highWatermark: 5 }), log, 102)).toEqual({ kind: 'high-watermark', highWatermark: 1 });
  });
});
