// Wire messages of the controller quorum. Plain, serialisable objects (numbers, booleans, arrays,
// Uint8Array) so a gRPC transport can map them 1:1 onto protobuf messages later.
//
// RPCs (Raft paper Figure 2 plus the thesis' extensions):
//   vote_request / vote_response               RequestVote, and the pre-vote round (thesis §9.6,
//                                              KIP-996) when `preVote` is set
//   append_request / append_response           AppendEntries with fast backtracking hints (§5.3)
//   snapshot_request / snapshot_response       InstallSnapshot, chunked (§7)
// Every message carries the sender's term; a receiver that sees a higher term adopts it first.

import type { LogEntry, LogIndex, NodeId, Term } from './types.js';

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  /** Sender's current term (for vote_request with preVote: the term it would campaign in). */
  readonly term: Term;
}

export interface VoteRequest extends Envelope {
  readonly type: 'vote_request';
  /** Pre-vote: "would you vote for me in `term`?" — nobody changes state on it. */
  readonly preVote: boolean;
  readonly lastLogIndex: LogIndex;
  readonly lastLogTerm: Term;
}

export interface VoteResponse extends Envelope {
  readonly type: 'vote_response';
  readonly preVote: boolean;
  /** Echo of the request's term, so a response from an older round is not counted. */
  readonly requestTerm: Term;
  readonly granted: boolean;
}

export interface AppendRequest extends Envelope {
  readonly type: 'append_request';
  readonly prevLogIndex: LogIndex;
  readonly prevLogTerm: Term;
  readonly entries: readonly LogEntry[];
  readonly leaderCommit: LogIndex;
}

export interface AppendResponse extends Envelope {
  readonly type: 'append_response';
  readonly success: boolean;
  /** success: highest index known to match the leader AND be durable on this follower. */
  readonly matchIndex: LogIndex;
  /** success: highest index known to match the leader (possibly not yet fsynced). */
  readonly appendedIndex: LogIndex;
  /** failure: first index of `conflictTerm` in the follower's log, or its lastIndex + 1. */
  readonly conflictIndex: LogIndex;
  /** failure: term of the follower's entry at prevLogIndex, or null when it has no such entry. */
  readonly conflictTerm: Term | null;
}

export interface SnapshotRequest extends Envelope {
  readonly type: 'snapshot_request';
  readonly lastIncludedIndex: LogIndex;
  readonly lastIncludedTerm: Term;
  /** Byte offset of `data` within the snapshot. */
  readonly offset: number;
  readonly data: Uint8Array;
  readonly done: boolean;
}

export interface SnapshotResponse extends Envelope {
  readonly type: 'snapshot_response';
  readonly lastIncludedIndex: LogIndex;
  /** Next byte the follower expects; the leader resumes from here. */
  readonly nextOffset: number;
  /** The whole snapshot is installed (durably) on the follower. */
  readonly done: boolean;
}

export type RaftMessage =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | SnapshotRequest
  | SnapshotResponse;

/** A message the host must deliver to `message.to` (best effort: Raft tolerates loss). */
export type Outbound = RaftMessage;
