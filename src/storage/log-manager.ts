/**
 * LogManager: every partition log of one broker, under `<dataDir>/<topic>-<partition>/`.
 *
 * Directory names split at the LAST '-' (topic names may contain '-' and '.'); names that do not
 * end in `-<digits>` are not partitions and are ignored (e.g. `__cluster`). Directories of deleted
 * partitions (`<name>.<uuid>-delete`) are removed in the background, at deletion and at start-up.
 *
 * Timers (started by `start()`, unref'd): retention every `retentionCheckIntervalMs`, and a flush
 * scheduler every `flushSchedulerIntervalMs` that fsyncs flush.mode=interval logs that are due (one
 * timer for the broker rather than one per partition). `shutdown()` closes every log: flush, seal,
 * checkpoints (recovery point = LEO, so the next start skips rescans).
 *
 * The log cleaner (log-cleaner.ts) runs every `cleanerBackoffMs` (log.cleaner.backoff.ms) over the
 * logs whose cleanup.policy includes compact, one partition at a time, each cleaned only when its
 * dirty ratio reaches min.cleanable.dirty.ratio. `cleanNow` cleans one partition regardless of the
 * ratio (tests, internal topics).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { isCompacted, type LogConfig } from './log-config.js';
import { LogCleaner, type CleanResult } from './log-cleaner.js';
import { PartitionLog } from './partition-log.js';
import { DELETED_DIR_SUFFIX, parsePartitionDirName, partitionDirName } from './segment-files.js';
import { StorageResources, type StorageResourceLimits } from './storage-resources.js';

export const DEFAULT_FLUSH_SCHEDULER_INTERVAL_MS = 100;
/** Partitions opened at once by loadAll (bounds open fds and memory during recovery). */
export const LOAD_CONCURRENCY_MAX = 8;
/** log.cleaner.backoff.ms default: pause between cleaner passes over the compacted logs. */
export const DEFAULT_CLEANER_BACKOFF_MS = 15_000;

export interface LogManagerOptions extends StorageResourceLimits {
  dataDir: string;
  logger: Logger;
  retentionCheckIntervalMs: number;
  flushSchedulerIntervalMs?: number;
  /** log.cleaner.backoff.ms: period of the cleaner pass (default DEFAULT_CLEANER_BACKOFF_MS). */
  cleanerBackoffMs?: number;
  /** log.cleaner.dedupe.buffer.size: bound on the cleaner's key map, bytes (default 128 MiB). */
  cleanerDedupeBufferBytes?: number;
  /** producer.id.expiration.ms (default: PartitionLog's, 1 day). */
  producerIdExpirationMs?: number;
}

export class LogManager {
  private readonly opts: LogManagerOptions;
  private readonly logger: Logger;
  private readonly resources: StorageResources;
  private readonly logs = new Map<string, Map<number, PartitionLog>>();
  private retentionTimer: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private retentionRunning = false;
  private readonly cleaner: LogCleaner;
  private cleanerTimer: NodeJS.Timeout | null = null;
  private cleanerRunning = false;

  constructor(opts: LogManagerOptions) {
    this.opts = opts;
    this.logger = opts.logger;
    this.resources = new StorageResources(opts);
    this.cleaner = new LogCleaner({ logger: opts.logger, ...(opts.cleanerDedupeBufferBytes !== undefined ? { dedupeBufferBytes: opts.cleanerDedupeBufferBytes } : {}) });
  }

  get dataDir(): string {
    return this.opts.dataDir;
  }

  /** Opens every partition directory found under dataDir (running recovery on each). */
  async loadAll(configFor: (topic: string) => LogConfig): Promise<PartitionLog[]> {
    await fsp.mkdir(this.opts.dataDir, { recursive: true });
    const entries = await fsp.readdir(this.opts.dataDir, { withFileTypes: true });
    const todo: Array<{ topic: string; partition: number }> = [];
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      if (e.name.endsWith(DELETED_DIR_SUFFIX)) {
        this.removeInBackground(join(this.opts.dataDir, e.name));
        continue;
      }
      const parsed = parsePartitionDirName(e.name);
      if (parsed && !this.get(parsed.topic, parsed.partition)) todo.push(parsed);
    }
    const opened: PartitionLog[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        const { topic, partition } = todo[next++]!;
        opened.push(await this.openLog(topic, partition, configFor(topic)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(LOAD_CONCURRENCY_MAX, todo.length) }, worker));
    this.logger.info({ partitions: opened.length, dataDir: this.opts.dataDir }, 'loaded partition logs');
    return opened;
  }

  get(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(topic)?.get(partition);
  }

  /** Every open log. */
  all(): PartitionLog[] {
    const out: PartitionLog[] = [];
    for (const parts of this.logs.values()) out.push(...parts.values());
    return out;
  }

  /** Opens the partition's log, creating its directory; returns the open one if it exists. */
  async create(topic: string, partition: number, config: LogConfig): Promise<PartitionLog> {
    return this.get(topic, partition) ?? this.openLog(topic, partition, config);
  }

  /** Closes and removes every partition of `topic` (directories renamed, then removed in the background). */
  async deleteTopic(topic: string): Promise<void> {
    const parts = this.logs.get(topic);
    this.logs.delete(topic);
    if (!parts) return;
    await Promise.all([...parts.values()].map((log) => log.delete()));
    this.logger.info({ topic, partitions: parts.size }, 'deleted topic logs');
  }

  start(): void {
    if (!this.retentionTimer) {
      this.retentionTimer = setInterval(() => void this.runRetention(), this.opts.retentionCheckIntervalMs);
      this.retentionTimer.unref();
    }
    if (!this.flushTimer) {
      this.flushTimer = setInterval(() => {
        const now = Date.now();
        for (const log of this.all()) log.maybeFlush(now);
      }, this.opts.flushSchedulerIntervalMs ?? DEFAULT_FLUSH_SCHEDULER_INTERVAL_MS);
      this.flushTimer.unref();
    }
    if (!this.cleanerTimer) {
      this.cleanerTimer = setInterval(() => void this.runCleaner(), this.opts.cleanerBackoffMs ?? DEFAULT_CLEANER_BACKOFF_MS);
      this.cleanerTimer.unref();
    }
  }

  /** One cleaner pass over every compacted log (each cleaned if dirty enough); returns the results of cleans that ran. */
  async runCleaner(nowMs?: number): Promise<CleanResult[]> {
    if (this.cleanerRunning) return []; // a slow pass must not pile up behind itself
    this.cleanerRunning = true;
    const done: CleanResult[] = [];
    try {
      for (const log of this.all()) {
        if (!isCompacted(log.currentConfig)) continue;
        try {
          const r = await this.cleaner.clean(log, nowMs === undefined ? {} : { nowMs });
          if (r.cleaned) done.push(r);
        } catch (err) {
          this.logger.error({ topic: log.topic, partition: log.partition, err }, 'log cleaner failed');
        }
      }
    } finally {
      this.cleanerRunning = false;
    }
    return done;
  }

  /**
   * Cleans one partition now, whatever its dirty ratio (still never the active segment, nor data
   * within min.compaction.lag.ms). FerryError(UNKNOWN_TOPIC_OR_PARTITION) when it is not open here.
   */
  cleanNow(topic: string, partition: number, opts: { nowMs?: number } = {}): Promise<CleanResult> {
    const log = this.get(topic, partition);
    if (!log) return Promise.reject(new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no log for ${topic}-${partition}`));
    return this.cleaner.clean(log, { ...opts, force: true });
  }

  /** One retention pass over every log; returns the segments deleted. */
  async runRetention(nowMs: number = Date.now()): Promise<number> {
    if (this.retentionRunning) return 0; // a slow pass must not pile up behind itself
    this.retentionRunning = true;
    let deleted = 0;
    try {
      for (const log of this.all()) {
        try {
          deleted += await log.deleteOldSegments(nowMs);
        } catch (err) {
          this.logger.error({ topic: log.topic, partition: log.partition, err }, 'retention failed');
        }
      }
    } finally {
      this.retentionRunning = false;
    }
    return deleted;
  }

  async shutdown(): Promise<void> {
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.cleanerTimer) clearInterval(this.cleanerTimer);
    this.retentionTimer = null;
    this.flushTimer = null;
    this.cleanerTimer = null;
    await this.cleaner.shutdown();
    const logs = this.all();
    this.logs.clear();
    const results = await Promise.allSettled(logs.map((log) => log.close()));
    for (const [i, r] of results.entries()) {
      if (r.status === 'rejected') this.logger.error({ topic: logs[i]!.topic, partition: logs[i]!.partition, err: r.reason }, 'failed to close log');
    }
  }

  private async openLog(topic: string, partition: number, config: LogConfig): Promise<PartitionLog> {
    const log = await PartitionLog.open({
      dir: join(this.opts.dataDir, partitionDirName(topic, partition)),
      topic,
      partition,
      config,
      logger: this.logger,
      resources: this.resources,
      ownFlushTimer: false,
      ...(this.opts.producerIdExpirationMs !== undefined ? { producerIdExpirationMs: this.opts.producerIdExpirationMs } : {}),
    });
    let parts = this.logs.get(topic);
    if (!parts) this.logs.set(topic, (parts = new Map()));
    parts.set(partition, log);
    return log;
  }

  private removeInBackground(dir: string): void {
    fsp.rm(dir, { recursive: true, force: true }).catch((err: unknown) => this.logger.error({ dir, err }, 'failed to remove deleted partition directory'));
  }
}
