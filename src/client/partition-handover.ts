/**
 * The consumer's side of a group rebalance: how partitions are taken on and given back without a
 * record being skipped or two members working on one partition at once.
 *
 *  - Taking on (`hold` + `afterAssigned`): new partitions stay paused until the application's
 *    'assigned' listeners resolved, so a seek or pause in them applies before the first fetch.
 *  - Giving back (`revoke`): stop fetching them (buffered and in-flight data dropped), wait for the
 *    record a handler is working on (at most `rebalanceTimeoutMs`, or CLOSE_PROCESSING_WAIT_MS when
 *    closing: a close() called from inside a handler must not wait for itself forever), run the
 *    'revoked' listeners, commit their processed offsets (with enableAutoCommit), then forget them.
 *    The membership acknowledges the revocation to the coordinator only after this resolves.
 *  - Losing (`lose`): fenced or expired, they already belong to someone else: forgotten at once,
 *    nothing committed (the coordinator would reject it), then the listeners hear `{ lost: true }`.
 *
 * Processed offsets (`committable`): `PartitionState.processed` once a record was delivered since
 * the last move, else the position itself (nothing delivered, so nothing in processing).
 */
import type { ConsumerGroup } from './consumer-group.js';
import { toFerryError } from './errors.js';
import { tpKey, type PartitionState } from './fetcher.js';
import type { ResolvedConsumerOptions } from './options.js';
import { RebalanceListeners } from './rebalance.js';
import type { Logger, OffsetToCommit, RebalanceListener, TopicPartition } from './types.js';

/** Longest close() waits for the record in processing before committing without it, ms. */
export const CLOSE_PROCESSING_WAIT_MS = 10_000;

export interface HandoverHost {
  readonly states: Map<string, PartitionState>;
  readonly options: ResolvedConsumerOptions;
  readonly group: ConsumerGroup | null;
  readonly logger: Logger;
  isClosed(): boolean;
  /** Schedules a fetcher pass. */
  tick(): void;
}

export class PartitionHandover {
  readonly listeners: RebalanceListeners;
  /** Partition of the record an eachMessage/eachBatch handler works on now; set by the run loop. */
  handlerState: PartitionState | null = null;
  private handlerWaiters: (() => void)[] = [];
  private readonly holding = new Set<PartitionState>();

  constructor(
    private readonly host: HandoverHost,
    initial?: RebalanceListener,
  ) {
    this.listeners = new RebalanceListeners(host.logger, initial);
  }

  /** Keeps a newly assigned partition paused until its 'assigned' listeners ran. */
  hold(s: PartitionState): void {
    s.paused = true;
    this.holding.add(s);
  }

  /** An application pause outlives the hold of a new assignment. */
  unhold(s: PartitionState): void {
    this.holding.delete(s);
  }

  async afterAssigned(parts: readonly TopicPartition[], fresh: readonly PartitionState[]): Promise<void> {
    try {
      await this.listeners.emitAssigned(parts.map((p) => ({ topic: p.topic, partition: p.partition })));
    } finally {
      for (const s of fresh) if (this.holding.delete(s)) s.paused = false;
      this.host.tick();
    }
  }

  async revoke(parts: readonly TopicPartition[]): Promise<void> {
    const states = this.statesOf(parts);
    for (const s of states) {
      s.paused = true;
      s.epoch++; // buffered and in-flight data of it is dropped
      this.holding.delete(s);
    }
    await this.waitForHandler(states, this.host.isClosed() ? CLOSE_PROCESSING_WAIT_MS : this.host.options.rebalanceTimeoutMs);
    const list = parts.map((p) => ({ topic: p.topic, partition: p.partition }));
    await this.listeners.emitRevoked(list, { lost: false });
    const g = this.host.group;
    if (g && this.host.options.enableAutoCommit) {
      await g.committer.commit(this.committable(list)).catch((err: unknown) =>
        this.host.logger.warn({ groupId: g.committer.groupId, err: toFerryError(err).message }, 'commit on revoke failed'),
      );
    }
    this.drop(list, states);
    g?.committer.forget(list);
  }

  lose(parts: readonly TopicPartition[]): Promise<void> {
    const list = parts.map((p) => ({ topic: p.topic, partition: p.partition }));
    this.drop(list);
    this.host.group?.committer.forget(list);
    return this.listeners.emitRevoked(list, { lost: true });
  }

  /** Forgets partitions (only these state objects when `only` is given: a re-assignment may have replaced them). */
  drop(parts: readonly TopicPartition[], only?: readonly PartitionState[]): void {
    for (const p of parts) {
      const k = tpKey(p.topic, p.partition);
      const s = this.host.states.get(k);
      if (!s || (only && !only.includes(s))) continue;
      s.epoch++; // buffered and in-flight data of it is dropped
      this.holding.delete(s);
      this.host.states.delete(k);
    }
  }

  statesOf(parts: readonly TopicPartition[]): PartitionState[] {
    const out: PartitionState[] = [];
    for (const p of parts) {
      const s = this.host.states.get(tpKey(p.topic, p.partition));
      if (s) out.push(s);
    }
    return out;
  }

  /** Processed offsets of `parts` (default: all assigned) whose position is known. */
  committable(parts?: readonly TopicPartition[]): OffsetToCommit[] {
    const states = parts ? this.statesOf(parts) : [...this.host.states.values()];
    const out: OffsetToCommit[] = [];
    for (const s of states) {
      const offset = s.processed >= 0 ? s.processed : s.reset === null ? s.position : -1;
      if (offset >= 0) out.push({ topic: s.topic, partition: s.partition, offset });
    }
    return out;
  }

  /** Positions (next offset the application gets) of every assigned partition whose position is known. */
  positions(): OffsetToCommit[] {
    const out: OffsetToCommit[] = [];
    for (const s of this.host.states.values()) {
      if (s.reset === null && s.position >= 0) out.push({ topic: s.topic, partition: s.partition, offset: s.position });
    }
    return out;
  }

  /** Called by the run loop when a handler settled. */
  handlerDone(): void {
    this.handlerState = null;
    if (this.handlerWaiters.length === 0) return;
    const w = this.handlerWaiters;
    this.handlerWaiters = [];
    for (const f of w) f();
  }

  /** Resolves when no handler works on a record of `states`, or after `maxWaitMs`. */
  private async waitForHandler(states: readonly PartitionState[], maxWaitMs: number): Promise<void> {
    const deadline = Date.now() + maxWaitMs;
    while (this.handlerState !== null && states.includes(this.handlerState)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.host.logger.warn({ waitedMs: maxWaitMs }, 'record still in processing; revoking without its offset');
        return;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.handlerWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
