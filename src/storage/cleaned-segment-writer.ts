/**
 * Writes one segment produced by the log cleaner: `<base>.log.cleaned` plus `<base>.index.cleaned`
 * and `<base>.timeindex.cleaned`, indexed exactly as Segment indexes appended batches (one entry
 * per index.interval.bytes; a full index just stays sparser, lookups remain correct). `finish()`
 * fsyncs all three and gives the log file the newest mtime of its sources, so time-based rules
 * (retention, compaction lag, tombstone expiry) see the data's age, not the cleaning time.
 *
 * Batches must come in increasing offset order, already whole and CRC-valid. Writes go to the page
 * cache with writeSync in chunks of at most CLEANER_WRITE_CHUNK_BYTES (the cleaner runs in the
 * background; a chunk of page-cache copy is a short, bounded stall), the fsync is asynchronous.
 *
 * Failures: I/O errors surface as FerryError(STORAGE_ERROR); `abort()` removes the files.
 */
import fs, { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { strict as assert } from 'node:assert';
import { batchBaseOffset, batchLastOffset, batchMaxTimestamp, batchSizeAt } from '../protocol/record-batch.js';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { OffsetIndex } from './offset-index.js';
import { TimeIndex } from './time-index.js';
import { applyBatch, freshState, SEGMENT_OFFSET_SPAN_MAX, type IndexingState } from './segment.js';
import { INDEX_FILE_SUFFIX, LOG_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX, offsetFileName, unlinkIfExists, writeFileSynced } from './segment-files.js';
import { fsyncFd, openFd } from './shared-fd.js';
import type { LoadedIndexes } from './storage-resources.js';

/** Suffix of files the cleaner is still writing; removed at start-up (the swap never began). */
export const CLEANED_FILE_SUFFIX = '.cleaned';
/** Output is handed to the kernel in pieces of at most this many bytes. */
export const CLEANER_WRITE_CHUNK_BYTES = 1024 * 1024;

export interface CleanedSegmentOptions {
  dir: string;
  baseOffset: number;
  indexIntervalBytes: number;
  segmentIndexBytes: number;
}

/** The three final names of a segment plus a suffix (`.cleaned`, `.swap`, `.deleted`, or ''). */
export function segmentFileNames(baseOffset: number, suffix: string): { log: string; index: string; timeIndex: string } {
  return {
    log: offsetFileName(baseOffset, LOG_FILE_SUFFIX) + suffix,
    index: offsetFileName(baseOffset, INDEX_FILE_SUFFIX) + suffix,
    timeIndex: offsetFileName(baseOffset, TIME_INDEX_FILE_SUFFIX) + suffix,
  };
}

export class CleanedSegmentWriter {
  readonly baseOffset: number;
  private readonly dir: string;
  private readonly fd: number;
  private readonly intervalBytes: number;
  private readonly ix: LoadedIndexes;
  private readonly st: IndexingState;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = 0;
  private closed = false;

  private constructor(opts: CleanedSegmentOptions, fd: number) {
    this.dir = opts.dir;
    this.baseOffset = opts.baseOffset;
    this.fd = fd;
    this.intervalBytes = opts.indexIntervalBytes;
    this.ix = { offsetIndex: new OffsetIndex(opts.baseOffset, opts.segmentIndexBytes), timeIndex: new TimeIndex(opts.baseOffset, opts.segmentIndexBytes) };
    this.st = freshState(opts.baseOffset);
  }

  /** Creates (truncating any leftover of an earlier attempt) `<base>.log.cleaned`. */
  static async create(opts: CleanedSegmentOptions): Promise<CleanedSegmentWriter> {
    const names = segmentFileNames(opts.baseOffset, CLEANED_FILE_SUFFIX);
    try {
      return new CleanedSegmentWriter(opts, await openFd(join(opts.dir, names.log), 'w'));
    } catch (err) {
      throw new FerryError(ErrorCode.STORAGE_ERROR, `create ${names.log}: ${(err as Error).message}`);
    }
  }

  /** Bytes appended so far (written or pending). */
  get size(): number {
    return this.written + this.pendingBytes;
  }

  /** One past the last offset appended (the base offset when empty). */
  get nextOffset(): number {
    return this.st.next;
  }

  /** Appends one whole batch (copied: the caller's buffer may be reused). */
  append(buf: Buffer, pos: number): void {
    assert(!this.closed, 'append after finish/abort');
    const size = batchSizeAt(buf, pos);
    const base = batchBaseOffset(buf, pos);
    const last = batchLastOffset(buf, pos);
    assert(base >= this.st.next, `cleaned batch at ${base} does not follow ${this.st.next}`);
    assert(last - this.baseOffset <= SEGMENT_OFFSET_SPAN_MAX, `cleaned batch at ${base} exceeds the segment's offset span`);
    applyBatch(this.st, this.ix, this.intervalBytes, this.size, size, base, last, batchMaxTimestamp(buf, pos));
    this.pending.push(Buffer.from(buf.subarray(pos, pos + size)));
    this.pendingBytes += size;
    if (this.pendingBytes >= CLEANER_WRITE_CHUNK_BYTES) this.writePending();
  }

  /** Writes the rest, the index files, fsyncs everything and closes. */
  async finish(lastModifiedMs: number): Promise<void> {
    assert(!this.closed, 'finish twice');
    const names = segmentFileNames(this.baseOffset, CLEANED_FILE_SUFFIX);
    try {
      this.writePending();
      this.ix.timeIndex.maybeAppend(this.st.maxTs, this.st.offsetOfMaxTs, true);
      await fsyncFd(this.fd);
      this.closeFd();
      if (lastModifiedMs > 0) await fsp.utimes(join(this.dir, names.log), lastModifiedMs / 1000, lastModifiedMs / 1000);
      await writeFileSynced(join(this.dir, names.index), this.ix.offsetIndex.toBuffer());
      await writeFileSynced(join(this.dir, names.timeIndex), this.ix.timeIndex.toBuffer());
    } catch (err) {
      if (err instanceof FerryError) throw err;
      throw new FerryError(ErrorCode.STORAGE_ERROR, `finish ${names.log}: ${(err as Error).message}`);
    }
  }

  /** Closes and removes whatever was written. Never throws. */
  async abort(): Promise<void> {
    this.closeFd();
    const names = segmentFileNames(this.baseOffset, CLEANED_FILE_SUFFIX);
    await Promise.all([names.log, names.index, names.timeIndex].map((n) => unlinkIfExists(join(this.dir, n)).catch(() => undefined)));
  }

  private writePending(): void {
    if (this.pendingBytes === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    let done = 0;
    try {
      while (done < chunk.length) done += fs.writeSync(this.fd, chunk, done, chunk.length - done, this.written + done);
    } catch (err) {
      throw new FerryError(ErrorCode.STORAGE_ERROR, `write cleaned segment ${this.baseOffset}: ${(err as Error).message}`);
    }
    this.written += chunk.length;
    this.pending = [];
    this.pendingBytes = 0;
  }

  private closeFd(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fs.closeSync(this.fd);
    } catch {
      // Already unusable; nothing more to release.
    }
  }
}
