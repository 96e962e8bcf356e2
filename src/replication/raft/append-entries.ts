// Log replication: AppendEntries (Raft §5.3) with fast backtracking, plus the follower's
// "ack only what is durable" rule.
//
// Leader side: sending lives in replicate.ts; here the leader handles the answers — success moves
// matchIndex (durable on the follower, counts toward commit) and nextIndex; a rejection backtracks.
//
// Follower side:
//   term < ours                  → reject with our term (the stale leader steps down).
//   otherwise                    → follow the sender (adopting its term), reset the election timer.
//   consistency check            → our entry at prevLogIndex must have prevLogTerm. If not, reject
//                                  with a hint (below). Entries at or below our snapshot are
//                                  committed, hence identical to the leader's, and are skipped.
//   merge                        → skip entries we already have; at the first conflicting entry
//                                  truncate our log there (never at or below commitIndex) and
//                                  append the rest (log matching, §5.3).
//   commit                       → commitIndex = min(leaderCommit, last index known to match).
//   answer                       → matchIndex = min(matched, durable): an entry is acknowledged only
//                                  once fsynced; when logDurable later moves durableIndex, an
//                                  unsolicited success carries the new matchIndex.
// Fast backtracking (§5.3 optimisation, as in etcd/KRaft's divergence reply): a rejection carries
// (conflictTerm, conflictIndex) = (term at prevLogIndex, first index of that term) or (null,
// lastIndex+1). The leader jumps to just after its own last entry of conflictTerm, or to
// conflictIndex if it has none — one round trip per divergent term instead of per entry.

import { strict as assert } from 'node:assert';
import type { FollowerState } from './follower-state.js';
import type { AppendRequest, AppendResponse } from './messages.js';
import type { RaftNode } from './raft-node.js';
import { sendAppend } from './replicate.js';
import type { LogIndex, NodeId, Term } from './types.js';

// ---- leader ----------------------------------------------------------------------------------

export function handleAppendResponse(node: RaftNode, resp: AppendResponse, now: number): void {
  if (resp.term > node.term) {
    node.quorum.becomeFollower(resp.term, null, now);
    return;
  }
  if (resp.term < node.term || node.role !== 'leader') return;
  const p = node.leaderState().peer(resp.from);
  p.lastAckAt = now;
  const lastIndex = node.log.lastIndex();
  if (resp.success) {
    assert.ok(resp.appendedIndex <= lastIndex, 'follower matched entries the leader does not have');
    p.matchIndex = Math.max(p.matchIndex, resp.matchIndex);
    const advanced = resp.appendedIndex + 1 > p.nextIndex;
    // A response at least as recent as our position answers the request in flight; an older
    // (reordered or duplicated) one must not trigger a send, or duplicates would multiply.
    const answersInflight = resp.appendedIndex + 1 >= p.nextIndex;
    p.nextIndex = Math.max(p.nextIndex, resp.appendedIndex + 1);
    if (answersInflight) p.inflightSentAt = null;
    node.maybeAdvanceCommit(now);
    if (node.role === 'leader' && advanced && p.nextIndex <= lastIndex && p.inflightSentAt === null) sendAppend(node, resp.from, now);
    return;
  }
  let next: LogIndex = resp.conflictIndex;
  if (resp.conflictTerm !== null) {
    const last = lastIndexOfTerm(node, resp.conflictTerm);
    if (last !== null) next = last + 1;
  }
  next = Math.min(Math.max(next, p.matchIndex + 1), lastIndex + 1);
  if (next < p.nextIndex) {
    p.nextIndex = next;
    p.inflightSentAt = null;
    sendAppend(node, resp.from, now);
  }
}

/** The leader's last index holding `term` (terms never decrease along a log: binary search). */
function lastIndexOfTerm(node: RaftNode, term: Term): LogIndex | null {
  let lo = node.log.snapshotIndex + 1;
  let hi = node.log.lastIndex();
  let found: LogIndex | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const t = node.log.termAt(mid)!;
    if (t <= term) {
      if (t === term) found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

// ---- follower --------------------------------------------------------------------------------

/** Common to AppendEntries and InstallSnapshot: follow the sender of a current-term request. */
export function followLeader(node: RaftNode, from: NodeId, term: Term, now: number): FollowerState {
  const state = node.quorum.state;
  let follower: FollowerState;
  if (term > node.term || state.role !== 'follower') {
    follower = node.quorum.becomeFollower(term, from, now);
  } else {
    follower = state;
    node.quorum.noteLeader(follower, from);
  }
  follower.lastLeaderContactAt = now;
  follower.electionDeadline = now + node.quorum.randomElectionTimeoutMs();
  return follower;
}

export function handleAppendRequest(node: RaftNode, req: AppendRequest, now: number): void {
  if (req.term < node.term) {
    reply(node, req.from, { success: false, matchIndex: 0, appendedIndex: 0, conflictIndex: 0, conflictTerm: null });
    return;
  }
  const follower = followLeader(node, req.from, req.term, now);
  const log = node.log;
  let prevLogIndex = req.prevLogIndex;
  let entries = req.entries;
  if (prevLogIndex < log.snapshotIndex) {
    // Our snapshot holds committed entries, which every current leader has: they match.
    entries = entries.filter((e) => e.index > log.snapshotIndex);
    prevLogIndex = log.snapshotIndex;
  } else if (log.termAt(prevLogIndex) !== req.prevLogTerm) {
    rejectWithHint(node, req);
    return;
  }
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const ours = log.termAt(entry.index);
    if (ours === entry.term) continue; // already have it (a duplicate or an older request)
    node.appendLocal(entries.slice(i), ours === undefined ? null : entry.index);
    break;
  }
  const lastNewIndex = Math.max(prevLogIndex + entries.length, log.snapshotIndex);
  follower.verifiedIndex = Math.max(follower.verifiedIndex, lastNewIndex);
  node.commitTo(Math.min(req.leaderCommit, follower.verifiedIndex));
  ackSuccess(node, follower, req.from);
}

function rejectWithHint(node: RaftNode, req: AppendRequest): void {
  const log = node.log;
  if (req.prevLogIndex > log.lastIndex()) {
    reply(node, req.from, { success: false, matchIndex: 0, appendedIndex: 0, conflictIndex: log.lastIndex() + 1, conflictTerm: null });
    return;
  }
  assert.ok(req.prevLogIndex > log.snapshotIndex, 'a current leader disagrees with our snapshot');
  const conflictTerm = log.termAt(req.prevLogIndex)!;
  // First index of conflictTerm in (snapshotIndex, prevLogIndex]: binary search on monotone terms.
  let lo = log.snapshotIndex + 1;
  let hi = req.prevLogIndex;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log.termAt(mid)! < conflictTerm) lo = mid + 1;
    else hi = mid;
  }
  reply(node, req.from, { success: false, matchIndex: 0, appendedIndex: 0, conflictIndex: lo, conflictTerm });
}

function ackSuccess(node: RaftNode, follower: FollowerState, leader: NodeId): void {
  const matchIndex = Math.min(follower.verifiedIndex, node.durableIndex);
  follower.ackedMatchIndex = Math.max(follower.ackedMatchIndex, matchIndex);
  reply(node, leader, { success: true, matchIndex, appendedIndex: follower.verifiedIndex, conflictIndex: 0, conflictTerm: null });
}

/** After logDurable: tell the leader about newly durable matching entries. */
export function sendDurableAck(node: RaftNode, follower: FollowerState): void {
  if (follower.leaderId === null) return;
  if (Math.min(follower.verifiedIndex, node.durableIndex) > follower.ackedMatchIndex) ackSuccess(node, follower, follower.leaderId);
}

type ReplyFields = Pick<AppendResponse, 'success' | 'matchIndex' | 'appendedIndex' | 'conflictIndex' | 'conflictTerm'>;

function reply(node: RaftNode, to: NodeId, fields: ReplyFields): void {
  node.send({ type: 'append_response', from: node.id, to, term: node.term, ...fields });
}
