/**
 * Where a consumer's partitions come from. The consumer only reacts to `onAssigned` / `onRevoked`;
 * who decides is pluggable:
 *  - `ManualAssignment` (now): the application's `consumer.assign([...])`;
 *  - `GroupMembership` (group-membership.ts): joins a group, heartbeats, and calls the same hooks
 *    on each rebalance. `onRevoked` and `onAssigned` are awaited, so the consumer can wait for the
 *    record in processing, run the application's listeners and commit before partitions move on;
 *    `onLost` drops partitions that already belong to someone else (no commit: it would be fenced).
 * A source gives the starting offset of each partition it assigns, or none to let
 * autoOffsetReset decide.
 */
import type { TopicPartition, TopicPartitionOffset } from './types.js';

export interface AssignmentListener {
  onAssigned(partitions: readonly TopicPartitionOffset[]): void | Promise<void>;
  onRevoked(partitions: readonly TopicPartition[]): void | Promise<void>;
  onLost?(partitions: readonly TopicPartition[]): void | Promise<void>;
}

export interface AssignmentSource {
  /** Begins delivering assignments to `listener` (may call it before returning). */
  start(listener: AssignmentListener): void | Promise<void>;
  /** Stops; a group manager leaves its group here. */
  stop(): void | Promise<void>;
}

function key(tp: TopicPartition): string {
  return `${tp.topic}\u0000${tp.partition}`;
}

/** The application names the partitions; each assign() replaces the previous set. */
export class ManualAssignment implements AssignmentSource {
  private listener: AssignmentListener | null = null;
  private current = new Map<string, TopicPartition>();

  start(listener: AssignmentListener): void {
    this.listener = listener;
  }

  stop(): void {
    this.listener = null;
  }

  /** Revokes what is no longer listed, assigns what is new; a listed offset re-positions a kept partition. */
  set(partitions: readonly TopicPartitionOffset[]): void {
    const next = new Map<string, TopicPartitionOffset>();
    for (const p of partitions) next.set(key(p), p);
    const revoked = [...this.current].filter(([k]) => !next.has(k)).map(([, tp]) => tp);
    const assigned = [...next].filter(([k, tp]) => !this.current.has(k) || tp.offset !== undefined).map(([, tp]) => tp);
    this.current = new Map([...next].map(([k, tp]) => [k, { topic: tp.topic, partition: tp.partition }]));
    if (revoked.length > 0) void this.listener?.onRevoked(revoked);
    if (assigned.length > 0) void this.listener?.onAssigned(assigned);
  }
}
