// Log replication: follower consistency check, conflict hints, truncation, the durable-ack barrier;
// leader backtracking, the current-term commit rule (Figure 8), proposals and redirection.
import { describe, expect, it } from 'vitest';
import type { AppendResponse } from '../../../src/replication/raft/index.js';
import { appendReq, electLeader, entries, entry, fsyncAll, makeNode, ofType } from './helpers.js';

function ok(from: number, term: number, match: number, appended = match): AppendResponse {
  return { type: 'append_response', from, to: 1, term, success: true, matchIndex: match, appendedIndex: appended, conflictIndex: 0, conflictTerm: null };
}

describe('AppendEntries: follower', () => {
  it('rejects a stale term with its own term so the old leader steps down', () => {
    const node = makeNode({ hardState: { term: 5, votedFor: null } });
    const resp = ofType(node.receive(appendReq(2, 1, 4, [0, 0], []), 0), 'append_response')[0]!;
    expect([resp.success, resp.term]).toEqual([false, 5]);
  });

  it('hints lastIndex+1 when prevLogIndex is past its log', () => {
    const node = makeNode({ log: entries(1, 1) });
    const resp = ofType(node.receive(appendReq(2, 1, 2, [5, 2], []), 0), 'append_response')[0]!;
    expect(resp).toMatchObject({ success: false, conflictIndex: 3, conflictTerm: null });
    expect(node.leaderId).toBe(2);
  });

  it('hints the conflicting term and its first index', () => {
    const node = makeNode({ log: entries(1, 2, 2, 2) });
    const resp = ofType(node.receive(appendReq(2, 1, 3, [4, 3], []), 0), 'append_response')[0]!;
    expect(resp).toMatchObject({ success: false, conflictIndex: 2, conflictTerm: 2 });
  });

  it('truncates at the first conflict, appends the rest, and acks only once durable', () => {
    const node = makeNode({ log: entries(1, 1, 1), hardState: { term: 1, votedFor: null } });
    const out = node.receive(appendReq(2, 1, 2, [1, 1], [entry(2, 1), entry(3, 2, 'new'), entry(4, 2)], 1), 0);
    expect(out.effects.find((e) => e.type === 'appendLog')).toMatchObject({ truncateFromIndex: 3, entries: [{ index: 3 }, { index: 4 }] });
    // Entries 1..2 were durable before; 3..4 are not yet: matchIndex stops at 2.
    expect(ofType(out, 'append_response')[0]).toMatchObject({ success: true, matchIndex: 2, appendedIndex: 4 });
    expect(node.commitIndex).toBe(1);
    const later = fsyncAll(node, 5);
    expect(ofType(later, 'append_response')[0]).toMatchObject({ success: true, matchIndex: 4, appendedIndex: 4 });
    expect(fsyncAll(node, 6).messages).toEqual([]); // reported once
  });

  it('ignores a durable confirmation for entries that were truncated since', () => {
    const node = makeNode({ log: entries(1), hardState: { term: 1, votedFor: null } });
    node.receive(appendReq(2, 1, 1, [1, 1], [entry(2, 1)]), 0);
    node.receive(appendReq(3, 1, 2, [1, 1], [entry(2, 2)]), 1); // new leader overwrites index 2
    node.logDurable(2, 1, 2);
    expect(node.durableIndex).toBe(1);
  });

  it('does not truncate on a reordered, older request whose entries it already has', () => {
    const node = makeNode();
    node.receive(appendReq(2, 1, 1, [0, 0], [entry(1, 1), entry(2, 1), entry(3, 1)]), 0);
    const out = node.receive(appendReq(2, 1, 1, [0, 0], [entry(1, 1)]), 1);
    expect(out.effects.filter((e) => e.type === 'appendLog')).toEqual([]);
    expect(node.log.lastIndex()).toBe(3);
  });

  it('commits up to min(leaderCommit, verified index) and applies in order', () => {
    const node = makeNode();
    const out = node.receive(appendReq(2, 1, 1, [0, 0], entries(1, 1), 5), 0);
    expect(node.commitIndex).toBe(2);
    expect(out.effects.find((e) => e.type === 'apply')).toMatchObject({ entries: [{ index: 1 }, { index: 2 }] });
  });

  it('redirects proposals to the leader it follows', () => {
    const node = makeNode();
    node.receive(appendReq(3, 1, 4, [0, 0], []), 0);
    expect(node.propose([new Uint8Array([1])], 1).result).toEqual({ ok: false, error: 'NOT_LEADER', term: 4, leaderHint: 3 });
  });
});

describe('AppendEntries: leader', () => {
  it('commits only once an entry of its own term is durable on a majority (leader included)', () => {
    const leader = makeNode({ log: entries(1), hardState: { term: 1, votedFor: null } });
    electLeader(leader); // term 2, no-op at 2
    const { result } = leader.propose([new TextEncoder().encode('x')], 101);
    expect(result).toEqual({ ok: true, term: 2, indexes: [3] });
    leader.receive(ok(2, 2, 3), 102); // follower durable through 3
    expect(leader.commitIndex).toBe(0); // the leader's own copy is not fsynced yet
    const out = fsyncAll(leader, 103);
    expect(leader.commitIndex).toBe(3);
    expect(out.effects.find((e) => e.type === 'apply')).toMatchObject({ entries: [{ index: 1 }, { index: 2 }, { index: 3 }] });
  });

  it('Figure 8: never commits a previous-term entry by counting replicas', () => {
    // Leader of term 4 whose log is [1:t1, 2:t2]; entry 2 (term 2) reaches a majority before its no-op.
    const leader = makeNode({ log: entries(1, 2), hardState: { term: 3, votedFor: null } });
    electLeader(leader); // term 4, no-op at index 3
    fsyncAll(leader, 101);
    leader.receive(ok(2, 4, 2, 2), 102); // follower matches through 2 (the term-2 entry) only
    expect(leader.commitIndex).toBe(0); // index 2 is on a majority but is not of term 4
    leader.receive(ok(2, 4, 3, 3), 103);
    expect(leader.commitIndex).toBe(3); // the no-op commits, and entry 2 with it
  });

  it('backtracks with the conflict hint: past its last entry of conflictTerm, or to conflictIndex', () => {
    const leader = makeNode({ log: entries(1, 1, 2, 2, 2), hardState: { term: 2, votedFor: null }, appendEntriesMax: 100 });
    electLeader(leader); // term 3, no-op at 6
    const reject = (conflictIndex: number, conflictTerm: number | null) =>
      ofType(leader.receive({ type: 'append_response', from: 2, to: 1, term: 3, success: false, matchIndex: 0, appendedIndex: 0, conflictIndex, conflictTerm }, 110), 'append_request')[0];
    expect(reject(3, 1)!.prevLogIndex).toBe(2); // leader's last term-1 entry is 2 → resend from 3
    expect(reject(2, null)!.prevLogIndex).toBe(1); // follower is short: resend from its end
    expect(reject(5, 9)).toBeUndefined(); // not a step back (stale/duplicate): no resend storm
  });

  it('retries an unanswered request and heartbeats idle followers', () => {
    const leader = makeNode();
    electLeader(leader, 100);
    fsyncAll(leader, 100);
    expect(ofType(leader.tick(120), 'append_request')).toEqual([]); // in flight, not yet retried
    expect(ofType(leader.tick(140), 'append_request').length).toBe(2); // requestRetryMs = 40
    leader.receive(ok(2, 1, 1), 141);
    leader.receive(ok(3, 1, 1), 141);
    expect(leader.commitIndex).toBe(1); // committing pushed leaderCommit to node 2 (idle) at once
    expect(ofType(leader.tick(150), 'append_request')).toEqual([]);
    const beats = ofType(leader.tick(161), 'append_request'); // heartbeatIntervalMs = 20
    expect(beats.map((m) => [m.to, m.entries.length, m.leaderCommit])).toEqual([[3, 0, 1]]);
  });

  it('steps down when it has not heard from a majority for electionTimeoutMax (check quorum)', () => {
    const leader = makeNode();
    electLeader(leader, 100);
    leader.receive(ok(2, 1, 0), 150);
    leader.tick(340);
    expect(leader.role).toBe('leader'); // node 2 heard 190 ms ago
    const out = leader.tick(351);
    expect([leader.role, leader.leaderId, leader.term]).toEqual(['follower', null, 1]);
    expect(out.effects).toContainEqual({ type: 'leaderChanged', term: 1, leaderId: null, role: 'follower' });
  });

  it('steps down on a response carrying a higher term', () => {
    const leader = makeNode();
    electLeader(leader, 100);
    leader.receive({ ...ok(2, 9, 0), success: false }, 101);
    expect([leader.role, leader.term]).toEqual(['follower', 9]);
  });
});
