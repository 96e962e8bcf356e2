// The ISR data plane: sans-I/O leader/follower partition state machines and the controller-side
// decisions (election, AlterPartition, ELR, placement). See docs/ARCHITECTURE.md, "Replication: ISR data plane".
export * from './types.js';
export { FollowerProgress, UNKNOWN_LEO } from './follower-progress.js';
export { AckWaiters, type CompletedWaiter } from './ack-waiters.js';
export { IsrChange, type AlterPartitionProposal, type IsrMember, type PendingChange } from './isr-change.js';
export { findDivergence, truncationFor, type Truncation } from './divergence.js';
export * from './leader-partition.js';
export * from './follower-partition.js';
export * from './partition-state.js';
export * from './election.js';
export * from './alter-partition.js';
export { placeReplicas, type PlacementInput } from './placement.js';
