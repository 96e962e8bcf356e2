// The leader's sending side of replication, shared by AppendEntries and InstallSnapshot.
//
// For each follower: entries from nextIndex with (prevLogIndex, prevLogTerm) of the entry before
// them, or — when nextIndex-1 falls inside the leader's snapshot — the snapshot, in chunks. One
// request in flight per follower (stop-and-wait with batching; see leader-state.ts), resent after
// requestRetryMs because the network may lose it, and an empty AppendEntries (heartbeat) at least
// every heartbeatIntervalMs so followers keep their election timers reset and learn leaderCommit.

import { strict as assert } from 'node:assert';
import type { RaftNode } from './raft-node.js';
import type { NodeId } from './types.js';

export function sendAppend(node: RaftNode, peer: NodeId, now: number): void {
  const progress = node.leaderState().peer(peer);
  const prevLogIndex = progress.nextIndex - 1;
  if (prevLogIndex < node.log.snapshotIndex) {
    sendSnapshotChunk(node, peer, now);
    return;
  }
  progress.snapshotIndex = null;
  const prevLogTerm = node.log.termAt(prevLogIndex);
  assert.ok(prevLogTerm !== undefined, `leader has no term at ${prevLogIndex}`);
  const entries = node.log.slice(progress.nextIndex, node.log.lastIndex() + 1, node.config.appendEntriesMax);
  node.send({
    type: 'append_request', from: node.id, to: peer, term: node.term,
    prevLogIndex, prevLogTerm, entries, leaderCommit: node.commitIndex,
  });
  progress.inflightSentAt = now;
  progress.lastSentAt = now;
}

/** Send to every follower without a request in flight (new entries or a new commit index). */
export function broadcastAppends(node: RaftNode, now: number): void {
  const leader = node.leaderState();
  for (const [peer, progress] of leader.progress) {
    if (progress.inflightSentAt === null) sendAppend(node, peer, now);
  }
}

/** Leader timer work: retry lost requests, heartbeat idle followers, push pending entries. */
export function replicationTick(node: RaftNode, now: number): void {
  const leader = node.leaderState();
  const { requestRetryMs, heartbeatIntervalMs } = node.config;
  for (const [peer, p] of leader.progress) {
    if (p.inflightSentAt !== null) {
      if (now - p.inflightSentAt >= requestRetryMs) sendAppend(node, peer, now);
    } else if (p.nextIndex <= node.log.lastIndex() || now - p.lastSentAt >= heartbeatIntervalMs) {
      sendAppend(node, peer, now);
    }
  }
}

export function sendSnapshotChunk(node: RaftNode, peer: NodeId, now: number): void {
  const snapshot = node.snapshot;
  assert.ok(snapshot && snapshot.index === node.log.snapshotIndex, 'compacted log without its snapshot');
  const p = node.leaderState().peer(peer);
  if (p.snapshotIndex !== snapshot.index) {
    p.snapshotIndex = snapshot.index;
    p.snapshotOffset = 0;
  }
  const data = snapshot.data.subarray(p.snapshotOffset, p.snapshotOffset + node.config.snapshotChunkBytes);
  node.send({
    type: 'snapshot_request', from: node.id, to: peer, term: node.term,
    lastIncludedIndex: snapshot.index, lastIncludedTerm: snapshot.term,
    offset: p.snapshotOffset, data, done: p.snapshotOffset + data.length >= snapshot.data.length,
  });
  p.inflightSentAt = now;
  p.lastSentAt = now;
}
