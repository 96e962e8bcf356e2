/**
 * Consumer: reads assigned partitions, in order per partition, as an async iterator or through
 * `run({ eachMessage | eachBatch })`.
 *
 * Fetching (fetcher.ts) runs ahead of the application into a FIFO of fetched results bounded by
 * `maxBufferedBytes`; the iterator hands records out of that buffer synchronously, waiting only
 * when it is empty. `position()` is the next offset the application will get (Kafka's position).
 *
 * Assignment is pluggable (assignment.ts): `assign()` drives a ManualAssignment; `subscribe()`
 * (needs `groupId`) a GroupMembership (group-membership.ts), which joins the group and hands
 * partitions over as the coordinator decides.
 *
 * Processed offsets (what group commits store): a record is processed once `eachMessage` /
 * `eachBatch` resolved for it, or — iterating — once the application asks for the next record or
 * closes the consumer. A revocation stops fetching the partitions, waits for the record in
 * processing, runs the 'revoked' listeners, commits (with enableAutoCommit) and only then gives
 * the partitions back (partition-handover.ts).
 *
 * Errors the application must see (OFFSET_OUT_OF_RANGE
 * with autoOffsetReset 'none', corrupt data, non-retriable broker errors) reject the next
 * `next()` / end `run()` with the FerryError; the consumer keeps its state, so a `seek()` and a
 * new iteration continue.
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { ManualAssignment, type AssignmentListener, type AssignmentSource } from './assignment.js';
import { ConsumerGroup, validateSubscription } from './consumer-group.js';
import type { ClientContext } from './context.js';
import { closedError, toFerryError } from './errors.js';
import { Fetcher, PartitionState, tpKey, type CompletedFetch } from './fetcher.js';
import { listOffsets, specToTimestamp } from './list-offsets.js';
import { validateOffsets } from './offset-committer.js';
import { resolveConsumerOptions, type ResolvedConsumerOptions } from './options.js';
import { PartitionHandover } from './partition-handover.js';
import type { AssignedCallback, RebalanceEvent, RevokedCallback } from './rebalance.js';
import type {
  CommittedOffset,
  ConsumerOptions,
  ConsumerRecord,
  OffsetToCommit,
  RunOptions,
  SeekTarget,
  Subscription,
  TopicPartition,
  TopicPartitionOffset,
} from './types.js';

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true }) as IteratorReturnResult<undefined>;

export class Consumer implements AsyncIterable<ConsumerRecord> {
  readonly options: ResolvedConsumerOptions;
  private readonly fetcher: Fetcher;
  private readonly queue: CompletedFetch[] = [];
  private current: CompletedFetch | null = null;
  private dataWaiters: (() => void)[] = [];
  private error: FerryError | null = null;
  private stopped = false;
  private closed = false;
  private source: AssignmentSource | null = null;
  private manual: ManualAssignment | null = null;
  private readonly group: ConsumerGroup | null;
  private readonly handover: PartitionHandover;
  /** The record the iterator handed out last: processed when the next one is asked for. */
  private lastState: PartitionState | null = null;
  private lastNext = -1;
  private readonly listener: AssignmentListener = {
    onAssigned: (parts) => this.onAssigned(parts),
    onRevoked: (parts) => this.onRevoked(parts),
    onLost: (parts) => this.handover.lose(parts),
  };

  constructor(
    private readonly ctx: ClientContext,
    options: ConsumerOptions = {},
    private readonly onClose: (c: Consumer) => void = () => {},
  ) {
    this.options = resolveConsumerOptions(options);
    const groupId = this.options.groupId;
    this.group = groupId !== null ? new ConsumerGroup(ctx, { ...this.options, groupId }) : null;
    this.fetcher = new Fetcher(ctx, this.options, {
      onFetched: (cf) => {
        this.queue.push(cf);
        this.wakeWaiters();
      },
      onError: (err, state) => {
        this.ctx.logger.warn({ topic: state.topic, partition: state.partition, code: err.code, err: err.message }, 'consumer error');
        this.error ??= err;
        this.wakeWaiters();
      },
    });
    this.handover = new PartitionHandover(
      {
        states: this.fetcher.states,
        options: this.options,
        group: this.group,
        logger: ctx.logger,
        isClosed: () => this.closed,
        tick: () => this.fetcher.tick(),
      },
      options.rebalanceListener,
    );
  }

  /** Replaces the assignment with these partitions (manual assignment, no group). */
  assign(partitions: readonly TopicPartitionOffset[]): void {
    if (this.closed) throw closedError('consumer');
    if (!Array.isArray(partitions)) throw new FerryError(ErrorCode.INVALID_REQUEST, 'assign() needs an array of { topic, partition, offset? }');
    for (const p of partitions) {
      if (!p || typeof p.topic !== 'string' || p.topic === '' || !Number.isInteger(p.partition) || p.partition < 0) {
        throw new FerryError(ErrorCode.INVALID_REQUEST, `invalid partition ${JSON.stringify(p)} in assign()`);
      }
      if (p.offset !== undefined && (!Number.isInteger(p.offset) || p.offset < 0)) {
        throw new FerryError(ErrorCode.INVALID_REQUEST, `invalid offset ${p.offset} for ${p.topic}-${p.partition}: an integer >= 0`);
      }
    }
    if (this.source && this.source !== this.manual) {
      throw new FerryError(ErrorCode.INVALID_REQUEST, 'assign() cannot be mixed with subscribe() or another assignment source');
    }
    if (!this.manual) {
      this.manual = new ManualAssignment();
      this.source = this.manual;
      this.manual.start(this.listener);
    }
    this.manual.set(partitions);
  }

  /**
   * Joins the consumer group (`groupId`) with this subscription; calling it again changes the
   * subscription. Partitions arrive through the coordinator's assignments ('assigned' events).
   */
  subscribe(subscription: Subscription): void {
    if (this.closed) throw closedError('consumer');
    const sub = validateSubscription(subscription);
    const g = this.requireGroup('subscribe()');
    if (g.membership) {
      g.membership.setSubscription(sub);
      return;
    }
    if (this.source) throw new FerryError(ErrorCode.INVALID_REQUEST, 'subscribe() cannot be mixed with assign() or another assignment source');
    const membership = g.createMembership(sub, (err) => {
      this.error ??= err;
      this.wakeWaiters();
    });
    this.source = membership;
    // Outside membership (joining, rejoining) a commit would only be rejected: skip those ticks.
    if (this.options.enableAutoCommit) g.committer.startAuto(this.options.autoCommitIntervalMs, () => (membership.memberEpoch > 0 ? this.committable() : []));
    membership.start(this.listener);
  }

  /**
   * Commits the current positions of every assigned partition (everything delivered so far: call it
   * after processing), or exactly `offsets` (each the next offset to consume, with optional
   * metadata). Needs `groupId`. Rejects with the coordinator's error (e.g. STALE_MEMBER_EPOCH).
   */
  async commit(offsets?: readonly OffsetToCommit[]): Promise<void> {
    const g = this.requireGroup('commit()');
    if (offsets !== undefined) validateOffsets(offsets);
    await g.committer.commit(offsets ?? this.handover.positions());
  }

  /** The group's committed offsets of `partitions` (default: the assigned ones); -1 = none. */
  async committed(partitions?: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    const g = this.requireGroup('committed()');
    return g.committer.fetch(partitions ?? this.assignment());
  }

  /** Rebalance listeners, awaited in registration order (see RebalanceListener). */
  on(event: 'assigned', listener: AssignedCallback): this;
  on(event: 'revoked', listener: RevokedCallback): this;
  on(event: RebalanceEvent, listener: AssignedCallback | RevokedCallback): this {
    if (event !== 'assigned' && event !== 'revoked') throw new FerryError(ErrorCode.INVALID_REQUEST, `unknown consumer event ${String(event)}`);
    this.handover.listeners.on(event, listener);
    return this;
  }

  off(event: RebalanceEvent, listener: AssignedCallback | RevokedCallback): this {
    this.handover.listeners.off(event, listener);
    return this;
  }

  /** Member id and epoch in the group (empty / 0 before joining). */
  groupMember(): { memberId: string; memberEpoch: number } | null {
    return this.group?.membership?.identity() ?? null;
  }

  /** Plugs in an assignment source (e.g. a group manager); the consumer follows its decisions. */
  async useAssignmentSource(source: AssignmentSource): Promise<void> {
    if (this.closed) throw closedError('consumer');
    if (this.source) throw new FerryError(ErrorCode.INVALID_REQUEST, 'the consumer already has an assignment source');
    this.source = source;
    await source.start(this.listener);
  }

  /** The partitions assigned now. */
  assignment(): TopicPartition[] {
    return [...this.fetcher.states.values()].map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  /** Moves the position; data fetched before is discarded. Resolves once the new offset is known. */
  async seek(tp: TopicPartition, target: SeekTarget): Promise<void> {
    const s = this.stateOf(tp);
    if (typeof target === 'number') {
      if (!Number.isInteger(target) || target < 0) throw new FerryError(ErrorCode.INVALID_REQUEST, `invalid seek offset ${target}`);
      s.moveTo(target);
    } else {
      const epoch = ++s.epoch;
      const [answer] = await listOffsets(this.ctx, [{ topic: s.topic, partition: s.partition, timestamp: specToTimestamp(target) }]);
      if (s.epoch !== epoch) return; // another seek won
      if (answer!.offset >= 0) s.moveTo(answer!.offset);
      else {
        const [latest] = await listOffsets(this.ctx, [{ topic: s.topic, partition: s.partition, timestamp: specToTimestamp('latest') }]);
        if (s.epoch === epoch) s.moveTo(latest!.offset);
      }
    }
    this.fetcher.tick();
  }

  /** Stops fetching these partitions; buffered data of theirs is dropped and refetched on resume. */
  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const s = this.stateOf(tp);
      this.handover.unhold(s);
      if (s.paused) continue;
      s.paused = true;
      s.epoch++;
      if (s.reset === null && s.position >= 0) s.fetchOffset = s.position;
    }
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.stateOf(tp).paused = false;
    this.fetcher.tick();
  }

  paused(): TopicPartition[] {
    return [...this.fetcher.states.values()].filter((s) => s.paused).map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  /** Next offset the application will receive; -1 while it is still being looked up. */
  position(tp: TopicPartition): number {
    const s = this.stateOf(tp);
    return s.reset !== null ? -1 : s.position;
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    this.start();
    const next = (): Promise<IteratorResult<ConsumerRecord>> => {
      if (this.error !== null) return Promise.reject(this.takeError());
      const r = this.takeRecord();
      if (r !== null) return Promise.resolve({ value: r, done: false });
      if (this.stopped) return Promise.resolve(DONE);
      return this.waitForData().then(next);
    };
    return {
      next,
      return: async () => {
        await this.stop();
        return DONE;
      },
    };
  }

  /** Calls the handler for every record (or batch) until stop()/close(); rejects on a handler error. */
  async run(opts: RunOptions): Promise<void> {
    const { eachMessage, eachBatch } = opts ?? {};
    if (!eachMessage && !eachBatch) throw new FerryError(ErrorCode.INVALID_REQUEST, 'run() needs eachMessage or eachBatch');
    this.start();
    while (!this.stopped) {
      if (this.error !== null) throw this.takeError();
      const cf = this.takeFetch();
      if (cf === null) {
        await this.waitForData();
        continue;
      }
      const s = cf.state;
      if (eachBatch) {
        const records = cf.index === 0 ? cf.records : cf.records.slice(cf.index);
        cf.index = cf.records.length;
        this.release(cf);
        const last = records[records.length - 1]!;
        if (s.processed < 0) s.processed = records[0]!.offset;
        s.position = last.offset + 1;
        this.handover.handlerState = s;
        try {
          await eachBatch({ topic: s.topic, partition: s.partition, records, highWatermark: cf.highWatermark });
        } catch (err) {
          if (s.epoch === cf.epoch) this.rewind(s, records[0]!.offset);
          throw err;
        } finally {
          this.handover.handlerDone();
        }
        // Unless the application sought meanwhile, the batch is processed (also when revoked meanwhile).
        if (s.position === last.offset + 1) s.processed = s.position;
        continue;
      }
      while (cf.index < cf.records.length && s.epoch === cf.epoch && !this.stopped) {
        const r = cf.records[cf.index++]!;
        if (s.processed < 0) s.processed = r.offset;
        s.position = r.offset + 1;
        this.handover.handlerState = s;
        try {
          await eachMessage!(r);
        } catch (err) {
          if (s.epoch === cf.epoch) this.rewind(s, r.offset);
          this.release(cf);
          throw err;
        } finally {
          this.handover.handlerDone();
        }
        if (s.position === r.offset + 1) s.processed = s.position;
      }
      this.release(cf);
    }
  }

  /** Ends run() and iterators (they finish after the record in hand) and stops fetching. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.fetcher.stop();
    this.wakeWaiters();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.stop();
    this.markDeliveredProcessed(); // an iterating application is done with the record it holds
    this.closed = true;
    const g = this.group;
    g?.committer.stopAuto();
    const source = this.source;
    this.source = null;
    if (g && !g.membership && this.options.enableAutoCommit && this.fetcher.states.size > 0) {
      // Manual assignment with a group id: commit outside membership (accepted for empty groups).
      await g.committer.commit(this.committable()).catch((err: unknown) =>
        this.ctx.logger.warn({ groupId: g.committer.groupId, err: toFerryError(err).message }, 'commit on close failed'),
      );
    }
    if (source) await source.stop(); // a group membership revokes (commits) everything, then leaves
    await g?.committer.drain();
    for (const s of this.fetcher.states.values()) s.epoch++;
    this.fetcher.states.clear();
    this.queue.length = 0;
    this.current = null;
    this.fetcher.bufferedBytes = 0;
    this.onClose(this);
  }

  private start(): void {
    if (this.closed) throw closedError('consumer');
    this.stopped = false;
    this.fetcher.running = true;
    this.fetcher.tick();
  }

  private stateOf(tp: TopicPartition): PartitionState {
    const s = tp ? this.fetcher.states.get(tpKey(tp.topic, tp.partition)) : undefined;
    if (!s) throw new FerryError(ErrorCode.INVALID_REQUEST, `${tp?.topic}-${tp?.partition} is not assigned to this consumer`);
    return s;
  }

  private onAssigned(parts: readonly TopicPartitionOffset[]): void | Promise<void> {
    const policy = this.options.autoOffsetReset;
    const grouped = this.group?.membership != null;
    const fresh: PartitionState[] = [];
    for (const p of parts) {
      const k = tpKey(p.topic, p.partition);
      let s = this.fetcher.states.get(k);
      if (!s) {
        s = new PartitionState(p.topic, p.partition);
        this.fetcher.states.set(k, s);
        if (grouped) {
          // Not fetched before the 'assigned' listeners ran (they may seek or pause).
          this.handover.hold(s);
          fresh.push(s);
        }
      }
      if (p.offset !== undefined) s.moveTo(p.offset);
      else if (policy !== 'none') s.reset = policy;
      else {
        // Nothing says where to start; the application must seek() first.
        s.epoch++;
        s.reset = null;
        s.fetchOffset = -1;
        s.position = -1;
        this.error ??= new FerryError(
          ErrorCode.OFFSET_OUT_OF_RANGE,
          `no offset for ${p.topic}-${p.partition} and autoOffsetReset is 'none': pass an offset to assign() or seek()`,
        );
      }
    }
    if (!this.closed && !this.stopped) {
      this.fetcher.running = true;
      this.fetcher.tick();
    }
    if (grouped) return this.handover.afterAssigned(parts, fresh);
  }

  private onRevoked(parts: readonly TopicPartition[]): void | Promise<void> {
    if (this.group?.membership == null) return this.handover.drop(parts);
    return this.handover.revoke(parts);
  }

  private markDeliveredProcessed(): void {
    const s = this.lastState;
    if (s === null) return;
    this.lastState = null;
    if (s.position === this.lastNext) s.processed = this.lastNext;
  }

  /** Commits stay possible while closing (a 'revoked' listener may commit); the link refuses after leaving. */
  private requireGroup(what: string): ConsumerGroup {
    if (!this.group) throw new FerryError(ErrorCode.INVALID_CONFIG, `${what} needs the consumer option groupId`);
    return this.group;
  }

  private committable(): OffsetToCommit[] {
    return this.handover.committable();
  }

  private rewind(s: PartitionState, offset: number): void {
    s.moveTo(offset);
    this.fetcher.tick();
  }

  private takeError(): FerryError {
    const e = this.error!;
    this.error = null;
    return e;
  }

  /** The next fetched result with records left, dropping stale ones; null when the buffer is empty. */
  private takeFetch(): CompletedFetch | null {
    for (;;) {
      let cf = this.current;
      if (cf === null) {
        cf = this.queue.shift() ?? null;
        if (cf === null) return null;
        this.current = cf;
      }
      if (cf.epoch === cf.state.epoch && cf.index < cf.records.length) return cf;
      this.release(cf);
    }
  }

  private takeRecord(): ConsumerRecord | null {
    this.markDeliveredProcessed();
    const cf = this.takeFetch();
    if (cf === null) return null;
    const r = cf.records[cf.index++]!;
    const s = cf.state;
    if (s.processed < 0) s.processed = r.offset;
    s.position = r.offset + 1;
    this.lastState = s;
    this.lastNext = s.position;
    if (cf.index === cf.records.length) this.release(cf);
    return r;
  }

  private release(cf: CompletedFetch): void {
    if (this.current === cf) this.current = null;
    if (cf.bytes > 0) {
      this.fetcher.bufferedBytes -= cf.bytes;
      cf.bytes = 0;
      this.fetcher.tick();
    }
  }

  private waitForData(): Promise<void> {
    return new Promise((resolve) => this.dataWaiters.push(resolve));
  }

  private wakeWaiters(): void {
    if (this.dataWaiters.length === 0) return;
    const w = this.dataWaiters;
    this.dataWaiters = [];
    for (const f of w) f();
  }
}
