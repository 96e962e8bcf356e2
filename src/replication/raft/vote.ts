// Leader election: RequestVote and its pre-vote round (Raft §5.2, §5.4.1; thesis §9.6; KIP-996).
//
// 1. Election timeout → prospective: ask every voter "would you vote for me in term+1?" carrying our
//    last log (index, term). Nothing is persisted, our term does not move.
//    A voter says yes iff  request term > its term,  our log is at least as up-to-date as its own,
//    and it has not heard from a live leader within electionTimeoutMinMs (it is not itself leader).
// 2. Majority of yes → candidate: term+1, vote for self (durable), send real RequestVotes.
//    A voter grants iff  request term >= its term (adopting a higher one first), it has not voted
//    for someone else in that term, the candidate's log is up-to-date (§5.4.1 — this is what gives
//    leader completeness), and it is not following a live leader (thesis §4.2.3: a server that
//    recently heard from its leader ignores vote requests, so a stale candidate cannot depose it).
//    The grant is sent only after votedFor is durable (persistHardState is a sync barrier).
// 3. Majority of grants → leader: append a no-op of the new term (so earlier-term entries can
//    commit, §5.4.2) and start replicating.
// Split votes resolve by the randomized election timeout: a candidate that times out starts over
// from step 1 with a fresh timeout.

import type { VoteRequest, VoteResponse } from './messages.js';
import type { RaftNode } from './raft-node.js';
import type { LogIndex, NodeId, Term } from './types.js';
import { broadcastAppends } from './replicate.js';

/** Raft §5.4.1: the later last term wins; with equal last terms, the longer log wins. */
export function isLogUpToDate(node: RaftNode, lastLogIndex: LogIndex, lastLogTerm: Term): boolean {
  const ourTerm = node.log.lastTerm();
  return lastLogTerm > ourTerm || (lastLogTerm === ourTerm && lastLogIndex >= node.log.lastIndex());
}

/** True while this node should protect the current leader from being disrupted. */
function leaderIsAlive(node: RaftNode, now: number): boolean {
  const state = node.quorum.state;
  if (state.role === 'leader') return true; // check-quorum makes it step down once it is cut off
  return state.role === 'follower' && state.hasLiveLeader(now, node.config.electionTimeoutMinMs);
}

export function startPreVote(node: RaftNode, now: number): void {
  const prospective = node.quorum.becomeProspective(now);
  if (prospective.tally.isWon()) {
    startElection(node, now); // single-voter quorum
    return;
  }
  sendVoteRequests(node, node.term + 1, true);
}

function startElection(node: RaftNode, now: number): void {
  const candidate = node.quorum.becomeCandidate(now);
  if (candidate.tally.isWon()) {
    becomeLeader(node, now);
    return;
  }
  sendVoteRequests(node, node.term, false);
}

function sendVoteRequests(node: RaftNode, term: Term, preVote: boolean): void {
  for (const peer of node.quorum.peers) {
    node.send({
      type: 'vote_request', from: node.id, to: peer, term, preVote,
      lastLogIndex: node.log.lastIndex(), lastLogTerm: node.log.lastTerm(),
    });
  }
}

function becomeLeader(node: RaftNode, now: number): void {
  node.quorum.becomeLeader(node.log.lastIndex(), now);
  node.appendNoop();
  broadcastAppends(node, now);
}

export function handleVoteRequest(node: RaftNode, req: VoteRequest, now: number): void {
  const upToDate = isLogUpToDate(node, req.lastLogIndex, req.lastLogTerm);
  if (req.preVote) {
    const granted = req.term > node.term && upToDate && !leaderIsAlive(node, now);
    respond(node, req.from, req, granted);
    return;
  }
  if (req.term < node.term || (req.term > node.term && leaderIsAlive(node, now))) {
    respond(node, req.from, req, false);
    return;
  }
  if (req.term > node.term) node.quorum.becomeFollower(req.term, null, now);
  const votedFor = node.quorum.votedFor;
  const granted = (votedFor === null || votedFor === req.from) && upToDate;
  if (granted) {
    node.quorum.grantVote(req.from);
    // Granting resets our election timer (Figure 2), so we give the candidate time to win.
    if (node.quorum.state.role === 'follower') node.quorum.state.electionDeadline = now + node.quorum.randomElectionTimeoutMs();
    else node.quorum.becomeFollower(node.term, null, now);
  }
  respond(node, req.from, req, granted);
}

function respond(node: RaftNode, to: NodeId, req: VoteRequest, granted: boolean): void {
  node.send({ type: 'vote_response', from: node.id, to, term: node.term, preVote: req.preVote, requestTerm: req.term, granted });
}

export function handleVoteResponse(node: RaftNode, resp: VoteResponse, now: number): void {
  if (resp.term > node.term) {
    // A granted pre-vote never carries a higher term (the voter's term was below ours + 1), so
    // this is a rejection from a node that has moved on: follow it into its term.
    node.quorum.becomeFollower(resp.term, null, now);
    return;
  }
  const state = node.quorum.state;
  if (resp.preVote && state.role === 'prospective' && resp.requestTerm === node.term + 1) {
    state.tally.record(resp.from, resp.granted);
    if (state.tally.isWon()) startElection(node, now);
  } else if (!resp.preVote && state.role === 'candidate' && resp.requestTerm === node.term) {
    state.tally.record(resp.from, resp.granted);
    if (state.tally.isWon()) becomeLeader(node, now);
  }
}
