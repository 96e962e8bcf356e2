// Snapshots: taking one compacts the log; a lagging follower gets InstallSnapshot in chunks.
import { describe, expect, it } from 'vitest';
import type { Snapshot, SnapshotRequest } from '../../../src/replication/raft/index.js';
import { appendReq, electLeader, entries, entry, fsyncAll, makeNode, ofType } from './helpers.js';

const snap = (index: number, term: number, bytes: number[]): Snapshot => ({ index, term, data: new Uint8Array(bytes) });

function chunk(offset: number, data: number[], done: boolean, index = 5, term = 2): SnapshotRequest {
  return { type: 'snapshot_request', from: 2, to: 1, term: 3, lastIncludedIndex: index, lastIncludedTerm: term, offset, data: new Uint8Array(data), done };
}

describe('snapshots', () => {
  it('hints a snapshot after snapshotIntervalEntries applied entries, then compacts on snapshotTaken', () => {
    const node = makeNode({ snapshotIntervalEntries: 3 });
    const out = node.receive(appendReq(2, 1, 1, [0, 0], entries(1, 1, 1, 1), 4), 0);
    expect(out.effects.at(-1)).toEqual({ type: 'takeSnapshot', index: 4, term: 1 });
    const compact = node.snapshotTaken(snap(4, 1, [1, 2, 3]), 1);
    expect(compact.effects).toEqual([{ type: 'compactLog', throughIndex: 4 }]);
    expect([node.log.snapshotIndex, node.log.lastIndex(), node.snapshot?.index]).toEqual([4, 4, 4]);
  });

  it('the leader sends its snapshot in chunks to a follower that needs compacted entries', () => {
    const leader = makeNode({ snapshot: snap(4, 1, [1, 2, 3, 4, 5]), log: [entry(5, 1)], hardState: { term: 1, votedFor: null }, snapshotChunkBytes: 2 });
    electLeader(leader, 100); // term 2, no-op at 6
    fsyncAll(leader, 100);
    const reject = leader.receive({ type: 'append_response', from: 2, to: 1, term: 2, success: false, matchIndex: 0, appendedIndex: 0, conflictIndex: 1, conflictTerm: null }, 101);
    const first = ofType(reject, 'snapshot_request')[0]!;
    expect([first.lastIncludedIndex, first.offset, [...first.data], first.done]).toEqual([4, 0, [1, 2], false]);
    const next = ofType(leader.receive({ type: 'snapshot_response', from: 2, to: 1, term: 2, lastIncludedIndex: 4, nextOffset: 2, done: false }, 102), 'snapshot_request')[0]!;
    expect([next.offset, [...next.data]]).toEqual([2, [3, 4]]);
    leader.receive({ type: 'snapshot_response', from: 2, to: 1, term: 2, lastIncludedIndex: 4, nextOffset: 4, done: false }, 103);
    const done = leader.receive({ type: 'snapshot_response', from: 2, to: 1, term: 2, lastIncludedIndex: 4, nextOffset: 5, done: true }, 104);
    // Back to AppendEntries right after the snapshot.
    expect(ofType(done, 'append_request')[0]).toMatchObject({ prevLogIndex: 4, prevLogTerm: 1 });
    expect(leader.leaderState().peer(2).matchIndex).toBe(4);
  });

  it('a follower assembles chunks, rejects a gap, and installs durably before answering', () => {
    const node = makeNode({ log: entries(1, 1), hardState: { term: 1, votedFor: null } });
    expect(ofType(node.receive(chunk(0, [7, 8], false), 0), 'snapshot_response')[0]).toMatchObject({ nextOffset: 2, done: false });
    expect(ofType(node.receive(chunk(5, [0], false), 1), 'snapshot_response')[0]).toMatchObject({ nextOffset: 2, done: false });
    const out = node.receive(chunk(2, [9], true), 2);
    expect(out.effects.find((e) => e.type === 'installSnapshot')).toEqual({ type: 'installSnapshot', snapshot: snap(5, 2, [7, 8, 9]), discardLog: true });
    expect(ofType(out, 'snapshot_response')[0]).toMatchObject({ done: true, lastIncludedIndex: 5 });
    expect([node.commitIndex, node.lastApplied, node.durableIndex, node.log.lastIndex()]).toEqual([5, 5, 5, 5]);
  });

  it('keeps log entries past the snapshot when its log holds the snapshot\'s last entry', () => {
    const node = makeNode({ log: entries(1, 1, 2, 2, 2, 2, 2), hardState: { term: 2, votedFor: null } });
    const out = node.receive(chunk(0, [1], true, 5, 2), 0);
    expect(out.effects.find((e) => e.type === 'installSnapshot')).toMatchObject({ discardLog: false });
    expect([node.log.snapshotIndex, node.log.lastIndex()]).toEqual([5, 7]);
  });

  it('answers done without installing a snapshot it already covers', () => {
    const node = makeNode();
    node.receive(appendReq(2, 1, 3, [0, 0], entries(1, 1, 1, 1, 1, 1), 6), 0);
    const out = node.receive(chunk(0, [1], true, 5, 1), 1);
    expect(out.effects.filter((e) => e.type === 'installSnapshot')).toEqual([]);
    expect(ofType(out, 'snapshot_response')[0]).toMatchObject({ done: true });
  });
});
