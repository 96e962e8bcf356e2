// FileRaftLog: the Raft core's log (`RaftLog`) backed by files in one directory:
//
//   <20-digit first index>.raftlog   segments of CRC-32C-checked entries (log-segments.ts, entry-format.ts)
//   snapshot-<index>-<term>.bin      atomic snapshot files, the newest `snapshotsRetained` kept (snapshot-files.ts)
//
// Two views of one log, on purpose:
//   - the RaftLog methods (termAt, slice, append, truncateFrom, compactThrough, reset) act on an
//     in-memory copy of the entries after the snapshot — the view the core reads and mutates
//     synchronously. The metadata log is bounded by snapshots, so it fits in memory.
//   - the disk changes only through the `write` / `sync` / `saveSnapshot` / `compact` /
//     `installSnapshot` methods, which the host calls for the core's effects, in effect order. The
//     core mutates its view *before* the matching effect's durability barrier (e.g. it resets the
//     view when a snapshot arrives, before the host has stored that snapshot), so mirroring the
//     view's mutations to disk directly would delete acknowledged entries before their replacement
//     is durable. Effects carry exactly the order the durability contract needs.
//
// Durability: `write` reaches the page cache; `sync` (group commit) makes every earlier write durable
// and returns the (index, term) to report with `RaftNode.logDurable`. Snapshots are durable when
// `saveSnapshot` / `installSnapshot` resolve. The disk keeps the log back to the oldest retained
// snapshot (not just the newest), so a damaged newest snapshot falls back to an older one plus the
// log since.
//
// Recovery (`open`): the newest intact snapshot (S, T); the segments' longest valid prefix (torn or
// CRC-bad tails cut); then
//   log ends at or before S                → nothing after the snapshot; the log resumes at S+1
//   log holds S with a term other than T   → divergent log from an interrupted snapshot install: dropped
//   log holds (S, T), or starts at S+1     → keep the entries after S
//   log starts after S+1                   → entries are missing: throw (unrecoverable, needs an operator)

import { strict as assert } from 'node:assert';
import type { Logger } from 'pino';
import type { LogEntry, LogIndex, RaftLog, Snapshot, Term } from '../raft/index.js';
import { MemoryRaftLog } from '../raft/index.js';
import { LogSegments } from './log-segments.js';
import { deleteSnapshotsExcept, loadLatestSnapshot, pruneSnapshots, writeSnapshotFile } from './snapshot-files.js';

export interface FileRaftLogOptions {
  readonly dir: string;
  /** Roll to a new segment file once the active one holds this many bytes. */
  readonly segmentBytes: number;
  /** Snapshot files kept (>= 1); the log on disk reaches back to the oldest of them. */
  readonly snapshotsRetained: number;
  readonly logger: Logger;
}

export interface RecoveredRaftLog {
  readonly log: FileRaftLog;
  readonly snapshot: Snapshot | null;
}

export class FileRaftLog implements RaftLog {
  private constructor(
    private readonly options: FileRaftLogOptions,
    private readonly segments: LogSegments,
    private readonly view: MemoryRaftLog,
  ) {}

  static async open(options: FileRaftLogOptions): Promise<RecoveredRaftLog> {
    assert.ok(options.snapshotsRetained >= 1, 'keep at least one snapshot');
    const { dir, logger } = options;
    const { segments, recovery } = await LogSegments.open(dir, options.segmentBytes, logger);
    const snapshot = await loadLatestSnapshot(dir, logger);
    const s = snapshot?.index ?? 0;
    const t = snapshot?.term ?? 0;
    const first = segments.firstIndex();
    const last = segments.lastIndex();
    if (last > s && first > s + 1) {
      await segments.close();
      throw new Error(`raft log in ${dir} starts at ${first} but the newest intact snapshot ends at ${s}: entries ${s + 1}..${first - 1} are missing`);
    }
    let view: MemoryRaftLog;
    if (last <= s) {
      await segments.deleteAll(s + 1);
      view = new MemoryRaftLog(s, t);
    } else if (first <= s && segments.termAt(s) !== t) {
      logger.warn({ dir, snapshotIndex: s, snapshotTerm: t, logTerm: segments.termAt(s) }, 'raft log diverges from the snapshot (interrupted install): dropping it');
      await segments.deleteAll(s + 1);
      view = new MemoryRaftLog(s, t);
    } else {
      view = new MemoryRaftLog(s, t, recovery.entries.filter((e) => e.index > s));
    }
    logger.info({ dir, snapshotIndex: s, lastIndex: view.lastIndex(), cutFrom: recovery.cutFrom }, 'raft log recovered');
    return { log: new FileRaftLog(options, segments, view), snapshot };
  }

  // ---- RaftLog: the in-memory view the core reads and mutates ----------------------------------
  get snapshotIndex(): LogIndex {
    return this.view.snapshotIndex;
  }
  get snapshotTerm(): Term {
    return this.view.snapshotTerm;
  }
  lastIndex(): LogIndex {
    return this.view.lastIndex();
  }
  lastTerm(): Term {
    return this.view.lastTerm();
  }
  termAt(index: LogIndex): Term | undefined {
    return this.view.termAt(index);
  }
  entryAt(index: LogIndex): LogEntry | undefined {
    return this.view.entryAt(index);
  }
  slice(from: LogIndex, toExclusive: LogIndex, max: number): LogEntry[] {
    return this.view.slice(from, toExclusive, max);
  }
  append(entries: readonly LogEntry[]): void {
    this.view.append(entries);
  }
  truncateFrom(index: LogIndex): void {
    this.view.truncateFrom(index);
  }
  compactThrough(index: LogIndex, term: Term): void {
    this.view.compactThrough(index, term);
  }
  reset(index: LogIndex, term: Term): void {
    this.view.reset(index, term);
  }

  // ---- durable side: one method per effect ------------------------------------------------------
  /** appendLog effect: page-cache write (after truncating from `truncateFromIndex`). */
  async write(truncateFromIndex: LogIndex | null, entries: readonly LogEntry[]): Promise<void> {
    await this.segments.write(truncateFromIndex, entries);
  }

  /** Group commit: everything written so far becomes durable; the last such entry, or null. */
  async sync(): Promise<{ index: LogIndex; term: Term } | null> {
    return this.segments.sync();
  }

  /** takeSnapshot effect: store the state machine's snapshot durably (before snapshotTaken). */
  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    await writeSnapshotFile(this.options.dir, snapshot);
  }

  /** compactLog effect: drop old snapshot files and the log segments no retained snapshot needs. */
  async compact(throughIndex: LogIndex): Promise<void> {
    const oldest = await pruneSnapshots(this.options.dir, this.options.snapshotsRetained);
    await this.segments.deleteThrough(Math.min(throughIndex, oldest?.index ?? 0));
  }

  /** installSnapshot effect: store the leader's snapshot durably, then drop the log it replaces. */
  async installSnapshot(snapshot: Snapshot, discardLog: boolean): Promise<void> {
    await writeSnapshotFile(this.options.dir, snapshot);
    if (discardLog) {
      // Older snapshots cannot be replayed across the discarded log: keep only this one.
      await deleteSnapshotsExcept(this.options.dir, snapshot.index, snapshot.term);
      await this.segments.deleteAll(snapshot.index + 1);
    } else {
      await this.compact(snapshot.index);
    }
  }

  /** Durable-side counters for tests and metrics. */
  get syncCount(): number {
    return this.segments.syncs;
  }

  /** Last index in the segment files (may trail the view until the pending effects are written). */
  get diskLastIndex(): LogIndex {
    return this.segments.lastIndex();
  }

  async close(): Promise<void> {
    await this.segments.close();
  }
}
