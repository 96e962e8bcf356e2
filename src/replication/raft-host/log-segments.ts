// LogSegments: the durable half of the Raft log — segment files of entries (entry-format.ts) named
// `<20-digit first index>.raftlog`, only ever appended to at the end of the last ("active") one.
//
// Durability rule: `write` only puts bytes in the page cache; `sync` fdatasyncs the active segment
// and returns the (index, term) of the last entry written, which is then durable (group commit: any
// number of writes share one sync). Rolling to a new segment fsyncs the old one and the directory
// first, so a sync of the active segment covers everything before it. Destructive steps that could
// resurrect stale entries if undone by a crash — unlinking segments on truncation — fsync the
// directory before returning; prefix deletion need not (a resurrected prefix segment only holds
// entries under a snapshot, which recovery skips).
//
// Recovery (`open`): segments are read in index order; a segment that does not start right after
// its predecessor is deleted with everything after it; inside a segment the first torn, implausible,
// CRC-bad or out-of-sequence record is cut off (the file is truncated and fsynced) and every later
// segment is deleted — the same "trust the longest valid prefix" rule as src/storage/segment.ts.
// What was cut is logged. I/O errors throw; the host treats them as fatal.
//
// Not re-entrant: the host calls it from its serial queue only.

import { strict as assert } from 'node:assert';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { fsyncDir } from '../../util/atomic-file.js';
import type { LogEntry, LogIndex, Term } from '../raft/index.js';
import { encodeEntries, encodedEntryBytes, scanEntries } from './entry-format.js';

export const SEGMENT_SUFFIX = '.raftlog';

interface Segment {
  readonly base: LogIndex;
  readonly path: string;
  /** Byte position of each entry (entry base + i at offsets[i]). */
  readonly offsets: number[];
  readonly terms: Term[];
  size: number;
}

export interface SegmentRecovery {
  readonly entries: LogEntry[];
  /** Entries cut off (first lost index, or null when nothing was lost) and why. */
  readonly cutFrom: LogIndex | null;
  readonly reason: string | null;
}

export function segmentFileName(base: LogIndex): string {
  return `${String(base).padStart(20, '0')}${SEGMENT_SUFFIX}`;
}

export class LogSegments {
  private readonly segments: Segment[] = [];
  private active: fsp.FileHandle | null = null;
  private dirty = false;
  /** First index of the next segment when there is none (after deleteAll). */
  private nextBase: LogIndex = 1;
  /** Number of fdatasyncs of the active segment (tests check group commit with it). */
  syncs = 0;

  private constructor(readonly dir: string, private readonly segmentBytes: number, private readonly logger: Logger) {}

  static async open(dir: string, segmentBytes: number, logger: Logger): Promise<{ segments: LogSegments; recovery: SegmentRecovery }> {
    const store = new LogSegments(dir, segmentBytes, logger);
    const recovery = await store.recover();
    return { segments: store, recovery };
  }

  // ---- queries (the durable log, including entries a snapshot already covers) -------------------
  firstIndex(): LogIndex {
    return this.segments[0]?.base ?? this.nextBase;
  }

  lastIndex(): LogIndex {
    const last = this.segments[this.segments.length - 1];
    return last ? last.base + last.offsets.length - 1 : this.nextBase - 1;
  }

  termAt(index: LogIndex): Term | undefined {
    const seg = this.segmentOf(index);
    return seg?.terms[index - seg.base];
  }

  // ---- mutations -------------------------------------------------------------------------------
  /** Page-cache write of `entries`, after cutting the log from `truncateFromIndex` (if set). */
  async write(truncateFromIndex: LogIndex | null, entries: readonly LogEntry[]): Promise<void> {
    if (truncateFromIndex !== null) await this.truncateFrom(truncateFromIndex);
    if (entries.length === 0) return;
    assert.equal(entries[0]!.index, this.lastIndex() + 1, 'raft log write is not contiguous with the disk');
    let seg = this.segments[this.segments.length - 1];
    if (!seg || !this.active || (seg.size >= this.segmentBytes && seg.offsets.length > 0)) seg = await this.roll(entries[0]!.index);
    const bytes = encodeEntries(entries);
    await this.active!.write(bytes, 0, bytes.length, seg.size);
    let at = seg.size;
    for (const e of entries) {
      seg.offsets.push(at);
      seg.terms.push(e.term);
      at += encodedEntryBytes(e);
    }
    seg.size = at;
    this.dirty = true;
  }

  /** fdatasync; returns the last entry now durable, or null when nothing was written since. */
  async sync(): Promise<{ index: LogIndex; term: Term } | null> {
    if (!this.dirty || !this.active) return null;
    this.dirty = false;
    await this.active.datasync();
    this.syncs++;
    const index = this.lastIndex();
    const term = this.termAt(index);
    return term === undefined ? null : { index, term };
  }

  /** Delete whole segments whose entries are all <= `index` (never the active one). */
  async deleteThrough(index: LogIndex): Promise<void> {
    while (this.segments.length > 1 && this.segments[1]!.base - 1 <= index) {
      const seg = this.segments.shift()!;
      await fsp.rm(seg.path, { force: true });
    }
  }

  /** Delete every segment (an installed snapshot replaced the log); the log resumes at `nextIndex`. */
  async deleteAll(nextIndex: LogIndex): Promise<void> {
    await this.closeActive();
    for (const seg of this.segments.splice(0)) await fsp.rm(seg.path, { force: true });
    await fsyncDir(this.dir);
    this.nextBase = nextIndex;
    this.dirty = false;
  }

  async close(): Promise<void> {
    await this.closeActive();
  }

  // ---- internals -------------------------------------------------------------------------------
  private segmentOf(index: LogIndex): Segment | undefined {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const seg = this.segments[i]!;
      if (index >= seg.base) return index < seg.base + seg.offsets.length ? seg : undefined;
    }
    return undefined;
  }

  private async truncateFrom(index: LogIndex): Promise<void> {
    if (index > this.lastIndex()) return;
    assert.ok(index >= this.firstIndex(), `truncating ${index} below the first durable entry ${this.firstIndex()}`);
    let removed = false;
    while (this.segments.length > 0 && this.segments[this.segments.length - 1]!.base > index) {
      if (this.segments.length === 1) break;
      await this.closeActive();
      await fsp.rm(this.segments.pop()!.path, { force: true });
      removed = true;
    }
    // Stale later segments must not come back after a crash (recovery could chain them on).
    if (removed) await fsyncDir(this.dir);
    const seg = this.segments[this.segments.length - 1]!;
    const keep = index - seg.base;
    seg.size = seg.offsets[keep] ?? seg.size;
    seg.offsets.length = keep;
    seg.terms.length = keep;
    if (!this.active) this.active = await fsp.open(seg.path, 'r+');
    await this.active.truncate(seg.size);
    this.dirty = true;
  }

  private async roll(base: LogIndex): Promise<Segment> {
    if (this.active) {
      if (this.dirty) {
        await this.active.datasync();
        this.syncs++;
      }
      await this.closeActive();
    }
    const seg: Segment = { base, path: join(this.dir, segmentFileName(base)), offsets: [], terms: [], size: 0 };
    this.active = await fsp.open(seg.path, 'w+');
    await fsyncDir(this.dir);
    this.segments.push(seg);
    return seg;
  }

  private async closeActive(): Promise<void> {
    const fh = this.active;
    this.active = null;
    await fh?.close();
  }

  private async recover(): Promise<SegmentRecovery> {
    await fsp.mkdir(this.dir, { recursive: true });
    const bases = (await fsp.readdir(this.dir))
      .filter((name) => name.endsWith(SEGMENT_SUFFIX))
      .map((name) => Number(name.slice(0, -SEGMENT_SUFFIX.length)))
      .filter((base) => Number.isSafeInteger(base) && base >= 1)
      .sort((a, b) => a - b);
    const entries: LogEntry[] = [];
    let cutFrom: LogIndex | null = null;
    let reason: string | null = null;
    let lastTerm = 0;
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!;
      const path = join(this.dir, segmentFileName(base));
      const expected = i === 0 ? base : this.lastIndex() + 1;
      if (cutFrom !== null || base !== expected) {
        cutFrom ??= expected;
        reason ??= `segment ${segmentFileName(base)} does not follow index ${expected - 1}`;
        await fsp.rm(path, { force: true });
        continue;
      }
      const bytes = await fsp.readFile(path);
      const scan = scanEntries(bytes, base, lastTerm);
      const seg: Segment = { base, path, offsets: scan.entries.map((s) => s.position), terms: scan.entries.map((s) => s.entry.term), size: scan.validBytes };
      for (const s of scan.entries) entries.push(s.entry);
      if (scan.entries.length > 0) lastTerm = scan.entries[scan.entries.length - 1]!.entry.term;
      this.segments.push(seg);
      if (scan.stop !== 'end') {
        cutFrom = base + scan.entries.length;
        reason = `${scan.stop} record at byte ${scan.validBytes} of ${segmentFileName(base)} (${bytes.length - scan.validBytes} bytes cut)`;
        const fh = await fsp.open(path, 'r+');
        try {
          await fh.truncate(scan.validBytes);
          await fh.sync();
        } finally {
          await fh.close();
        }
      }
    }
    if (cutFrom !== null) {
      await fsyncDir(this.dir);
      this.logger.warn({ dir: this.dir, cutFrom, reason }, 'raft log recovery cut a damaged tail');
    }
    const last = this.segments[this.segments.length - 1];
    if (last) {
      this.active = await fsp.open(last.path, 'r+');
      // The node treats the recovered log as durable; writes a crashed process left in the page
      // cache are not yet (only rolled segments were synced), so make them so before anyone relies on them.
      await this.active.datasync();
    }
    return { entries, cutFrom, reason };
  }
}
