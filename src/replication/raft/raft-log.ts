// The node's view of its log: a snapshot boundary (everything <= snapshotIndex is compacted into
// the snapshot) followed by entries snapshotIndex+1 .. lastIndex.
//
// This is the *in-memory* view the core reads and mutates synchronously. Mutations are mirrored to
// the host as `appendLog` / `compactLog` / `installSnapshot` effects; durability is tracked by the
// node (durableIndex), not by the log. The simulator uses `MemoryRaftLog` both for the node's view
// and for its simulated disk; the broker will provide a file-backed implementation whose reads come
// from a cache of the tail (the metadata log is small and snapshotted).

import { strict as assert } from 'node:assert';
import type { LogEntry, LogIndex, Term } from './types.js';

export interface RaftLog {
  readonly snapshotIndex: LogIndex;
  readonly snapshotTerm: Term;
  lastIndex(): LogIndex;
  lastTerm(): Term;
  /** Term at `index`: snapshotTerm at snapshotIndex, undefined if compacted away or beyond the end. */
  termAt(index: LogIndex): Term | undefined;
  entryAt(index: LogIndex): LogEntry | undefined;
  /** Entries in [from, toExclusive), at most `max`; `from` must be > snapshotIndex. */
  slice(from: LogIndex, toExclusive: LogIndex, max: number): LogEntry[];
  /** Append contiguous entries; the first must be lastIndex + 1. */
  append(entries: readonly LogEntry[]): void;
  /** Remove `index` and everything after it (index > snapshotIndex). */
  truncateFrom(index: LogIndex): void;
  /** Drop entries <= index (covered by a snapshot at (index, term)); keep the rest. */
  compactThrough(index: LogIndex, term: Term): void;
  /** Drop everything; the log now starts after a snapshot at (index, term). */
  reset(index: LogIndex, term: Term): void;
}

export class MemoryRaftLog implements RaftLog {
  private base: LogIndex;
  private baseTerm: Term;
  private readonly entries: LogEntry[];

  constructor(snapshotIndex: LogIndex = 0, snapshotTerm: Term = 0, entries: readonly LogEntry[] = []) {
    this.base = snapshotIndex;
    this.baseTerm = snapshotTerm;
    this.entries = [];
    this.append(entries);
  }

  get snapshotIndex(): LogIndex {
    return this.base;
  }

  get snapshotTerm(): Term {
    return this.baseTerm;
  }

  lastIndex(): LogIndex {
    return this.base + this.entries.length;
  }

  lastTerm(): Term {
    return this.entries.length === 0 ? this.baseTerm : this.entries[this.entries.length - 1]!.term;
  }

  termAt(index: LogIndex): Term | undefined {
    if (index === this.base) return this.baseTerm;
    return this.entryAt(index)?.term;
  }

  entryAt(index: LogIndex): LogEntry | undefined {
    if (index <= this.base) return undefined;
    return this.entries[index - this.base - 1];
  }

  slice(from: LogIndex, toExclusive: LogIndex, max: number): LogEntry[] {
    assert.ok(from > this.base, `slice from ${from} inside the snapshot (${this.base})`);
    const end = Math.min(toExclusive, this.lastIndex() + 1, from + max);
    return end <= from ? [] : this.entries.slice(from - this.base - 1, end - this.base - 1);
  }

  append(entries: readonly LogEntry[]): void {
    let expected = this.lastIndex() + 1;
    let lastTerm = this.lastTerm();
    for (const entry of entries) {
      assert.equal(entry.index, expected, 'log append must be contiguous');
      assert.ok(entry.term >= lastTerm, 'terms in a log never decrease');
      this.entries.push(entry);
      expected++;
      lastTerm = entry.term;
    }
  }

  truncateFrom(index: LogIndex): void {
    assert.ok(index > this.base, `truncate ${index} inside the snapshot (${this.base})`);
    if (index <= this.lastIndex()) this.entries.length = index - this.base - 1;
  }

  compactThrough(index: LogIndex, term: Term): void {
    if (index <= this.base) return;
    if (index > this.lastIndex() || this.termAt(index) !== term) {
      this.reset(index, term);
      return;
    }
    this.entries.splice(0, index - this.base);
    this.base = index;
    this.baseTerm = term;
  }

  reset(index: LogIndex, term: Term): void {
    this.entries.length = 0;
    this.base = index;
    this.baseTerm = term;
  }

  /** Every entry after the snapshot (tests and the simulator's disk). */
  all(): readonly LogEntry[] {
    return this.entries;
  }
}
