// The Raft host's plug points and settings: the state machine it drives (the controller's metadata
// image next), the transport it sends through (gRPC in the broker, an in-process network in tests),
// its limits with their defaults, and the typed "not the leader" error proposals fail with.

import { ErrorCode, FerryError } from '../../protocol/errors.js';
import type { LogEntry, LogIndex, NodeId, RaftMessage, Role, Term } from '../raft/index.js';

/**
 * What Raft replicates into. Every call comes from the host's serial queue, one at a time, so the
 * state machine needs no locking; a returned promise is awaited before the next event.
 * A fresh host starts the state machine empty, then `restoreSnapshot` (if there is a snapshot), then
 * `apply` from the entry after it — so the state machine must start empty and keep nothing across
 * host incarnations that the log does not give back.
 */
export interface RaftStateMachine {
  /** Committed entries in index order, each exactly once per incarnation; `noop` entries carry no data. */
  apply(entries: readonly LogEntry[]): void | Promise<void>;
  /** The state after the last applied entry, serialised (stored durably and sent to lagging followers). */
  takeSnapshot(): Uint8Array | Promise<Uint8Array>;
  /** Replace the whole state with a snapshot's (at startup, or a leader's snapshot installed here). */
  restoreSnapshot(data: Uint8Array, at: { readonly index: LogIndex; readonly term: Term }): void | Promise<void>;
}

/** Best-effort delivery of the core's messages (Raft tolerates loss, duplication and reordering). */
export interface RaftTransport {
  send(message: RaftMessage): void;
  /** Messages for this node go to `receiver`; null detaches (later ones are dropped). */
  setReceiver(receiver: ((message: RaftMessage) => void) | null): void;
}

export interface LeaderInfo {
  readonly leaderId: NodeId | null;
  readonly term: Term;
  /** This node's role. */
  readonly role: Role;
}

export interface RaftHostLimits {
  /**
   * Take a snapshot once the entries applied since the last one hold this many bytes (KRaft's
   * metadata.log.max.record.bytes.between.snapshots). The core also asks for one every
   * snapshotIntervalEntries entries; whichever comes first.
   */
  maxBytesBeforeSnapshot: number;
  /** Segment file size at which the log rolls to a new file. */
  segmentBytes: number;
  /** Snapshot files kept on disk (the log is kept back to the oldest of them). */
  snapshotsRetained: number;
  /** A proposal not applied within this long fails with REQUEST_TIMED_OUT (its outcome is unknown). */
  proposeTimeoutMs: number;
}

export const DEFAULT_HOST_LIMITS: RaftHostLimits = {
  maxBytesBeforeSnapshot: 20 * 1024 * 1024,
  segmentBytes: 8 * 1024 * 1024,
  snapshotsRetained: 2,
  proposeTimeoutMs: 30_000,
};

/**
 * A proposal reached a node that is not the leader, or the leader lost its leadership before the
 * entry was applied (then the entry may still commit under the next leader: the outcome is unknown,
 * as with KRaft's NOT_CONTROLLER). Retriable: redirect to `leaderId` when known.
 */
export class NotLeaderError extends FerryError {
  readonly leaderId: NodeId | null;
  readonly term: Term;

  constructor(leaderId: NodeId | null, term: Term, leaderAddress: string, why: string) {
    super(
      ErrorCode.NOT_CONTROLLER,
      `not the controller quorum leader (${why}); leader ${leaderId ?? 'unknown'} in term ${term}`,
      leaderId === null ? undefined : { leaderId, leaderAddress, leaderEpoch: term },
    );
    this.name = 'NotLeaderError';
    this.leaderId = leaderId;
    this.term = term;
  }
}
