// Follower role (Raft §5.2): a voter that knows (or is waiting to learn) the leader of its term.
// It times out into a pre-vote if the leader goes quiet for an election timeout, and — the leader
// stickiness half of pre-vote (thesis §9.6, §4.2.3) — refuses to help anyone else campaign while it
// has heard from a live leader within the minimum election timeout.

import type { LogIndex, NodeId, Term } from './types.js';

/** A snapshot arriving in chunks from the leader. */
export interface SnapshotReceive {
  readonly index: LogIndex;
  readonly term: Term;
  readonly chunks: Uint8Array[];
  nextOffset: number;
}

export class FollowerState {
  readonly role = 'follower' as const;
  /** Highest index known to match the current leader's log (reset when the leader changes). */
  verifiedIndex: LogIndex = 0;
  /** Highest matchIndex already reported to the leader (durable acks are sent once). */
  ackedMatchIndex: LogIndex = 0;
  snapshotReceive: SnapshotReceive | null = null;

  constructor(
    public leaderId: NodeId | null,
    public electionDeadline: number,
    /** Last time a message from the current leader arrived; -Infinity if none yet. */
    public lastLeaderContactAt: number,
  ) {}

  hasLiveLeader(now: number, electionTimeoutMinMs: number): boolean {
    return this.leaderId !== null && now - this.lastLeaderContactAt < electionTimeoutMinMs;
  }
}
