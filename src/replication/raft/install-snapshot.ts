// InstallSnapshot (Raft §7; Kafka's FetchSnapshot in KIP-630 is the pull-based cousin).
//
// Snapshots bound the log: once the state machine has applied snapshotIntervalEntries entries past
// the last snapshot, the node asks for a new one (takeSnapshot effect), and when the host hands it
// back durably (snapshotTaken) the log prefix it covers is dropped. A follower that needs an entry
// the leader no longer has (nextIndex <= leader's snapshotIndex) gets the snapshot instead, in
// chunks of snapshotChunkBytes, one chunk in flight, resumable at the offset the follower reports.
//
// Follower side, once the last chunk arrives:
//   - if our log already holds the snapshot's last entry (same index and term), keep the entries
//     after it (they may be ahead of the snapshot) and drop only the prefix;
//   - otherwise discard the whole log (it is behind or divergent);
//   - reset the state machine to the snapshot (installSnapshot effect, a sync barrier: durable
//     before we answer "done"), and move commitIndex / lastApplied to the snapshot's index.
// A snapshot at or below our commitIndex is already covered: answer "done" without installing.

import { followLeader } from './append-entries.js';
import type { SnapshotRequest, SnapshotResponse } from './messages.js';
import type { RaftNode } from './raft-node.js';
import { sendAppend, sendSnapshotChunk } from './replicate.js';
import type { LogIndex, NodeId } from './types.js';

export function handleSnapshotResponse(node: RaftNode, resp: SnapshotResponse, now: number): void {
  if (resp.term > node.term) {
    node.quorum.becomeFollower(resp.term, null, now);
    return;
  }
  if (resp.term < node.term || node.role !== 'leader') return;
  const p = node.leaderState().peer(resp.from);
  p.lastAckAt = now;
  if (resp.done) {
    p.matchIndex = Math.max(p.matchIndex, resp.lastIncludedIndex);
    const advanced = resp.lastIncludedIndex + 1 > p.nextIndex;
    p.nextIndex = Math.max(p.nextIndex, resp.lastIncludedIndex + 1);
    if (p.snapshotIndex === resp.lastIncludedIndex || advanced) {
      p.snapshotIndex = null;
      p.inflightSentAt = null;
    }
    node.maybeAdvanceCommit(now);
    if (node.role === 'leader' && advanced && p.inflightSentAt === null) {
      // Continue with AppendEntries (or a newer snapshot) right away.
      sendAppend(node, resp.from, now);
    }
    return;
  }
  if (p.snapshotIndex !== resp.lastIncludedIndex) return; // about a snapshot we no longer send
  if (resp.nextOffset > p.snapshotOffset) {
    p.snapshotOffset = resp.nextOffset;
    sendSnapshotChunk(node, resp.from, now);
  } else if (resp.nextOffset < p.snapshotOffset) {
    p.snapshotOffset = resp.nextOffset; // the follower lost its partial copy; the retry resends
  }
}

export function handleSnapshotRequest(node: RaftNode, req: SnapshotRequest, now: number): void {
  if (req.term < node.term) {
    reply(node, req.from, req.lastIncludedIndex, 0, false);
    return;
  }
  const follower = followLeader(node, req.from, req.term, now);
  if (req.lastIncludedIndex <= node.commitIndex) {
    follower.snapshotReceive = null;
    follower.verifiedIndex = Math.max(follower.verifiedIndex, req.lastIncludedIndex);
    reply(node, req.from, req.lastIncludedIndex, 0, true);
    return;
  }
  if (req.offset === 0) {
    follower.snapshotReceive = { index: req.lastIncludedIndex, term: req.lastIncludedTerm, chunks: [], nextOffset: 0 };
  }
  const receive = follower.snapshotReceive;
  if (!receive || receive.index !== req.lastIncludedIndex || receive.term !== req.lastIncludedTerm || req.offset !== receive.nextOffset) {
    const matching = receive && receive.index === req.lastIncludedIndex && receive.term === req.lastIncludedTerm;
    reply(node, req.from, req.lastIncludedIndex, matching ? receive.nextOffset : 0, false);
    return;
  }
  receive.chunks.push(req.data);
  receive.nextOffset += req.data.length;
  if (!req.done) {
    reply(node, req.from, req.lastIncludedIndex, receive.nextOffset, false);
    return;
  }
  const data = concat(receive.chunks, receive.nextOffset);
  const snapshot = { index: receive.index, term: receive.term, data };
  const keepSuffix = node.log.termAt(snapshot.index) === snapshot.term;
  if (keepSuffix) node.log.compactThrough(snapshot.index, snapshot.term);
  else node.log.reset(snapshot.index, snapshot.term);
  node.emit({ type: 'installSnapshot', snapshot, discardLog: !keepSuffix });
  node.adoptSnapshot(snapshot, keepSuffix ? Math.max(node.durableIndex, snapshot.index) : snapshot.index);
  follower.snapshotReceive = null;
  follower.verifiedIndex = Math.max(follower.verifiedIndex, snapshot.index);
  reply(node, req.from, snapshot.index, receive.nextOffset, true);
}

function reply(node: RaftNode, to: NodeId, lastIncludedIndex: LogIndex, nextOffset: number, done: boolean): void {
  const resp: SnapshotResponse = { type: 'snapshot_response', from: node.id, to, term: node.term, lastIncludedIndex, nextOffset, done };
  node.send(resp);
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
