/**
 * One partition this broker replicates: its log and its role for the current leader epoch — a
 * LeaderPartition (leading), a FollowerPartition (fetching from the leader), or neither (the
 * partition is offline, or its role is being switched). The role objects are sans-I/O
 * (src/replication/isr); the ReplicaManager applies their effects.
 *
 * Also two small queues owned by the role: acks=all produce requests waiting for the HW (by the
 * waiter id the LeaderPartition reports back), and replica long polls waiting for the leader's log
 * to grow.
 */
import type { ErrorCode } from '../../protocol/errors.js';
import type { FollowerPartition, LeaderPartition, PartitionRegistration } from '../../replication/isr/index.js';
import type { PartitionLog } from '../../storage/index.js';

export class PartitionReplica {
  leader: LeaderPartition | null = null;
  follower: FollowerPartition | null = null;
  /** The registration this replica last applied. */
  registration: PartitionRegistration | null = null;
  /** acks=all produce requests by waiter id: settled with null (committed) or an error code. */
  readonly ackWaiters = new Map<number, (error: ErrorCode | null) => void>();
  private advanceWaiters: Array<() => void> = [];

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly topicId: string,
    readonly log: PartitionLog,
  ) {}

  get name(): string {
    return `${this.topic}-${this.partition}`;
  }

  /** Runs `wake` once the leader's replicable end grows (or `notifyAdvanced` is called); returns a canceller. */
  onceAdvanced(wake: () => void): () => void {
    this.advanceWaiters.push(wake);
    return () => {
      const i = this.advanceWaiters.indexOf(wake);
      if (i >= 0) this.advanceWaiters.splice(i, 1);
    };
  }

  notifyAdvanced(): void {
    if (this.advanceWaiters.length === 0) return;
    const waiters = this.advanceWaiters;
    this.advanceWaiters = [];
    for (const w of waiters) w();
  }
}
