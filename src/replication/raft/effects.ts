// Effects: what the host must do with a step's result, in the order given, and the durability
// contract that makes "persist, then acknowledge" hold without the core doing any I/O.
//
//   persistHardState  SYNC barrier. Durable before any message of the same Output is sent (a vote
//                     is only granted once votedFor is on disk). Tiny, rare (term changes, votes).
//   appendLog         ASYNC. Write `entries` at their indexes, first discarding the log from
//                     `truncateFromIndex` (if set). The host may fsync later (group commit) and
//                     then calls `RaftNode.logDurable(index, term)`. Until then the node neither
//                     counts those entries toward commit (leader) nor acknowledges them (follower).
//   apply             Committed entries, in index order, exactly once per node incarnation
//                     (after a restart, from the snapshot onwards). `noop` entries carry no data.
//   takeSnapshot      A hint: the state machine (which has applied exactly up to `index` when it
//                     reaches this effect) should be snapshotted, stored durably and handed back
//                     with `RaftNode.snapshotTaken`.
//   compactLog        The log prefix up to `throughIndex` is covered by a durable snapshot and may
//                     be deleted.
//   installSnapshot   SYNC barrier. A leader's snapshot replaced this node's state: store it
//                     durably, reset the state machine to it, and drop the whole log (`discardLog`)
//                     or just the prefix it covers — before sending this Output's messages.
//   leaderChanged     Observability and client redirection (the metadata image will listen).

import type { Outbound } from './messages.js';
import type { HardState, LogEntry, LogIndex, NodeId, Role, Snapshot, Term } from './types.js';

export type Effect =
  | { readonly type: 'persistHardState'; readonly hardState: HardState }
  | { readonly type: 'appendLog'; readonly truncateFromIndex: LogIndex | null; readonly entries: readonly LogEntry[] }
  | { readonly type: 'apply'; readonly entries: readonly LogEntry[] }
  | { readonly type: 'takeSnapshot'; readonly index: LogIndex; readonly term: Term }
  | { readonly type: 'compactLog'; readonly throughIndex: LogIndex }
  | { readonly type: 'installSnapshot'; readonly snapshot: Snapshot; readonly discardLog: boolean }
  | { readonly type: 'leaderChanged'; readonly term: Term; readonly leaderId: NodeId | null; readonly role: Role };

export interface Output {
  readonly messages: Outbound[];
  readonly effects: Effect[];
}

export type ProposeResult =
  | { readonly ok: true; readonly term: Term; readonly indexes: LogIndex[] }
  | { readonly ok: false; readonly error: 'NOT_LEADER'; readonly term: Term; readonly leaderHint: NodeId | null };
