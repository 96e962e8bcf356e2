// Election: pre-vote round, real vote, persistence-before-grant, leader stickiness.
import { describe, expect, it } from 'vitest';
import type { VoteRequest } from '../../../src/replication/raft/index.js';
import { appendReq, electLeader, entries, makeNode, ofType } from './helpers.js';

function voteReq(from: number, term: number, last: [number, number], preVote: boolean): VoteRequest {
  return { type: 'vote_request', from, to: 1, term, preVote, lastLogIndex: last[0], lastLogTerm: last[1] };
}

describe('pre-vote (prospective)', () => {
  it('times out into a pre-vote for term+1 without changing its term or persisting anything', () => {
    const node = makeNode({ hardState: { term: 3, votedFor: null }, log: entries(1, 3) });
    expect(node.tick(99).messages).toEqual([]); // not yet
    const out = node.tick(100);
    expect(node.role).toBe('prospective');
    expect(node.term).toBe(3);
    expect(out.effects.some((e) => e.type === 'persistHardState')).toBe(false);
    expect(ofType(out, 'vote_request').map((m) => [m.to, m.term, m.preVote, m.lastLogIndex, m.lastLogTerm])).toEqual([
      [2, 4, true, 2, 3], [3, 4, true, 2, 3],
    ]);
  });

  it('becomes a candidate on a majority of pre-votes, persisting term+1 and its own vote first', () => {
    const node = makeNode({ hardState: { term: 3, votedFor: null } });
    node.tick(100);
    const out = node.receive({ type: 'vote_response', from: 3, to: 1, term: 3, preVote: true, requestTerm: 4, granted: true }, 101);
    expect(node.role).toBe('candidate');
    expect(out.effects[0]).toEqual({ type: 'persistHardState', hardState: { term: 4, votedFor: 1 } });
    expect(ofType(out, 'vote_request').every((m) => !m.preVote && m.term === 4)).toBe(true);
  });

  it('ignores pre-vote grants from an older round and follows a higher term seen in a rejection', () => {
    const node = makeNode({ hardState: { term: 3, votedFor: null } });
    node.tick(100);
    node.receive({ type: 'vote_response', from: 2, to: 1, term: 2, preVote: true, requestTerm: 3, granted: true }, 101);
    expect(node.role).toBe('prospective');
    node.receive({ type: 'vote_response', from: 2, to: 1, term: 7, preVote: true, requestTerm: 4, granted: false }, 102);
    expect([node.role, node.term]).toEqual(['follower', 7]);
  });

  it('grants a pre-vote only to an up-to-date log, for a higher term, and never while following a live leader', () => {
    const node = makeNode({ hardState: { term: 2, votedFor: null }, log: entries(1, 2) });
    const grant = (req: VoteRequest, now: number) => ofType(node.receive(req, now), 'vote_response')[0]!.granted;
    expect(grant(voteReq(2, 3, [2, 2], true), 0)).toBe(true);
    expect(grant(voteReq(2, 3, [1, 2], true), 0)).toBe(false); // shorter log, same last term
    expect(grant(voteReq(2, 3, [1, 1], true), 0)).toBe(false); // older last term
    expect(grant(voteReq(2, 2, [5, 2], true), 0)).toBe(false); // term not above ours
    node.receive(appendReq(3, 1, 2, [2, 2], []), 10); // now following leader 3
    expect(grant(voteReq(2, 3, [9, 2], true), 50)).toBe(false); // leader heard 40 ms ago
    expect(grant(voteReq(2, 3, [9, 2], true), 110)).toBe(true); // silent for electionTimeoutMin
    expect([node.term, node.quorum.votedFor]).toEqual([2, null]); // pre-votes change nothing
  });
});

describe('RequestVote', () => {
  it('grants one vote per term, persisting it before the response', () => {
    const node = makeNode();
    const out = node.receive(voteReq(2, 1, [0, 0], false), 0);
    expect(out.effects.filter((e) => e.type === 'persistHardState').at(-1)).toEqual({ type: 'persistHardState', hardState: { term: 1, votedFor: 2 } });
    expect(ofType(out, 'vote_response')[0]!.granted).toBe(true);
    expect(ofType(node.receive(voteReq(3, 1, [0, 0], false), 1), 'vote_response')[0]!.granted).toBe(false);
    expect(ofType(node.receive(voteReq(2, 1, [0, 0], false), 2), 'vote_response')[0]!.granted).toBe(true); // same candidate again
  });

  it('adopts a higher term even when the candidate\'s log is stale, but does not vote for it', () => {
    const node = makeNode({ hardState: { term: 1, votedFor: 1 }, log: entries(1, 1) });
    const out = node.receive(voteReq(2, 5, [1, 1], false), 0);
    expect(ofType(out, 'vote_response')[0]).toMatchObject({ granted: false, term: 5 });
    expect([node.term, node.quorum.votedFor, node.role]).toEqual([5, null, 'follower']);
  });

  it('a follower of a live leader ignores a higher-term candidate (no term bump)', () => {
    const node = makeNode();
    node.receive(appendReq(3, 1, 1, [0, 0], []), 0);
    const out = node.receive(voteReq(2, 2, [9, 9], false), 10);
    expect(ofType(out, 'vote_response')[0]!.granted).toBe(false);
    expect(node.term).toBe(1);
  });

  it('a candidate with a majority becomes leader and appends a no-op of its term', () => {
    const node = makeNode({ hardState: { term: 1, votedFor: null }, log: entries(1) });
    const out = electLeader(node);
    expect([node.role, node.term, node.leaderId]).toEqual(['leader', 2, 1]);
    const append = out.effects.find((e) => e.type === 'appendLog');
    expect(append).toMatchObject({ entries: [{ index: 2, term: 2, kind: 'noop' }] });
    expect(out.effects).toContainEqual({ type: 'leaderChanged', term: 2, leaderId: 1, role: 'leader' });
    expect(ofType(out, 'append_request').map((m) => [m.to, m.prevLogIndex, m.entries.length])).toEqual([[2, 1, 1], [3, 1, 1]]);
  });

  it('a single-voter quorum elects itself on its first timeout', () => {
    const node = makeNode({ voters: [1] });
    node.tick(100);
    expect([node.role, node.term]).toEqual(['leader', 1]);
  });
});
