/**
 * Segment: one `.log` file of concatenated, already-stamped RecordBatch v2 batches plus its sparse
 * `.index` and `.timeindex` (see offset-index.ts, time-index.ts), named by the 20-digit base offset.
 *
 * Offsets: `baseOffset` is the first offset the segment may hold; `nextOffset` is one past the last
 * offset of its last batch (= baseOffset when empty). Positions are byte offsets in the `.log`.
 *
 * The active segment (the partition's last) holds a read-write fd and its indexes in memory and is
 * appended to with `fs.writeSync` (page cache). Sealing it (`seal`, on roll or close) writes and
 * fsyncs the index files and fsyncs the log; from then on its read fd and indexes live in the shared
 * bounded caches (StorageResources). Not re-entrant: mutations (append, seal, truncateTo, recover,
 * activate) must come from the owning PartitionLog's serial queue. Reads may run concurrently.
 *
 * Reads go through the libuv pool (a cold read never blocks the event loop), except small reads of
 * the active segment's last HOT_TAIL_BYTES: bytes this process just wrote with writeSync, so in the
 * page cache, read with one readSync. That is what a tailing consumer asks for on every fetch, and
 * it spares each such fetch two thread hand-offs (measured on a loaded 2-core machine: tail fetch
 * round trip p90 1.3–2.0 ms -> 1.0–1.5 ms, same CPU; docs/BENCHMARKS.md, "Closing the peer gaps").
 *
 * Failures: I/O errors surface as FerryError(STORAGE_ERROR). `recover()` never throws on bad data:
 * it truncates the file at the first torn, invalid or CRC-bad batch and reports what it cut.
 */
import fs, { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { strict as assert } from 'node:assert';
import type { Logger } from 'pino';
import { batchBaseOffset, batchCrcMatches, batchLastOffset, batchMaxTimestamp, batchSizeAt, BATCH_HEADER_BYTES, OFFSET_LAST_OFFSET_DELTA } from '../protocol/record-batch.js';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { OffsetIndex } from './offset-index.js';
import { TimeIndex } from './time-index.js';
import { scanBatches, type ScanResult, type ScanStopReason } from './batch-scanner.js';
import { SharedFd, fsyncFd, openFd, readFully } from './shared-fd.js';
import { newSegmentKey, type LoadedIndexes, type StorageResources } from './storage-resources.js';
import { DELETED_FILE_SUFFIX, INDEX_FILE_SUFFIX, LOG_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX, offsetFileName, renameIfExists, unlinkIfExists, writeFileSynced } from './segment-files.js';
import { RecentBatches } from './recent-batches.js';
import { loadIndexFiles, readIndexTails } from './segment-index-files.js';

/** Relative offsets are int32: a segment cannot span more offsets than this. */
export const SEGMENT_OFFSET_SPAN_MAX = 0x7fffffff;
/** Reads ending in the active segment's last this many bytes are hot (see the top of this file)... */
export const HOT_TAIL_BYTES = 1024 * 1024;
/** ...when they are at most this long. */
export const HOT_TAIL_READ_MAX_BYTES = 64 * 1024;

export interface SegmentOptions {
  dir: string;
  baseOffset: number;
  indexIntervalBytes: number;
  segmentIndexBytes: number;
  /** Upper bound on a plausible batch size, for scans (corrupt lengths must not allocate GiBs). */
  maxBatchBytes: number;
  resources: StorageResources;
  logger: Logger;
}

export interface BatchLocation {
  position: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
}

export interface SegmentRecovery {
  validBytes: number;
  truncatedBytes: number;
  /** Offsets removed (`to` is known only when the bad batch's header was readable), or null. */
  lostOffsets: { from: number; to: number | null } | null;
  reason: ScanStopReason | 'crc' | 'offset';
}

/** Running state of indexing a segment's batches in order (append, recovery, rebuilds, the cleaner's writer). */
export interface IndexingState {
  /** One past the last offset seen. */
  next: number;
  /** Largest batch maxTimestamp seen, -1 when none. */
  maxTs: number;
  /** Base offset of the first batch that reached maxTs. */
  offsetOfMaxTs: number;
  bytesSinceEntry: number;
}

export function freshState(baseOffset: number): IndexingState {
  return { next: baseOffset, maxTs: -1, offsetOfMaxTs: baseOffset, bytesSinceEntry: 0 };
}

function storageError(what: string, err: unknown): FerryError {
  return new FerryError(ErrorCode.STORAGE_ERROR, `${what}: ${(err as Error).message ?? String(err)}`);
}

/** Per-batch bookkeeping shared by append, recovery and rebuilds: one index entry per interval. */
export function applyBatch(st: IndexingState, ix: LoadedIndexes, intervalBytes: number, position: number, size: number, base: number, last: number, maxTimestamp: number): void {
  if (maxTimestamp > st.maxTs) {
    st.maxTs = maxTimestamp;
    st.offsetOfMaxTs = base;
  }
  if (st.bytesSinceEntry > intervalBytes) {
    ix.offsetIndex.append(base, position);
    ix.timeIndex.maybeAppend(st.maxTs, st.offsetOfMaxTs);
    st.bytesSinceEntry = 0;
  }
  st.bytesSinceEntry += size;
  st.next = last + 1;
}

export class Segment {
  readonly baseOffset: number;
  readonly key: string;
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  indexIntervalBytes: number;
  private readonly opts: SegmentOptions;
  private sizeBytes = 0;
  private st: IndexingState;
  private indexLoad: Promise<LoadedIndexes> | null = null;
  /** For segment.ms: when the segment received its first append (file birth time once reopened). */
  rollBaseMs = 0;
  lastModifiedMs = 0;
  private active: { fd: SharedFd; indexes: LoadedIndexes; recent: RecentBatches } | null = null;
  /**
   * '' while the files carry their own names, DELETED_FILE_SUFFIX once renamed for deletion. A read
   * that started before a deletion or a cleaner swap must keep reading these bytes, not whatever
   * file now has the original name (the cleaner installs a new segment under the same base offset).
   */
  private fileSuffix = '';
  /** Set when deletion starts: index loads no longer write or cache anything. */
  private deleting = false;

  private constructor(opts: SegmentOptions) {
    this.opts = opts;
    this.baseOffset = opts.baseOffset;
    this.key = newSegmentKey(opts.baseOffset);
    this.logPath = join(opts.dir, offsetFileName(opts.baseOffset, LOG_FILE_SUFFIX));
    this.indexPath = join(opts.dir, offsetFileName(opts.baseOffset, INDEX_FILE_SUFFIX));
    this.timeIndexPath = join(opts.dir, offsetFileName(opts.baseOffset, TIME_INDEX_FILE_SUFFIX));
    this.indexIntervalBytes = opts.indexIntervalBytes;
    this.st = freshState(opts.baseOffset);
  }

  get size(): number {
    return this.sizeBytes;
  }
  get nextOffset(): number {
    return this.st.next;
  }
  /** Largest batch maxTimestamp in the segment, -1 when unknown (empty or no timestamps). */
  get maxTimestamp(): number {
    return this.st.maxTs;
  }
  get isActive(): boolean {
    return this.active !== null;
  }
  get isEmpty(): boolean {
    return this.sizeBytes === 0;
  }

  /** A new, empty, active segment. Refuses to reuse a non-empty `.log` of the same name. */
  static async create(opts: SegmentOptions): Promise<Segment> {
    const seg = new Segment(opts);
    let fd: number;
    try {
      fd = await openFd(seg.logPath, 'wx+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw storageError(`create ${seg.logPath}`, err);
      fd = await openFd(seg.logPath, 'r+');
      if (fs.fstatSync(fd).size !== 0) {
        fs.closeSync(fd);
        throw new FerryError(ErrorCode.STORAGE_ERROR, `segment ${seg.logPath} already exists and is not empty`);
      }
    }
    await Promise.all([unlinkIfExists(seg.indexPath), unlinkIfExists(seg.timeIndexPath)]);
    seg.active = { fd: new SharedFd(fd), indexes: seg.emptyIndexes(), recent: new RecentBatches() };
    seg.lastModifiedMs = Date.now();
    return seg;
  }

  /**
   * An existing segment, inactive, its end offset and largest timestamp read from the index tails
   * (cheap: no full scan). `healthy` is false when the indexes are missing or inconsistent with the
   * log; the caller must then `recover()` it.
   */
  static async load(opts: SegmentOptions): Promise<{ segment: Segment; healthy: boolean }> {
    const seg = new Segment(opts);
    const st = await fsp.stat(seg.logPath);
    seg.sizeBytes = st.size;
    seg.lastModifiedMs = st.mtimeMs;
    seg.rollBaseMs = st.birthtimeMs > 0 ? st.birthtimeMs : st.mtimeMs;
    const tails = await readIndexTails(seg.indexPath, seg.timeIndexPath, seg.baseOffset, st.size);
    if (!tails) return { segment: seg, healthy: false };
    const fd = await seg.acquireReadFd();
    try {
      let last = -1;
      const scan = await scanBatches(fd.fd, tails.lastIndexedPosition, st.size, { maxBatchBytes: opts.maxBatchBytes }, (buf, off) => {
        last = batchLastOffset(buf, off);
        return true;
      });
      if (scan.reason !== 'end' || (st.size > 0 && last < 0)) return { segment: seg, healthy: false };
      seg.st.next = st.size === 0 ? seg.baseOffset : last + 1;
    } finally {
      fd.release();
    }
    if (tails.lastTime && tails.lastTime.offset >= seg.st.next) return { segment: seg, healthy: false };
    seg.st.maxTs = tails.lastTime ? tails.lastTime.timestamp : -1;
    return { segment: seg, healthy: true };
  }

  /** Makes a loaded (inactive) segment the one appended to: opens it read-write, indexes in memory. */
  async activate(): Promise<void> {
    assert(!this.active, 'segment already active');
    const indexes = await this.loadIndexes();
    this.opts.resources.evict(this.key);
    const fd = new SharedFd(await openFd(this.logPath, 'r+'));
    // Replaying from the last offset-index entry restores the append-side counters.
    this.active = { fd, indexes, recent: new RecentBatches() };
    await this.rebuildTail(this.sizeBytes);
  }

  /**
   * Rescans the whole file checking bounds, magic, CRC and offset order; truncates it at the first
   * bad batch, rebuilds both indexes, and reports what was cut.
   */
  async recover(): Promise<SegmentRecovery> {
    const ix = this.emptyIndexes();
    const st = freshState(this.baseOffset);
    let bad: SegmentRecovery['reason'] | null = null;
    let badLastOffset: number | null = null;
    const fd = await this.acquireReadFd();
    let result;
    try {
      result = await scanBatches(fd.fd, 0, this.sizeBytes, { wholeBatch: true, maxBatchBytes: this.opts.maxBatchBytes }, (buf, off, position, size) => {
        const base = batchBaseOffset(buf, off);
        const delta = buf.readInt32BE(off + OFFSET_LAST_OFFSET_DELTA);
        if (base < st.next || delta < 0 || base + delta - this.baseOffset > SEGMENT_OFFSET_SPAN_MAX) {
          bad = 'offset';
          return false;
        }
        if (!batchCrcMatches(buf, off, size)) {
          bad = 'crc';
          badLastOffset = base + delta;
          return false;
        }
        applyBatch(st, ix, this.indexIntervalBytes, position, size, base, base + delta, batchMaxTimestamp(buf, off));
        return true;
      });
      if (result.reason === 'torn' || result.reason === 'invalid') badLastOffset = await this.peekLastOffset(fd.fd, result.position);
    } finally {
      fd.release();
    }
    const truncatedBytes = this.sizeBytes - result.position;
    if (truncatedBytes > 0) await this.truncateFile(result.position);
    this.st = st;
    this.installIndexes(ix);
    if (!this.active) await this.writeIndexFiles(ix);
    return {
      validBytes: result.position,
      truncatedBytes,
      lostOffsets: truncatedBytes > 0 ? { from: st.next, to: badLastOffset !== null && badLastOffset >= st.next ? badLastOffset : null } : null,
      reason: bad ?? result.reason,
    };
  }

  /**
   * Appends whole, already-stamped batches (validated by the caller) at the end with one write to
   * the page cache, then indexes them from their headers. Throws FerryError(STORAGE_ERROR) after
   * cutting off any partial write.
   */
  append(buf: Buffer, nowMs: number): void {
    const active = this.active;
    assert(active, `append to inactive segment ${this.baseOffset}`);
    const start = this.sizeBytes;
    try {
      let written = 0;
      while (written < buf.length) written += fs.writeSync(active.fd.fd, buf, written, buf.length - written, start + written);
    } catch (err) {
      try {
        fs.ftruncateSync(active.fd.fd, start);
      } catch {
        // The caller marks the log failed; recovery at the next start cuts the torn bytes anyway.
      }
      throw storageError(`write to ${this.logPath}`, err);
    }
    if (start === 0) this.rollBaseMs = nowMs;
    for (let pos = 0; pos < buf.length; ) {
      const size = batchSizeAt(buf, pos);
      const base = batchBaseOffset(buf, pos);
      const last = batchLastOffset(buf, pos);
      assert(base >= this.st.next, `batch base offset ${base} below segment end ${this.st.next}`);
      applyBatch(this.st, active.indexes, this.indexIntervalBytes, start + pos, size, base, last, batchMaxTimestamp(buf, pos));
      active.recent.push(base, last, start + pos, size);
      pos += size;
    }
    this.sizeBytes = start + buf.length;
    this.lastModifiedMs = nowMs;
  }

  /** True when an append of `batchCount` batches ending at `lastOffset` must go to a new segment. */
  cannotHold(batchCount: number, lastOffset: number): boolean {
    const active = this.active;
    assert(active, 'cannotHold on inactive segment');
    if (this.sizeBytes === 0) return false; // an empty segment takes anything; indexes just get sparser
    return (
      active.indexes.offsetIndex.freeEntries < batchCount ||
      active.indexes.timeIndex.freeEntries < batchCount ||
      lastOffset - this.baseOffset > SEGMENT_OFFSET_SPAN_MAX
    );
  }

  /** fsync of the log file (active: its own fd; otherwise a cached one). */
  async flush(): Promise<void> {
    const fd = await this.acquireReadFd();
    try {
      await fsyncFd(fd.fd);
    } catch (err) {
      throw storageError(`fsync ${this.logPath}`, err);
    } finally {
      fd.release();
    }
  }

  /**
   * Stops being the active segment: adds the final time-index entry, writes and fsyncs both index
   * files and fsyncs the log. Its fd and indexes move to the shared caches.
   */
  async seal(): Promise<void> {
    const active = this.active;
    assert(active, 'seal of inactive segment');
    active.indexes.timeIndex.maybeAppend(this.st.maxTs, this.st.offsetOfMaxTs, true);
    await this.writeIndexFiles(active.indexes);
    await this.flush();
    this.active = null;
    this.opts.resources.adoptReadFd(this.key, active.fd);
    this.opts.resources.setIndexes(this.key, active.indexes);
  }

  /**
   * Reads `length` bytes at `position` into `into` at `intoOffset`: async on the libuv pool, or at
   * once for a small read of the active segment's hot tail (see the top of this file).
   */
  async readInto(into: Buffer, intoOffset: number, position: number, length: number): Promise<number> {
    const active = this.active;
    if (active && length <= HOT_TAIL_READ_MAX_BYTES && position + length > this.sizeBytes - HOT_TAIL_BYTES) {
      try {
        let done = 0;
        while (done < length) {
          const n = fs.readSync(active.fd.fd, into, intoOffset + done, length - done, position + done);
          if (n === 0) break;
          done += n;
        }
        return done;
      } catch (err) {
        throw storageError(`read ${this.logPath}`, err);
      }
    }
    const fd = await this.acquireReadFd();
    try {
      return await readFully(fd.fd, into, intoOffset, length, position);
    } catch (err) {
      throw storageError(`read ${this.logPath}`, err);
    } finally {
      fd.release();
    }
  }

  /**
   * The first batch with lastOffset ≥ `offset` (the one containing it, or the next after a gap), by
   * index lookup then a header scan; null when the segment ends before `offset`. `endPosition`
   * bounds the scan (a snapshot of the size).
   */
  async locate(offset: number, endPosition = this.sizeBytes): Promise<BatchLocation | null> {
    if (offset >= this.st.next) return null;
    const recent = this.active?.recent.find(offset);
    if (recent && recent.position + recent.size <= endPosition) return recent;
    const { offsetIndex } = await this.loadIndexes();
    const start = offsetIndex.lookup(offset).position;
    let found: BatchLocation | null = null;
    await this.scanHeaders(start, endPosition, (buf, off, position, size) => {
      const last = batchLastOffset(buf, off);
      if (last < offset) return true;
      found = { position, size, baseOffset: batchBaseOffset(buf, off), lastOffset: last };
      return false;
    });
    return found;
  }

  /**
   * Visits every whole batch of the file in order (the log cleaner; inactive segments). The buffer
   * is reused between batches: the visitor copies what it keeps. Anything but reason 'end' means the
   * file has a bad batch at `position`.
   */
  scanWholeBatches(visit: (buf: Buffer, off: number, position: number, size: number) => boolean): Promise<ScanResult> {
    return this.withReadFd((fd) => scanBatches(fd, 0, this.sizeBytes, { wholeBatch: true, maxBatchBytes: this.opts.maxBatchBytes }, visit));
  }

  /**
   * Visits the header of every batch of the file in order (producer state rebuild). Only the first
   * BATCH_HEADER_BYTES at `off` are guaranteed to be in `buf`, which is reused between batches.
   */
  scanBatchHeaders(visit: (buf: Buffer, off: number, position: number, size: number) => boolean): Promise<ScanResult> {
    return this.scanHeaders(0, this.sizeBytes, visit);
  }

  /** The first batch whose maxTimestamp ≥ `timestampMs`, via the time index; null if none. */
  async findByTimestamp(timestampMs: number): Promise<{ baseOffset: number; maxTimestamp: number } | null> {
    if (this.st.maxTs < timestampMs) return null;
    const { offsetIndex, timeIndex } = await this.loadIndexes();
    const before = timeIndex.lookupBefore(timestampMs);
    const start = before ? offsetIndex.lookup(before.offset).position : 0;
    let found: { baseOffset: number; maxTimestamp: number } | null = null;
    await this.scanHeaders(start, this.sizeBytes, (buf, off) => {
      const ts = batchMaxTimestamp(buf, off);
      if (ts < timestampMs) return true;
      found = { baseOffset: batchBaseOffset(buf, off), maxTimestamp: ts };
      return false;
    });
    return found;
  }

  /**
   * Removes every batch from the one containing `offset` on (a batch is never split), truncating
   * file and indexes. Active segments only. Returns the bytes removed.
   */
  async truncateTo(offset: number): Promise<number> {
    assert(this.active, 'truncateTo on inactive segment');
    const loc = await this.locate(offset);
    if (!loc) return 0;
    const removed = this.sizeBytes - loc.position;
    await this.truncateFile(loc.position);
    this.active.recent.clear();
    await this.rebuildTail(loc.position);
    return removed;
  }

  /** Closes the fd (once in-flight reads finish) and forgets cached state. Idempotent. */
  close(): void {
    if (this.active) {
      this.active.fd.close();
      this.active = null;
    }
    this.opts.resources.evict(this.key);
  }

  /** Step 1 of deletion: rename the files to `*.deleted` (a read holding the fd still works). */
  async renameToDeleted(): Promise<void> {
    this.close();
    // An index load in flight may be about to write index files under the live names; let it
    // finish first, and stop later loads from writing (the cleaner reuses those names).
    this.deleting = true;
    while (this.indexLoad) await this.indexLoad.catch(() => undefined);
    for (const p of [this.logPath, this.indexPath, this.timeIndexPath]) await renameIfExists(p, p + DELETED_FILE_SUFFIX);
    this.fileSuffix = DELETED_FILE_SUFFIX;
  }

  /** True once the files were renamed for deletion (late readers still read them). */
  get isDeleted(): boolean {
    return this.fileSuffix !== '';
  }

  /** Step 2 of deletion, `file.delete.delay.ms` later. */
  async unlinkDeleted(): Promise<void> {
    for (const p of [this.logPath, this.indexPath, this.timeIndexPath]) await unlinkIfExists(p + DELETED_FILE_SUFFIX);
  }

  /** Removes the files outright (truncation below this segment's base). */
  async deleteFiles(): Promise<void> {
    this.close();
    for (const p of [this.logPath, this.indexPath, this.timeIndexPath]) await unlinkIfExists(p);
  }

  // ---- internals ----

  private emptyIndexes(): LoadedIndexes {
    return {
      offsetIndex: new OffsetIndex(this.baseOffset, this.opts.segmentIndexBytes),
      timeIndex: new TimeIndex(this.baseOffset, this.opts.segmentIndexBytes),
    };
  }

  /**
   * Cuts the active indexes back to `end` and replays the headers after the last surviving
   * offset-index entry, restoring maxTimestamp, nextOffset and the bytes-since-entry counter.
   */
  private async rebuildTail(end: number): Promise<void> {
    const active = this.active;
    assert(active);
    const { offsetIndex, timeIndex } = active.indexes;
    offsetIndex.truncateToPosition(end);
    const anchor = offsetIndex.lastEntry();
    const st = freshState(this.baseOffset);
    if (anchor) {
      // Time entries up to the anchor's offset describe batches before the cut (see time-index.ts).
      timeIndex.truncateToOffset(anchor.offset + 1);
      const lastTime = timeIndex.lastEntry();
      if (lastTime) {
        st.maxTs = lastTime.timestamp;
        st.offsetOfMaxTs = lastTime.offset;
      }
      st.next = anchor.offset;
    } else {
      timeIndex.truncateToOffset(this.baseOffset);
    }
    const scan = await this.scanHeaders(anchor ? anchor.position : 0, end, (buf, off, position, size) => {
      const base = batchBaseOffset(buf, off);
      const last = batchLastOffset(buf, off);
      applyBatch(st, active.indexes, this.indexIntervalBytes, position, size, base, last, batchMaxTimestamp(buf, off));
      active.recent.push(base, last, position, size);
      return true;
    });
    assert(scan.reason === 'end', `segment ${this.logPath} has an unreadable batch at ${scan.position} after recovery`);
    this.st = st;
  }

  private installIndexes(ix: LoadedIndexes): void {
    if (this.active) {
      this.active.indexes = ix;
      this.active.recent.clear();
    } else {
      this.opts.resources.setIndexes(this.key, ix);
    }
  }

  /** The segment's indexes: in memory when active, else from the cache, files, or a rebuild. */
  private async loadIndexes(): Promise<LoadedIndexes> {
    if (this.active) return this.active.indexes;
    const cached = this.opts.resources.getIndexes(this.key);
    if (cached) return cached;
    // Concurrent readers share one load.
    if (!this.indexLoad) {
      this.indexLoad = this.loadIndexesUncached().finally(() => {
        this.indexLoad = null;
      });
    }
    return this.indexLoad;
  }

  private async loadIndexesUncached(): Promise<LoadedIndexes> {
    for (;;) {
      const suffix = this.fileSuffix;
      const loaded = await loadIndexFiles(this.indexPath + suffix, this.timeIndexPath + suffix, this.baseOffset, this.opts.segmentIndexBytes, this.sizeBytes, this.st.next);
      // Renamed for deletion meanwhile: what we read under the live names may be a newer segment's.
      if (suffix !== this.fileSuffix) continue;
      if (!loaded) break;
      // A deleted segment's key is gone from the caches: do not re-add it.
      if (!this.deleting) this.opts.resources.setIndexes(this.key, loaded);
      return loaded;
    }
    this.opts.logger.warn({ segment: this.logPath }, 'index files missing or corrupt; rebuilding them from the log');
    const ix = this.emptyIndexes();
    const st = freshState(this.baseOffset);
    await this.scanHeaders(0, this.sizeBytes, (buf, off, position, size) => {
      applyBatch(st, ix, this.indexIntervalBytes, position, size, batchBaseOffset(buf, off), batchLastOffset(buf, off), batchMaxTimestamp(buf, off));
      return true;
    });
    ix.timeIndex.maybeAppend(st.maxTs, st.offsetOfMaxTs, true);
    if (this.deleting) return ix; // never write index files under a name a newer segment may own
    await this.writeIndexFiles(ix);
    this.opts.resources.setIndexes(this.key, ix);
    return ix;
  }

  private async writeIndexFiles(ix: LoadedIndexes): Promise<void> {
    try {
      await writeFileSynced(this.indexPath, ix.offsetIndex.toBuffer());
      await writeFileSynced(this.timeIndexPath, ix.timeIndex.toBuffer());
    } catch (err) {
      throw storageError(`write index of ${this.logPath}`, err);
    }
  }

  private scanHeaders(start: number, end: number, visit: (buf: Buffer, off: number, position: number, size: number) => boolean) {
    return this.withReadFd((fd) => scanBatches(fd, start, end, { maxBatchBytes: this.opts.maxBatchBytes }, visit));
  }

  private async withReadFd<T>(fn: (fd: number) => Promise<T>): Promise<T> {
    const fd = await this.acquireReadFd();
    try {
      return await fn(fd.fd);
    } finally {
      fd.release();
    }
  }

  /** A retained fd for reading: the active one, or one from the bounded cache. Release it. */
  private async acquireReadFd(): Promise<SharedFd> {
    if (this.active) {
      this.active.fd.retain();
      return this.active.fd;
    }
    if (this.isDeleted) return this.openDeletedFd();
    let fd: SharedFd;
    try {
      fd = await this.opts.resources.acquireReadFd(this.key, this.logPath);
    } catch (err) {
      // Renamed for deletion while the open was in flight (the flag may not be set yet).
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.openDeletedFd();
      throw storageError(`open ${this.logPath}`, err);
    }
    if (this.isDeleted) {
      // Deleted while opening: the name may already belong to the cleaner's replacement segment.
      fd.release();
      this.opts.resources.evict(this.key);
      return this.openDeletedFd();
    }
    return fd;
  }

  /** A private fd on the renamed file (closed by the caller's release), never a cache entry. */
  private async openDeletedFd(): Promise<SharedFd> {
    const path = this.logPath + DELETED_FILE_SUFFIX;
    try {
      return new SharedFd(await openFd(path, 'r'));
    } catch (err) {
      throw storageError(`open ${path}`, err);
    }
  }

  private async truncateFile(length: number): Promise<void> {
    try {
      if (this.active) fs.ftruncateSync(this.active.fd.fd, length);
      else await fsp.truncate(this.logPath, length);
    } catch (err) {
      throw storageError(`truncate ${this.logPath}`, err);
    }
    this.sizeBytes = length;
    this.opts.resources.evict(this.key); // cached indexes may point past the cut
  }

  /** Best effort: the last offset claimed by a damaged batch's header, for the loss report. */
  private async peekLastOffset(fd: number, position: number): Promise<number | null> {
    const head = Buffer.alloc(BATCH_HEADER_BYTES);
    const n = await readFully(fd, head, 0, BATCH_HEADER_BYTES, position);
    if (n < OFFSET_LAST_OFFSET_DELTA + 4) return null;
    const last = batchLastOffset(head, 0);
    return Number.isSafeInteger(last) && last >= this.baseOffset ? last : null;
  }
}
