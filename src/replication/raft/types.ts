// Value types shared by every part of the Raft core: ids, log entries, hard state, snapshots,
// configuration (with its named limits) and the `Output` a step returns.
//
// The core is sans-I/O (DESIGN.md §4): a step takes an event and the current time and returns the
// messages to send and the effects the host must carry out, in order. Nothing here touches a clock,
// a socket, a file or Math.random; the host (broker or simulator) injects all of them.

export type NodeId = number;
/** Raft term; KRaft calls it the leader epoch. 0 = no term yet. */
export type Term = number;
/** 1-based log index; 0 = "before the first entry". */
export type LogIndex = number;

/** `noop` is the entry a new leader appends at the start of its term (Raft §5.4.2, §8). */
export type EntryKind = 'noop' | 'command';

export interface LogEntry {
  readonly index: LogIndex;
  readonly term: Term;
  readonly kind: EntryKind;
  /** Opaque to Raft: the state machine encodes its records (metadata records in the broker). */
  readonly data: Uint8Array;
}

/** What must survive a crash before the node may vote or answer (Raft Figure 2 "persistent state"). */
export interface HardState {
  readonly term: Term;
  readonly votedFor: NodeId | null;
}

/** A state-machine image covering every entry up to and including `index`. */
export interface Snapshot {
  readonly index: LogIndex;
  readonly term: Term;
  readonly data: Uint8Array;
}

export type Role = 'follower' | 'prospective' | 'candidate' | 'leader';

/** Source of randomness for election timeouts; seeded in the simulator, Math.random in the broker. */
export interface Random {
  /** Uniform integer in [0, bound). */
  nextInt(bound: number): number;
}

export interface RaftTimingConfig {
  /** Lower bound of the randomized election timeout; also the pre-vote "leader is alive" window. */
  electionTimeoutMinMs: number;
  /** Upper bound (exclusive) of the randomized election timeout; also the check-quorum window. */
  electionTimeoutMaxMs: number;
  /** A leader sends an AppendEntries to an idle follower at least this often. */
  heartbeatIntervalMs: number;
  /** Resend an unanswered AppendEntries / InstallSnapshot chunk after this long. */
  requestRetryMs: number;
}

export interface RaftLimitsConfig {
  /** Entries per AppendEntries request. */
  appendEntriesMax: number;
  /** Ask the state machine for a snapshot once this many applied entries sit in the log. */
  snapshotIntervalEntries: number;
  /** Bytes of snapshot data per InstallSnapshot request (keeps gRPC messages bounded). */
  snapshotChunkBytes: number;
}

export interface RaftConfig extends RaftTimingConfig, RaftLimitsConfig {
  readonly id: NodeId;
  /** Fixed voter set (controller.quorum.voters), including `id`. */
  readonly voters: readonly NodeId[];
}

export const DEFAULT_TIMING: RaftTimingConfig = {
  electionTimeoutMinMs: 1000,
  electionTimeoutMaxMs: 2000,
  heartbeatIntervalMs: 200,
  requestRetryMs: 400,
};

export const DEFAULT_LIMITS: RaftLimitsConfig = {
  appendEntriesMax: 512,
  snapshotIntervalEntries: 10_000,
  snapshotChunkBytes: 1024 * 1024,
};
