/**
 * PartitionLog: one partition's log, per the Storage contract in docs/ARCHITECTURE.md.
 *
 * Offsets: logStartOffset (first readable) ≤ highWatermark (visible to consumers) ≤ logEndOffset
 * (next to assign; everything below is written to the page cache); flushedOffset ≤ LEO is fsynced.
 * highWatermark = flushedOffset with flush.mode=always (what a consumer saw cannot vanish in a
 * crash), else LEO; 'highWatermark' is emitted whenever it grows. A replicated partition hands the
 * HW to replication (`replicateHighWatermark`): from then on only `setHighWatermark` moves it, and it
 * starts at the checkpointed HW, never at the LEO (records past it may not be on other replicas).
 * 'append' is emitted with the new LEO after every append (wakes replica long polls).
 *
 * Concurrency: every mutation (append, roll, truncation, retention, cleaner swap, config-driven flush, close)
 * runs on one SerialExecutor, so no two interleave at their awaits. Reads run concurrently against a
 * copy-on-write segment array and size snapshots; a read that overlapped a truncation is retried.
 * Durability waits happen *outside* the queue, so appends keep flowing while an fsync runs and the
 * next fsync covers all of them (group-commit.ts).
 *
 * Failures: operating errors are FerryErrors (OFFSET_OUT_OF_RANGE, MESSAGE_TOO_LARGE,
 * CORRUPT_MESSAGE, STORAGE_ERROR). After a write/fsync/roll failure the log is marked offline and
 * every later append fails with STORAGE_ERROR until it is reopened (which runs recovery).
 */
import { EventEmitter } from 'node:events';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { strict as assert } from 'node:assert';
import type { Logger } from 'pino';
import { OFFSET_LAST_OFFSET_DELTA, stampBatch, stampLogAppendTime, type ValidatedBatches } from '../protocol/record-batch.js';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { CheckpointFile, fsyncDir } from './checkpoint-file.js';
import { GroupCommit } from './group-commit.js';
import type { LeaderEpochCache } from './leader-epoch-cache.js';
import { validateLogConfig, type LogConfig } from './log-config.js';
import { loadPartition } from './log-loader.js';
import { floorSegment, readBatches, type ReadBuffers } from './log-reader.js';
import { segmentsToDelete } from './retention.js';
import { Segment, type SegmentOptions } from './segment.js';
import { DELETED_DIR_SUFFIX } from './segment-files.js';
import { SerialExecutor } from '../util/serial-executor.js';
import { installSwapped, promoteCleanedToSwap } from './segment-swap.js';
import { StorageResources } from './storage-resources.js';
import { checkFollowerBatches } from './follower-batches.js';
import { ProducerStateManager } from './producer-state.js';
import { appendedProducerBatches, hasProducerIds, producerBatchMetas } from './producer-batches.js';

/** Scans never trust a batch length above this (or max.message.bytes if larger). */
export const SCAN_BATCH_BYTES_MAX = 64 * 1024 * 1024;
/** A read overlapping this many truncations in a row gives up with STORAGE_ERROR. */
const READ_RETRIES_MAX = 3;
const EMPTY = Buffer.alloc(0);

export const CHECKPOINT_LOG_START_OFFSET = 'log-start-offset';
export const CHECKPOINT_RECOVERY_POINT = 'recovery-point';
export const CHECKPOINT_HIGH_WATERMARK = 'high-watermark';
export const CHECKPOINT_LEADER_EPOCH = 'leader-epoch-checkpoint';

export interface PartitionLogOptions {
  dir: string;
  topic: string;
  partition: number;
  config: LogConfig;
  logger: Logger;
  /** Shared bounded fd / index caches; a private set when omitted. */
  resources?: StorageResources;
  /** flush.mode=interval: run a private timer (default) or leave it to a scheduler calling maybeFlush. */
  ownFlushTimer?: boolean;
  /** producer.id.expiration.ms: idempotent producers unseen this long are forgotten (default 1 day). */
  producerIdExpirationMs?: number;
}

export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 24 * 60 * 60 * 1000;
/** How often leader appends sweep expired producers out of the state. */
const PRODUCER_EXPIRY_CHECK_MS = 60_000;

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The broker time stamped into LogAppendTime batches, -1 for CreateTime. */
  logAppendTimeMs: number;
  logStartOffset: number;
}

export interface ReadResult {
  records: Buffer;
  highWatermark: number;
  logStartOffset: number;
  logEndOffset: number;
}

export interface ReadOptions {
  maxOffset?: number;
  minOneBatch?: boolean;
  /** Where the records go (default: a fresh buffer); see readBatches. */
  buffers?: ReadBuffers;
}

export class PartitionLog extends EventEmitter {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  private config: LogConfig;
  private readonly logger: Logger;
  private readonly resources: StorageResources;
  private readonly queue = new SerialExecutor();
  private readonly commit: GroupCommit;
  private readonly epochs: LeaderEpochCache;
  private readonly checkpoints: { logStartOffset: CheckpointFile; recoveryPoint: CheckpointFile; highWatermark: CheckpointFile };
  private readonly ownFlushTimer: boolean;
  /** Copy-on-write: readers iterate a stable array while mutators swap in a new one. */
  private segments: Segment[];
  private lso: number;
  private leo: number;
  private hw: number;
  private recoveryPoint: number;
  private totalBytes: number;
  private lastFlushMs = Date.now();
  private truncations = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly pendingDeletes = new Map<Segment, NodeJS.Timeout>();
  private closedWith: FerryError | null = null;
  private offline: FerryError | null = null;
  /** Replication owns the HW (see replicateHighWatermark). */
  private replicated = false;
  /**
   * Idempotent-producer state (producer-state.ts); null until the first append that needs it, and
   * again after a truncation: it is then rebuilt from the batch headers of the log itself, so it
   * always describes exactly what the log holds. Logs no idempotent producer writes to never pay
   * for the scan. Followers keep a loaded state current from what they append.
   */
  private producers: ProducerStateManager | null = null;
  private readonly producerIdExpirationMs: number;
  private lastProducerExpiryMs = Date.now();

  private constructor(opts: PartitionLogOptions, resources: StorageResources, loaded: Awaited<ReturnType<typeof loadPartition>>, checkpoints: PartitionLog['checkpoints']) {
    super();
    this.setMaxListeners(0); // every long-poll fetch on the partition listens
    this.topic = opts.topic;
    this.partition = opts.partition;
    this.dir = opts.dir;
    this.config = { ...opts.config };
    this.logger = opts.logger;
    this.resources = resources;
    this.checkpoints = checkpoints;
    this.ownFlushTimer = opts.ownFlushTimer ?? true;
    this.producerIdExpirationMs = opts.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS;
    this.segments = loaded.segments;
    this.epochs = loaded.epochs;
    this.lso = loaded.logStartOffset;
    this.leo = this.activeSegment.nextOffset;
    this.recoveryPoint = this.leo; // recovery fsynced everything it rescanned
    this.hw = this.leo;
    this.totalBytes = this.segments.reduce((n, s) => n + s.size, 0);
    this.commit = new GroupCommit(this.leo, () => this.fsyncActive(), (flushed) => this.onFlushed(flushed));
  }

  /** Opens (creating if needed) the partition directory and runs recovery. */
  static async open(opts: PartitionLogOptions): Promise<PartitionLog> {
    validateLogConfig(opts.config);
    const resources = opts.resources ?? new StorageResources();
    const checkpoints = {
      logStartOffset: new CheckpointFile(join(opts.dir, CHECKPOINT_LOG_START_OFFSET)),
      recoveryPoint: new CheckpointFile(join(opts.dir, CHECKPOINT_RECOVERY_POINT)),
      highWatermark: new CheckpointFile(join(opts.dir, CHECKPOINT_HIGH_WATERMARK)),
    };
    const segmentOptions = (baseOffset: number): SegmentOptions => ({
      dir: opts.dir,
      baseOffset,
      indexIntervalBytes: opts.config.indexIntervalBytes,
      segmentIndexBytes: opts.config.segmentIndexBytes,
      maxBatchBytes: Math.max(SCAN_BATCH_BYTES_MAX, opts.config.maxMessageBytes),
      resources,
      logger: opts.logger,
    });
    const loaded = await loadPartition({
      dir: opts.dir,
      topic: opts.topic,
      partition: opts.partition,
      logger: opts.logger,
      segmentOptions,
      checkpoints,
      epochCachePath: join(opts.dir, CHECKPOINT_LEADER_EPOCH),
    });
    const log = new PartitionLog(opts, resources, loaded, checkpoints);
    if (loaded.rescannedSegments > 0) {
      opts.logger.info(
        { topic: opts.topic, partition: opts.partition, rescannedSegments: loaded.rescannedSegments, logEndOffset: log.logEndOffset },
        'recovery rescanned segments past the recovery point (the broker did not shut down cleanly)',
      );
    }
    await log.writeCheckpoints();
    log.scheduleFlushTimer();
    return log;
  }

  get logStartOffset(): number {
    return this.lso;
  }
  get logEndOffset(): number {
    return this.leo;
  }
  get flushedOffset(): number {
    return this.commit.flushedOffset;
  }
  get highWatermark(): number {
    return this.hw;
  }
  get sizeInBytes(): number {
    return this.totalBytes;
  }
  /** fsyncs issued by group commit / interval flushes (not counting roll and close). */
  get fsyncCount(): number {
    return this.commit.fsyncCount;
  }
  get segmentCount(): number {
    return this.segments.length;
  }
  /** Base offsets of the segments, oldest first. */
  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }
  get latestEpoch(): number {
    return this.epochs.latestEpoch;
  }
  get currentConfig(): Readonly<LogConfig> {
    return this.config;
  }

  private get activeSegment(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  appendAsLeader(batches: Buffer, validated: ValidatedBatches, leaderEpoch: number): Promise<AppendResult> {
    const append = this.queue.run(async () => {
      this.checkWritable();
      for (const b of validated.batches) {
        if (b.size > this.config.maxMessageBytes) {
          throw new FerryError(ErrorCode.MESSAGE_TOO_LARGE, `batch of ${b.size} bytes exceeds max.message.bytes=${this.config.maxMessageBytes}`);
        }
      }
      const now = Date.now();
      // Idempotence: checked and recorded on this queue, so check + append are atomic per partition.
      const producers = hasProducerIds(batches, validated) ? await this.producerState(now) : null;
      if (producers) {
        const checked = producers.check(producerBatchMetas(batches, validated));
        if (checked.duplicate) {
          // Already in the log: the original offsets, nothing appended (the acks wait still applies).
          return { baseOffset: checked.baseOffset, lastOffset: checked.lastOffset, logAppendTimeMs: -1, logStartOffset: this.lso };
        }
      }
      const baseOffset = this.leo;
      const lastOffset = baseOffset + validated.offsetCount - 1;
      await this.maybeRoll(batches.length, validated.batches.length, lastOffset, now);
      const logAppendTime = this.config.messageTimestampType === 'LogAppendTime';
      let next = baseOffset;
      for (const b of validated.batches) {
        stampBatch(batches, b.pos, next, leaderEpoch);
        if (logAppendTime) stampLogAppendTime(batches, b.pos, now);
        next += batches.readInt32BE(b.pos + OFFSET_LAST_OFFSET_DELTA) + 1;
      }
      assert(next === lastOffset + 1, 'validated offsetCount disagrees with the batches');
      if (this.epochs.assign(leaderEpoch, baseOffset)) await this.epochs.persist();
      this.write(batches, now, lastOffset);
      this.recordProducers(batches);
      return { baseOffset, lastOffset, logAppendTimeMs: logAppendTime ? now : -1, logStartOffset: this.lso };
    });
    return this.config.flushMode === 'always' ? append.then((r) => this.commit.waitFor(r.lastOffset + 1).then(() => r)) : append;
  }

  /** Appends batches whose offsets the leader assigned (replication). */
  appendAsFollower(batches: Buffer): Promise<AppendResult> {
    const append = this.queue.run(async () => {
      this.checkWritable();
      let epochChanged = false;
      const info = checkFollowerBatches(batches, this.leo, (epoch, base) => {
        if (this.epochs.assign(epoch, base)) epochChanged = true;
      });
      const now = Date.now();
      await this.maybeRoll(batches.length, info.batchCount, info.lastOffset, now);
      if (epochChanged) await this.epochs.persist();
      this.write(batches, now, info.lastOffset);
      this.recordProducers(batches);
      return { baseOffset: info.firstOffset, lastOffset: info.lastOffset, logAppendTimeMs: -1, logStartOffset: this.lso };
    });
    return this.config.flushMode === 'always' ? append.then((r) => this.commit.waitFor(r.lastOffset + 1).then(() => r)) : append;
  }

  async read(fetchOffset: number, maxBytes: number, opts: ReadOptions = {}): Promise<ReadResult> {
    if (this.closedWith) throw this.closedWith;
    for (let attempt = 0; attempt < READ_RETRIES_MAX; attempt++) {
      const truncations = this.truncations;
      const lso = this.lso;
      const leo = this.leo;
      const hw = this.hw;
      if (fetchOffset < lso || fetchOffset > leo) {
        throw new FerryError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${fetchOffset} is outside [${lso}, ${leo}] of ${this.topic}-${this.partition}`);
      }
      const maxOffset = Math.min(opts.maxOffset ?? hw, leo);
      let records: Buffer | null = EMPTY;
      if (fetchOffset < maxOffset && maxBytes >= 0) {
        records = await readBatches(this.segments, fetchOffset, maxBytes, maxOffset, opts.minOneBatch ?? true, opts.buffers);
      }
      if (records && truncations === this.truncations) return { records, highWatermark: hw, logStartOffset: lso, logEndOffset: leo };
    }
    throw new FerryError(ErrorCode.STORAGE_ERROR, `read of ${this.topic}-${this.partition} kept overlapping truncations`);
  }

  /** The first batch whose maxTimestamp ≥ timestampMs: its base offset (≥ logStartOffset) and that timestamp. */
  async offsetForTimestamp(timestampMs: number): Promise<{ offset: number; timestamp: number } | null> {
    const segments = this.segments;
    for (let i = floorSegment(segments, this.lso); i < segments.length; i++) {
      const found = await segments[i]!.findByTimestamp(timestampMs);
      if (found) return { offset: Math.max(found.baseOffset, this.lso), timestamp: found.maxTimestamp };
    }
    return null;
  }

  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    return this.epochs.endOffsetFor(epoch, this.leo);
  }

  /**
   * A replica becoming leader records where its epoch starts (the log end) before its first append,
   * as Kafka does at election: followers asking for this epoch's end then get a precise answer even
   * while it holds no records.
   */
  assignEpochStartOffset(epoch: number): Promise<void> {
    return this.queue.run(async () => {
      this.checkWritable();
      if (this.epochs.assign(epoch, this.leo)) await this.epochs.persist();
    });
  }

  /**
   * Removes every batch from the one containing `offset` on (replication: divergent tails), and
   * every leader-epoch entry starting at or after `offset` — even when no record goes (offset = LEO):
   * an epoch this replica led without writing in must not survive a divergence.
   */
  truncateTo(offset: number): Promise<void> {
    return this.queue.run(async () => {
      this.checkWritable();
      if (offset >= this.leo) {
        if (this.epochs.truncateFromEnd(this.leo)) await this.epochs.persist();
        return;
      }
      this.truncations++;
      this.producers = null; // rebuilt from what remains when next needed
      try {
        await this.truncateSegments(offset);
      } catch (err) {
        this.goOffline(err);
        throw err;
      }
      this.leo = this.activeSegment.nextOffset;
      this.totalBytes = this.segments.reduce((n, s) => n + s.size, 0);
      this.commit.resetTo(this.leo);
      this.hw = Math.min(this.hw, this.leo);
      this.recoveryPoint = Math.min(this.recoveryPoint, this.leo);
      if (this.epochs.truncateFromEnd(this.leo)) await this.epochs.persist();
      await this.writeCheckpoints();
      this.logger.info({ topic: this.topic, partition: this.partition, offset, logEndOffset: this.leo }, 'log truncated');
    });
  }

  /**
   * Drops the whole log and starts it empty at `offset`, epoch history included (Kafka's
   * truncateFullyAndStartAt): a follower whose log lies entirely below the leader's log start
   * (retention passed it) can only continue from there.
   */
  restartAt(offset: number): Promise<void> {
    return this.queue.run(async () => {
      this.checkWritable();
      assert(Number.isSafeInteger(offset) && offset >= 0, `bad restart offset ${offset}`);
      this.truncations++;
      this.producers = null;
      const old = this.segments;
      try {
        for (const seg of old) await seg.deleteFiles();
        this.segments = [await Segment.create(this.segmentOptions(offset))];
        await fsyncDir(this.dir);
      } catch (err) {
        this.goOffline(err);
        throw err;
      }
      this.lso = offset;
      this.leo = offset;
      this.hw = offset;
      this.totalBytes = 0;
      this.commit.resetTo(offset);
      this.recoveryPoint = offset;
      if (this.epochs.truncateFromEnd(0)) await this.epochs.persist();
      await this.writeCheckpoints();
      this.logger.warn({ topic: this.topic, partition: this.partition, offset, droppedSegments: old.length }, 'log restarted at an offset (the leader no longer has what this replica lacks)');
    });
  }

  updateConfig(config: LogConfig): void {
    validateLogConfig(config);
    this.config = { ...config };
    for (const s of this.segments) s.indexIntervalBytes = config.indexIntervalBytes;
    this.scheduleFlushTimer();
    if (config.flushMode !== 'always' && !this.replicated) this.advanceHighWatermark(this.leo);
  }

  /**
   * Replication takes over the high watermark: it drops back to the checkpointed HW (bounded by the
   * log start and end) — at open it was set to the LEO, which on a replica may hold records no
   * other replica has — and from now on moves only through setHighWatermark. Idempotent.
   */
  replicateHighWatermark(): Promise<void> {
    return this.queue.run(async () => {
      if (this.replicated) return;
      this.replicated = true;
      let checkpointed: number | null = null;
      try {
        checkpointed = await this.checkpoints.highWatermark.readOffset();
      } catch (err) {
        this.logger.warn({ topic: this.topic, partition: this.partition, err }, 'high-watermark checkpoint unreadable; starting from the log start');
      }
      this.hw = Math.min(this.leo, Math.max(this.lso, checkpointed ?? this.lso));
    });
  }

  /**
   * Replication's HW (the leader's commit point, or a follower's min(leader HW, LEO)): clamped to
   * the LEO, never backwards, checkpointed lazily (at the next roll, truncation or close; a stale
   * checkpoint is only lower, which is safe).
   */
  setHighWatermark(offset: number): void {
    assert(this.replicated, 'setHighWatermark on a log whose HW replication does not own');
    this.advanceHighWatermark(Math.min(offset, this.leo));
  }

  get replicatesHighWatermark(): boolean {
    return this.replicated;
  }

  /** Retention (see retention.ts); returns the number of segments deleted. */
  deleteOldSegments(nowMs: number = Date.now()): Promise<number> {
    return this.queue.run(async () => {
      if (this.closedWith || this.offline) return 0;
      const n = segmentsToDelete({ segments: this.segments, config: this.config, logStartOffset: this.lso, highWatermark: this.hw, sizeBytes: this.totalBytes, nowMs });
      if (n === 0) return 0;
      const doomed = this.segments.slice(0, n);
      this.segments = this.segments.slice(n);
      this.totalBytes -= doomed.reduce((sum, s) => sum + s.size, 0);
      const newStart = Math.max(this.lso, this.segments[0]!.baseOffset);
      if (newStart > this.lso) {
        this.lso = newStart;
        await this.checkpoints.logStartOffset.writeOffset(this.lso);
        if (this.epochs.truncateFromStart(this.lso)) await this.epochs.persist();
      }
      for (const seg of doomed) {
        await seg.renameToDeleted();
        this.scheduleUnlink(seg);
      }
      this.logger.info({ topic: this.topic, partition: this.partition, segments: n, logStartOffset: this.lso }, 'retention deleted segments');
      return n;
    });
  }

  /** A consistent snapshot for the log cleaner (cleaner-plan.ts): segments (the last is active) and offsets. */
  cleanerSnapshot(): { segments: readonly Segment[]; logStartOffset: number; logEndOffset: number; highWatermark: number; config: Readonly<LogConfig> } {
    return { segments: this.segments, logStartOffset: this.lso, logEndOffset: this.leo, highWatermark: this.hw, config: this.config };
  }

  /**
   * The log cleaner's swap (segment-swap.ts steps 2-4): `old`, consecutive inactive segments, are
   * replaced by the segments whose `.cleaned` files the cleaner wrote at `newBases`. Runs on the
   * queue. Returns false and changes nothing when the log moved on meanwhile (closed, offline, or
   * `old` no longer in place after retention or truncation); the caller then discards its files.
   * Readers of the old segments finish on the renamed files. An I/O error takes the log offline;
   * recovery at the next open completes or discards the swap.
   */
  replaceSegments(old: readonly Segment[], newBases: readonly number[]): Promise<boolean> {
    return this.queue.run(async () => {
      if (this.closedWith || this.offline || old.length === 0) return false;
      const at = this.segments.indexOf(old[0]!);
      if (at < 0 || at + old.length >= this.segments.length || old.some((seg, k) => this.segments[at + k] !== seg)) return false;
      assert(newBases[0] === old[0]!.baseOffset, 'cleaned segments start at the first replaced base offset');
      const fresh: Segment[] = [];
      try {
        await promoteCleanedToSwap(this.dir, newBases);
        for (const seg of old) await seg.renameToDeleted();
        await installSwapped(this.dir, newBases);
        for (const base of newBases) {
          const { segment, healthy } = await Segment.load(this.segmentOptions(base));
          if (!healthy) await segment.recover(); // not expected: the cleaner wrote matching indexes
          fresh.push(segment);
        }
      } catch (err) {
        this.goOffline(err);
        throw err;
      }
      this.segments = [...this.segments.slice(0, at), ...fresh, ...this.segments.slice(at + old.length)];
      this.totalBytes = this.segments.reduce((n, seg) => n + seg.size, 0);
      for (const seg of old) this.scheduleUnlink(seg);
      return true;
    });
  }

  /** fsyncs everything written so far. */
  async flush(): Promise<void> {
    await this.commit.waitFor(this.leo);
    this.lastFlushMs = Date.now();
  }

  /** For a shared scheduler: flush.mode=interval flush when one is due. */
  maybeFlush(nowMs: number = Date.now()): void {
    if (this.config.flushMode !== 'interval' || this.closedWith || this.offline) return;
    if (nowMs - this.lastFlushMs < this.config.flushIntervalMs || this.commit.flushedOffset >= this.leo) return;
    this.lastFlushMs = nowMs;
    this.commit.waitFor(this.leo).catch((err: unknown) => this.goOffline(err));
  }

  /** Flushes, seals the active segment, writes every checkpoint (recovery point = LEO), closes files. */
  close(): Promise<void> {
    return this.queue.run(async () => {
      if (this.closedWith) return;
      this.closedWith = new FerryError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.topic}-${this.partition} is closed`);
      this.stopFlushTimer();
      if (!this.offline) {
        await this.commit.waitFor(this.leo);
        await this.activeSegment.seal();
        this.recoveryPoint = this.leo;
        await this.writeCheckpoints();
      }
      for (const s of this.segments) s.close();
      await this.runPendingDeletes();
    });
  }

  /** Closes and removes the partition: renames the directory `<name>.<uuid>-delete`, then removes it in the background. */
  delete(): Promise<void> {
    return this.queue.run(async () => {
      this.closedWith = new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `log ${this.topic}-${this.partition} was deleted`);
      this.stopFlushTimer();
      for (const s of this.segments) s.close();
      for (const timer of this.pendingDeletes.values()) clearTimeout(timer);
      this.pendingDeletes.clear();
      const doomed = `${this.dir}.${randomUUID()}${DELETED_DIR_SUFFIX}`;
      await fsp.rename(this.dir, doomed);
      fsp.rm(doomed, { recursive: true, force: true }).catch((err: unknown) => this.logger.error({ dir: doomed, err }, 'failed to remove deleted partition directory'));
    });
  }

  // ---- internals (called on the queue) ----

  /**
   * The producer state, rebuilt from the log if not loaded: the batch headers of every segment that
   * may hold batches from the last producer.id.expiration.ms (segments whose newest timestamp is
   * older are skipped: their producers would have expired anyway), the active one always.
   */
  private async producerState(nowMs: number): Promise<ProducerStateManager> {
    if (this.producers) {
      if (nowMs - this.lastProducerExpiryMs >= PRODUCER_EXPIRY_CHECK_MS) {
        this.lastProducerExpiryMs = nowMs;
        this.producers.expire(nowMs, this.producerIdExpirationMs);
      }
      return this.producers;
    }
    const started = Date.now();
    const state = new ProducerStateManager();
    const oldest = nowMs - this.producerIdExpirationMs;
    let scanned = 0;
    for (const seg of this.segments) {
      if (seg !== this.activeSegment && seg.maxTimestamp >= 0 && seg.maxTimestamp < oldest) continue;
      scanned++;
      const scan = await seg.scanBatchHeaders((buf, off) => {
        for (const b of appendedProducerBatches(buf.subarray(off), true)) state.update(b);
        return true;
      });
      if (scan.reason !== 'end') throw new FerryError(ErrorCode.STORAGE_ERROR, `${seg.logPath}: bad batch at ${scan.position} while loading producer state`);
    }
    state.expire(nowMs, this.producerIdExpirationMs);
    this.producers = state;
    this.lastProducerExpiryMs = nowMs;
    this.logger.info({ topic: this.topic, partition: this.partition, segments: scanned, producers: state.producerCount, ms: Date.now() - started }, 'producer state loaded from the log');
    return state;
  }

  /** Keeps a loaded producer state current after an append (leader or follower). */
  private recordProducers(batches: Buffer): void {
    if (!this.producers) return;
    for (const b of appendedProducerBatches(batches, false)) this.producers.update(b);
  }

  private checkWritable(): void {
    assert(this.queue.inTask, 'log mutation outside the partition queue');
    if (this.closedWith) throw this.closedWith;
    if (this.offline) throw this.offline;
  }

  private goOffline(err: unknown): void {
    if (this.offline) return;
    this.offline = new FerryError(ErrorCode.STORAGE_ERROR, `log ${this.topic}-${this.partition} is offline after an I/O error: ${(err as Error).message}`);
    this.logger.error({ topic: this.topic, partition: this.partition, err }, 'partition log went offline');
  }

  private write(batches: Buffer, now: number, lastOffset: number): void {
    try {
      this.activeSegment.append(batches, now);
    } catch (err) {
      this.goOffline(err);
      throw err;
    }
    this.leo = lastOffset + 1;
    this.totalBytes += batches.length;
    if (this.config.flushMode !== 'always' && !this.replicated) this.advanceHighWatermark(this.leo);
    this.emit('append', this.leo);
  }

  private async maybeRoll(bytes: number, batchCount: number, lastOffset: number, now: number): Promise<void> {
    const active = this.activeSegment;
    if (active.isEmpty) return;
    const full = active.size + bytes > this.config.segmentBytes;
    const old = now - active.rollBaseMs >= this.config.segmentMs;
    if (!full && !old && !active.cannotHold(batchCount, lastOffset)) return;
    try {
      await this.roll();
    } catch (err) {
      this.goOffline(err);
      throw err;
    }
  }

  /** Seals (and fsyncs) the active segment and starts a new one at the LEO. */
  private async roll(): Promise<void> {
    const old = this.activeSegment;
    await old.seal();
    const next = await Segment.create(this.segmentOptions(this.leo));
    await fsyncDir(this.dir);
    this.segments = [...this.segments, next];
    this.commit.markFlushed(this.leo);
    this.recoveryPoint = this.leo;
    await this.checkpoints.recoveryPoint.writeOffset(this.recoveryPoint);
    this.logger.debug({ topic: this.topic, partition: this.partition, baseOffset: next.baseOffset }, 'rolled segment');
  }

  private async truncateSegments(offset: number): Promise<void> {
    // At or below the log start nothing readable would remain: start over empty at `offset`.
    const keep = offset <= this.lso ? [] : this.segments.filter((s) => s.baseOffset < offset);
    const drop = this.segments.filter((s) => !keep.includes(s));
    if (keep.length === 0) {
      for (const s of drop) await s.deleteFiles();
      this.segments = [await Segment.create(this.segmentOptions(offset))];
      this.lso = offset;
      await fsyncDir(this.dir);
      return;
    }
    const last = keep[keep.length - 1]!;
    if (!last.isActive) await last.activate();
    await last.truncateTo(offset);
    await last.flush();
    this.segments = keep;
    for (const s of drop) await s.deleteFiles();
    await fsyncDir(this.dir);
  }

  private segmentOptions(baseOffset: number): SegmentOptions {
    return {
      dir: this.dir,
      baseOffset,
      indexIntervalBytes: this.config.indexIntervalBytes,
      segmentIndexBytes: this.config.segmentIndexBytes,
      maxBatchBytes: Math.max(SCAN_BATCH_BYTES_MAX, this.config.maxMessageBytes),
      resources: this.resources,
      logger: this.logger,
    };
  }

  /** Group commit's fsync: captures the LEO first, so only bytes written before it count. */
  private async fsyncActive(): Promise<number> {
    const target = this.leo;
    await this.activeSegment.flush();
    return target;
  }

  private onFlushed(flushed: number): void {
    if (this.config.flushMode === 'always' && !this.replicated) this.advanceHighWatermark(flushed);
  }

  private advanceHighWatermark(offset: number): void {
    if (offset <= this.hw) return;
    this.hw = offset;
    this.emit('highWatermark', offset);
  }

  private async writeCheckpoints(): Promise<void> {
    await Promise.all([
      this.checkpoints.logStartOffset.writeOffset(this.lso),
      this.checkpoints.recoveryPoint.writeOffset(this.recoveryPoint),
      this.checkpoints.highWatermark.writeOffset(this.hw),
      this.epochs.persist(),
    ]);
  }

  private scheduleFlushTimer(): void {
    this.stopFlushTimer();
    if (!this.ownFlushTimer || this.config.flushMode !== 'interval' || this.closedWith) return;
    this.flushTimer = setInterval(() => this.maybeFlush(Date.now()), this.config.flushIntervalMs);
    this.flushTimer.unref();
  }

  private stopFlushTimer(): void {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
  }

  /** Readers may still hold a renamed segment's fd; its files go after file.delete.delay.ms. */
  private scheduleUnlink(seg: Segment): void {
    const timer = setTimeout(() => this.unlinkDeleted(seg), this.config.fileDeleteDelayMs);
    timer.unref();
    this.pendingDeletes.set(seg, timer);
  }

  private unlinkDeleted(seg: Segment): void {
    this.pendingDeletes.delete(seg);
    seg.unlinkDeleted().catch((err: unknown) => this.logger.warn({ segment: seg.logPath, err }, 'failed to unlink deleted segment'));
  }

  private async runPendingDeletes(): Promise<void> {
    const segs = [...this.pendingDeletes.keys()];
    for (const [seg, timer] of this.pendingDeletes) {
      clearTimeout(timer);
      this.pendingDeletes.delete(seg);
    }
    await Promise.all(segs.map((s) => s.unlinkDeleted()));
  }
}
