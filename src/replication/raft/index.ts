// Public surface of the Raft core, exported name by name (the broker and the simulator import
// from here only).
export type { Effect, Output, ProposeResult } from './effects.js';
export type {
  AppendRequest, AppendResponse, Outbound, RaftMessage, SnapshotRequest, SnapshotResponse, VoteRequest, VoteResponse,
} from './messages.js';
export { MemoryRaftLog } from './raft-log.js';
export type { RaftLog } from './raft-log.js';
export { RaftNode } from './raft-node.js';
export type { RaftNodeOptions } from './raft-node.js';
export { SeededRandom, mathRandom } from './random.js';
export { DEFAULT_LIMITS, DEFAULT_TIMING } from './types.js';
export type {
  EntryKind, HardState, LogEntry, LogIndex, NodeId, Random, RaftConfig, RaftLimitsConfig, RaftTimingConfig, Role, Snapshot, Term,
} from './types.js';
export { majorityOf, parseQuorumVoters } from './voters.js';
export type { VoterAddress } from './voters.js';
