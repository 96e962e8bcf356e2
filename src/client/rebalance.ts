/**
 * Rebalance plumbing shared by the consumer and its group membership, free of I/O:
 *  - the wire shape of partition lists (`{ topic, partitions[] }`) to and from flat TopicPartitions;
 *  - `diffAssignment`: what a new target assignment revokes and adds relative to what is owned;
 *  - `RebalanceListeners`: the application's 'assigned' / 'revoked' callbacks, run one after the
 *    other and awaited. A throwing listener is logged and does not stop the handover: a stuck
 *    rebalance would stall the whole group, which is worse than one listener's failure.
 */
import type { Logger, RebalanceListener, RevokeInfo, TopicPartition } from './types.js';

export function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export interface WireTopicPartitions {
  topic: string;
  partitions: number[];
}

/** Groups by topic, both levels sorted, for requests and stable logs. */
export function toWire(parts: Iterable<TopicPartition>): WireTopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const p of parts) {
    let list = byTopic.get(p.topic);
    if (!list) byTopic.set(p.topic, (list = []));
    list.push(p.partition);
  }
  return [...byTopic]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
}

export function fromWire(tps: readonly { topic: string; partitions: readonly number[] }[]): TopicPartition[] {
  const out: TopicPartition[] = [];
  const seen = new Set<string>();
  for (const t of tps) {
    for (const partition of t.partitions) {
      const k = tpKey(t.topic, partition);
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ topic: t.topic, partition });
    }
  }
  return out;
}

export interface AssignmentDiff {
  /** Owned and not in the target: to give back first. */
  revoked: TopicPartition[];
  /** In the target and not owned: to start consuming. */
  added: TopicPartition[];
}

export function diffAssignment(owned: Iterable<TopicPartition>, target: Iterable<TopicPartition>): AssignmentDiff {
  const ownedMap = new Map<string, TopicPartition>();
  for (const p of owned) ownedMap.set(tpKey(p.topic, p.partition), p);
  const targetMap = new Map<string, TopicPartition>();
  for (const p of target) targetMap.set(tpKey(p.topic, p.partition), p);
  return {
    revoked: [...ownedMap].filter(([k]) => !targetMap.has(k)).map(([, p]) => ({ topic: p.topic, partition: p.partition })),
    added: [...targetMap].filter(([k]) => !ownedMap.has(k)).map(([, p]) => ({ topic: p.topic, partition: p.partition })),
  };
}

export type RebalanceEvent = 'assigned' | 'revoked';
export type AssignedCallback = (partitions: TopicPartition[]) => void | Promise<void>;
export type RevokedCallback = (partitions: TopicPartition[], info: RevokeInfo) => void | Promise<void>;

export class RebalanceListeners {
  private readonly assigned: AssignedCallback[] = [];
  private readonly revoked: RevokedCallback[] = [];

  constructor(
    private readonly logger: Logger,
    initial?: RebalanceListener,
  ) {
    if (initial?.onAssigned) this.assigned.push(initial.onAssigned.bind(initial));
    if (initial?.onRevoked) this.revoked.push(initial.onRevoked.bind(initial));
  }

  on(event: RebalanceEvent, fn: AssignedCallback | RevokedCallback): void {
    if (event === 'assigned') this.assigned.push(fn as AssignedCallback);
    else this.revoked.push(fn as RevokedCallback);
  }

  off(event: RebalanceEvent, fn: AssignedCallback | RevokedCallback): void {
    const list: unknown[] = event === 'assigned' ? this.assigned : this.revoked;
    const i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
  }

  async emitAssigned(partitions: TopicPartition[]): Promise<void> {
    for (const fn of [...this.assigned]) {
      try {
        await fn(partitions.map((p) => ({ ...p })));
      } catch (err) {
        this.logger.error({ err: String(err) }, 'assigned listener failed');
      }
    }
  }

  async emitRevoked(partitions: TopicPartition[], info: RevokeInfo): Promise<void> {
    for (const fn of [...this.revoked]) {
      try {
        await fn(
          partitions.map((p) => ({ ...p })),
          { ...info },
        );
      } catch (err) {
        this.logger.error({ err: String(err) }, 'revoked listener failed');
      }
    }
  }
}
