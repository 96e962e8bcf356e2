// RaftHost: runs one sans-I/O RaftNode for real — files, timers, a transport, a state machine.
//
// Event loop. Every event (a received message, the timer, a proposal, a finished fsync, close) is a
// task on ONE SerialExecutor, so the node and the state machine see one call at a time and the
// effects of a step are carried out completely before the next step starts.
//
// Effects of a step, in order (effects.ts has the contract):
//   persistHardState   quorum-state file, atomic + fsync, awaited        (sync barrier)
//   appendLog          page-cache write to the segment files; a group fsync is scheduled
//   apply              state machine; proposals waiting on those indexes settle
//   takeSnapshot       noted; taken after the step (below)
//   compactLog         old snapshot files and covered segments deleted
//   installSnapshot    snapshot file (atomic), log dropped/compacted, state machine restored (sync barrier)
//   leaderChanged      logged, listeners told; pending proposals fail if we stopped leading
// then the step's messages go to the transport — after the barriers, so no vote is granted and no
// snapshot acknowledged before it is on disk. Log appends need not be durable before sending: the
// core acknowledges (follower) or counts (leader) an entry only after `logDurable`.
//
// Group commit: appendLog only writes; the first write after an fsync schedules one flush task via
// setImmediate, so every event already queued (more appends) runs before it and shares that fsync.
// The flush reports the durable (index, term) to the node with logDurable.
//
// Snapshots: after a step, if the core asked (takeSnapshot, every snapshotIntervalEntries) or the
// entries applied since the last snapshot exceed maxBytesBeforeSnapshot, the state machine is
// snapshotted at the applied index, stored atomically, and handed to the node (snapshotTaken), whose
// compactLog effect then trims the log.
//
// Failure: an I/O error (or a state machine throwing) in any task is fatal — Raft cannot continue
// with an unknown disk state. The host stops its timer, detaches from the transport, fails pending
// proposals with STORAGE_ERROR and calls `onFatalError` (the broker exits; a restart recovers).

import { strict as assert } from 'node:assert';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { ErrorCode, FerryError } from '../../protocol/errors.js';
import { SerialExecutor } from '../../util/serial-executor.js';
import type { LogIndex, NodeId, Output, RaftConfig, RaftMessage, Random, Snapshot } from '../raft/index.js';
import { RaftNode, mathRandom } from '../raft/index.js';
import { FileRaftLog } from './file-raft-log.js';
import { readHardState, writeHardState } from './hard-state-file.js';
import { ProposalWaiters } from './proposal-waiters.js';
import { DEFAULT_HOST_LIMITS, NotLeaderError, type LeaderInfo, type RaftHostLimits, type RaftStateMachine, type RaftTransport } from './types.js';

/** Bytes counted per applied entry on top of its data (index, term, framing) toward the snapshot limit. */
const ENTRY_OVERHEAD_BYTES = 25;

export interface RaftHostOptions {
  readonly config: RaftConfig;
  /** This node's controller-quorum directory (log segments, snapshots, quorum-state). */
  readonly dir: string;
  readonly stateMachine: RaftStateMachine;
  readonly transport: RaftTransport;
  readonly logger: Logger;
  readonly limits?: Partial<RaftHostLimits>;
  /** Address of a voter, for NotLeaderError's leader hint ('' when unknown). */
  readonly addressOf?: (id: NodeId) => string;
  readonly onFatalError?: (err: Error) => void;
  /** Monotonic milliseconds; performance.now by default. */
  readonly clock?: () => number;
  readonly random?: Random;
}

export class RaftHost {
  private readonly queue = new SerialExecutor();
  private readonly waiters: ProposalWaiters;
  private readonly listeners = new Set<(info: LeaderInfo) => void>();
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | null = null;
  private timerDue = Infinity;
  private flushScheduled = false;
  private snapshotWanted = false;
  private appliedIndex: LogIndex;
  private appliedBytesSinceSnapshot = 0;
  private state: 'running' | 'closed' | 'failed' = 'running';
  private wasLeader = false;

  private constructor(
    private readonly options: RaftHostOptions,
    private readonly limits: RaftHostLimits,
    private readonly log: FileRaftLog,
    private readonly node: RaftNode,
  ) {
    this.clock = options.clock ?? (() => performance.now());
    this.waiters = new ProposalWaiters(limits.proposeTimeoutMs);
    this.appliedIndex = node.lastApplied;
  }

  /** Recovers hard state, log and snapshot from `dir`, restores the state machine, starts the timer. */
  static async open(options: RaftHostOptions): Promise<RaftHost> {
    const limits = { ...DEFAULT_HOST_LIMITS, ...options.limits };
    const { config, dir, logger } = options;
    const { log, snapshot } = await FileRaftLog.open({ dir, segmentBytes: limits.segmentBytes, snapshotsRetained: limits.snapshotsRetained, logger });
    try {
      const hardState = await readHardState(dir);
      if (snapshot) await options.stateMachine.restoreSnapshot(snapshot.data, { index: snapshot.index, term: snapshot.term });
      const clock = options.clock ?? (() => performance.now());
      const node = new RaftNode({ config, random: options.random ?? mathRandom, log, hardState, snapshot }, clock());
      const host = new RaftHost(options, limits, log, node);
      logger.info({ nodeId: config.id, term: hardState.term, votedFor: hardState.votedFor, snapshotIndex: log.snapshotIndex, lastIndex: log.lastIndex() }, 'raft host started');
      options.transport.setReceiver((message) => host.receive(message));
      host.arm();
      return host;
    } catch (err) {
      await log.close();
      throw err;
    }
  }

  // ---- public API ------------------------------------------------------------------------------
  get id(): NodeId {
    return this.node.id;
  }

  /** The leader this node knows of (null while an election is on), with its term and our role. */
  leader(): LeaderInfo {
    return { leaderId: this.node.leaderId, term: this.node.term, role: this.node.role };
  }

  /** Called with every change of leader, term or role; returns the unsubscribe function. */
  onLeaderChange(listener: (info: LeaderInfo) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Progress counters (tests, metrics, the controller's readiness check). */
  status(): { id: NodeId; role: string; term: number; leaderId: NodeId | null; commitIndex: LogIndex; lastApplied: LogIndex; durableIndex: LogIndex; snapshotIndex: LogIndex; lastIndex: LogIndex; logSyncs: number } {
    const n = this.node;
    return {
      id: n.id, role: n.role, term: n.term, leaderId: n.leaderId, commitIndex: n.commitIndex, lastApplied: n.lastApplied,
      durableIndex: n.durableIndex, snapshotIndex: n.log.snapshotIndex, lastIndex: n.log.lastIndex(), logSyncs: this.log.syncCount,
    };
  }

  /** A message from a peer (the transport's receiver). */
  receive(message: RaftMessage): void {
    this.event((now) => this.node.receive(message, now)).catch(() => undefined); // failures go through fail()
  }

  /**
   * Appends `records` as one batch of entries. Resolves with the batch's last index once it is
   * committed and applied to the local state machine; rejects with NotLeaderError (redirect),
   * REQUEST_TIMED_OUT (outcome unknown) or SHUTTING_DOWN / STORAGE_ERROR.
   */
  async propose(records: readonly Uint8Array[]): Promise<LogIndex> {
    if (records.length === 0) throw new FerryError(ErrorCode.INVALID_REQUEST, 'a proposal needs at least one record');
    const waiting = await this.queue.run(async () => {
      this.assertRunning();
      const out = this.node.propose(records, this.clock());
      if (!out.result.ok) throw this.notLeader('proposal on a non-leader');
      const { term, indexes } = out.result;
      // Registered before the effects run: a single-voter quorum commits within this very step.
      const applied = this.waiters.add(indexes[indexes.length - 1]!, term);
      applied.catch(() => undefined); // settled before the caller awaits it when the step itself fails
      await this.guard(() => this.carryOut(out));
      return { applied };
    });
    return waiting.applied;
  }

  /**
   * Like `propose`, but the records are built on the serial queue knowing the index their entry
   * will get (the controller derives broker epochs from it, and its ahead-of-commit image must
   * match the log). `build` runs only while this node leads; if it throws, nothing is proposed and
   * the error propagates; if it returns no records, nothing is proposed and `index` is null.
   * Otherwise resolves once the entry is committed and applied (same errors as `propose`).
   */
  async proposeWith<R>(build: (nextIndex: LogIndex) => { result: R; records: readonly Uint8Array[] }): Promise<{ result: R; index: LogIndex | null }> {
    const waiting = await this.queue.run(async () => {
      this.assertRunning();
      if (this.node.role !== 'leader') throw this.notLeader('proposal on a non-leader');
      const nextIndex = this.node.log.lastIndex() + 1;
      const { result, records } = build(nextIndex);
      if (records.length === 0) return { result, index: null, applied: Promise.resolve(nextIndex - 1) };
      const out = this.node.propose(records, this.clock());
      if (!out.result.ok) throw this.notLeader('proposal on a non-leader');
      const { term, indexes } = out.result;
      assert.equal(indexes[0], nextIndex, 'proposal did not land at the index it was built for');
      const applied = this.waiters.add(indexes[indexes.length - 1]!, term);
      applied.catch(() => undefined);
      await this.guard(() => this.carryOut(out));
      return { result, index: nextIndex as LogIndex | null, applied };
    });
    await waiting.applied;
    return { result: waiting.result, index: waiting.index };
  }

  /** Stops the timer and the transport feed, fsyncs what was written, fails pending proposals. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasRunning = this.state === 'running';
    this.state = 'closed';
    this.disarm();
    this.options.transport.setReceiver(null);
    this.waiters.rejectAll(() => new FerryError(ErrorCode.SHUTTING_DOWN, 'raft host closed'));
    await this.queue.run(async () => {
      if (wasRunning) await this.log.sync().catch(() => null);
      await this.log.close();
    });
    this.options.logger.info({ nodeId: this.id }, 'raft host closed');
  }

  // ---- event processing ------------------------------------------------------------------------
  private event(run: (now: number) => Output): Promise<void> {
    return this.queue.run(() => {
      if (this.state !== 'running') return undefined;
      return this.guard(() => this.carryOut(run(this.clock())));
    });
  }

  private async guard(task: () => Promise<void>): Promise<void> {
    try {
      await task();
    } catch (err) {
      this.fail(err as Error);
      throw err;
    }
  }

  private async carryOut(out: Output): Promise<void> {
    const { stateMachine, logger } = this.options;
    for (const effect of out.effects) {
      switch (effect.type) {
        case 'persistHardState':
          await writeHardState(this.options.dir, effect.hardState);
          break;
        case 'appendLog':
          await this.log.write(effect.truncateFromIndex, effect.entries);
          this.scheduleFlush();
          break;
        case 'apply': {
          await stateMachine.apply(effect.entries);
          for (const e of effect.entries) this.appliedBytesSinceSnapshot += e.data.length + ENTRY_OVERHEAD_BYTES;
          this.appliedIndex = effect.entries[effect.entries.length - 1]!.index;
          this.waiters.applied(effect.entries, () => this.notLeader('the entry was replaced by another leader\'s'));
          break;
        }
        case 'takeSnapshot':
          this.snapshotWanted = true;
          break;
        case 'compactLog':
          await this.log.compact(effect.throughIndex);
          break;
        case 'installSnapshot': {
          const { snapshot, discardLog } = effect;
          await this.log.installSnapshot(snapshot, discardLog);
          await stateMachine.restoreSnapshot(snapshot.data, { index: snapshot.index, term: snapshot.term });
          this.appliedIndex = snapshot.index;
          this.appliedBytesSinceSnapshot = 0;
          logger.info({ nodeId: this.id, index: snapshot.index, term: snapshot.term, bytes: snapshot.data.length, discardLog }, 'raft snapshot installed from the leader');
          break;
        }
        case 'leaderChanged':
          this.leaderChanged({ leaderId: effect.leaderId, term: effect.term, role: effect.role });
          break;
      }
    }
    for (const message of out.messages) this.options.transport.send(message);
    await this.maybeSnapshot();
    this.arm();
  }

  private leaderChanged(info: LeaderInfo): void {
    const { logger } = this.options;
    const fields = { nodeId: this.id, term: info.term, leaderId: info.leaderId, role: info.role };
    if (info.role === 'leader') logger.info(fields, 'raft: elected leader');
    else if (info.role === 'candidate') logger.info(fields, 'raft: election started');
    else if (info.role === 'follower' && info.leaderId !== null) logger.info(fields, 'raft: following leader');
    else logger.debug(fields, 'raft: no leader known');
    if (this.wasLeader && info.role !== 'leader') {
      this.waiters.rejectAll(() => this.notLeader('leadership lost before the entry was applied'));
    }
    this.wasLeader = info.role === 'leader';
    for (const listener of this.listeners) {
      try {
        listener(info);
      } catch (err) {
        logger.error({ err }, 'raft leader-change listener threw');
      }
    }
  }

  private async maybeSnapshot(): Promise<void> {
    const node = this.node;
    const due = this.snapshotWanted || this.appliedBytesSinceSnapshot >= this.limits.maxBytesBeforeSnapshot;
    if (!due || node.lastApplied <= node.log.snapshotIndex) return;
    this.snapshotWanted = false;
    assert.equal(this.appliedIndex, node.lastApplied, 'state machine is not at the node\'s applied index');
    const index = node.lastApplied;
    const term = node.log.termAt(index);
    assert.ok(term !== undefined, `no term for applied index ${index}`);
    const data = await this.options.stateMachine.takeSnapshot();
    const snapshot: Snapshot = { index, term, data };
    await this.log.saveSnapshot(snapshot);
    this.appliedBytesSinceSnapshot = 0;
    this.options.logger.info({ nodeId: this.id, index, term, bytes: data.length }, 'raft snapshot taken');
    await this.carryOut(node.snapshotTaken(snapshot, this.clock()));
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      void this.queue.run(async () => {
        this.flushScheduled = false;
        if (this.state !== 'running') return;
        await this.guard(async () => {
          const durable = await this.log.sync();
          if (durable) await this.carryOut(this.node.logDurable(durable.index, durable.term, this.clock()));
        });
      }).catch(() => undefined);
    });
  }

  // ---- timer -----------------------------------------------------------------------------------
  /** Sleep until the node's next deadline (an earlier timer already armed is kept). */
  private arm(): void {
    if (this.state !== 'running') return;
    const due = this.node.nextDeadline();
    if (due === Infinity || (this.timer !== null && this.timerDue <= due)) return;
    this.disarm();
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerDue = Infinity;
      this.event((now) => this.node.tick(now)).catch(() => undefined);
    }, Math.max(0, Math.ceil(due - this.clock())));
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerDue = Infinity;
  }

  // ---- errors ----------------------------------------------------------------------------------
  private notLeader(why: string): NotLeaderError {
    const leaderId = this.node.leaderId === this.id ? null : this.node.leaderId;
    return new NotLeaderError(leaderId, this.node.term, leaderId === null ? '' : (this.options.addressOf?.(leaderId) ?? ''), why);
  }

  private assertRunning(): void {
    if (this.state === 'closed') throw new FerryError(ErrorCode.SHUTTING_DOWN, 'raft host closed');
    if (this.state === 'failed') throw new FerryError(ErrorCode.STORAGE_ERROR, 'raft host failed');
  }

  private fail(err: Error): void {
    if (this.state !== 'running') return;
    this.state = 'failed';
    this.disarm();
    this.options.transport.setReceiver(null);
    this.options.logger.fatal({ err, nodeId: this.id }, 'raft host failed; it must be restarted to recover from its files');
    this.waiters.rejectAll(() => new FerryError(ErrorCode.STORAGE_ERROR, `raft host failed: ${err.message}`));
    this.options.onFatalError?.(err);
  }
}
