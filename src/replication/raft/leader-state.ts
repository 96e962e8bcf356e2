// Leader role (Raft §5.3, §5.4, thesis §6.2 check-quorum). Tracks, per follower, the replication
// progress the leader drives with AppendEntries / InstallSnapshot:
//   matchIndex  highest index known replicated AND durable on the follower (counts toward commit)
//   nextIndex   next index to send; moves back on a rejection (fast backtracking), forward on success
// Replication is stop-and-wait with batching: at most one request in flight per follower, resent
// after requestRetryMs if unanswered (the network may drop it). The metadata log is low-volume, so a
// full batch per round trip is plenty; pipelining can be added behind `inflightSentAt`.
//
// Check quorum: if the leader has not heard from a majority (itself included) within
// electionTimeoutMaxMs it steps down, so a leader cut off in a minority stops accepting proposals
// that can never commit and stops answering clients as if it were in charge.

import { strict as assert } from 'node:assert';
import type { LogIndex, NodeId } from './types.js';

export interface Progress {
  matchIndex: LogIndex;
  nextIndex: LogIndex;
  /** Send time of the request in flight, or null when none. */
  inflightSentAt: number | null;
  lastSentAt: number;
  /** Last time any response of the current term arrived from this follower. */
  lastAckAt: number;
  /** InstallSnapshot in progress: which snapshot and the next byte to send; null otherwise. */
  snapshotIndex: LogIndex | null;
  snapshotOffset: number;
}

export class LeaderState {
  readonly role = 'leader' as const;
  readonly progress = new Map<NodeId, Progress>();

  constructor(
    readonly leaderId: NodeId,
    peers: readonly NodeId[],
    lastIndex: LogIndex,
    now: number,
  ) {
    for (const peer of peers) {
      this.progress.set(peer, {
        matchIndex: 0,
        nextIndex: lastIndex + 1,
        inflightSentAt: null,
        lastSentAt: -Infinity,
        // A new leader gets a full window before check-quorum can depose it.
        lastAckAt: now,
        snapshotIndex: null,
        snapshotOffset: 0,
      });
    }
  }

  peer(id: NodeId): Progress {
    const progress = this.progress.get(id);
    assert.ok(progress, `no progress for ${id}`);
    return progress;
  }

  /** The highest index durable on a majority, counting the leader's own durable index. */
  quorumMatchIndex(selfDurableIndex: LogIndex): LogIndex {
    const matches = [selfDurableIndex];
    for (const p of this.progress.values()) matches.push(p.matchIndex);
    matches.sort((a, b) => b - a);
    return matches[Math.floor(matches.length / 2)]!;
  }

  /** The time by which a majority (the leader counts as "now") had last been heard from. */
  quorumContactAt(now: number): number {
    const times = [now];
    for (const p of this.progress.values()) times.push(p.lastAckAt);
    times.sort((a, b) => b - a);
    return times[Math.floor(times.length / 2)]!;
  }
}
