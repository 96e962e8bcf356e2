// A node's simulated disk. Only what was made durable survives a crash:
//   - hard state and snapshots are written synchronously (the effects are sync barriers);
//   - log writes (appendLog) queue up as pending and become durable at the next fsync, which the
//     simulator schedules a random few ms later and then reports to the node with logDurable;
//   - a crash keeps a random *prefix* of the pending writes (the page cache may have flushed some
//     of them in order), possibly tearing an append in the middle, and loses the rest.
// The durable log is a MemoryRaftLog whose snapshot boundary is the durable snapshot.

import type { HardState, LogEntry, LogIndex, Snapshot, Term } from '../raft/index.js';
import { MemoryRaftLog, SeededRandom } from '../raft/index.js';

export class SimDisk {
  hardState: HardState = { term: 0, votedFor: null };
  snapshot: Snapshot | null = null;
  log = new MemoryRaftLog();
  private pending: (readonly LogEntry[])[] = [];

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  write(entries: readonly LogEntry[]): void {
    this.pending.push(entries);
  }

  /** fsync: everything written so far is durable. Returns the durable (index, term) of the log end. */
  fsync(): { index: LogIndex; term: Term } {
    for (const entries of this.pending) this.applyWrite(entries, entries.length);
    this.pending = [];
    return { index: this.log.lastIndex(), term: this.log.lastTerm() };
  }

  saveSnapshot(snapshot: Snapshot): void {
    this.snapshot = snapshot;
  }

  /** The snapshot is durable; the log prefix it covers may go. */
  compact(throughIndex: LogIndex): void {
    const snap = this.snapshot;
    if (!snap || snap.index < throughIndex) throw new Error(`compact ${throughIndex} past the durable snapshot`);
    if (snap.index === throughIndex) this.log.compactThrough(snap.index, snap.term);
  }

  /** A leader's snapshot replaced the state: written durably together with the log reset. */
  install(snapshot: Snapshot, discardLog: boolean): void {
    if (discardLog) {
      this.pending = [];
      this.log.reset(snapshot.index, snapshot.term);
    } else {
      this.fsync();
      this.log.compactThrough(snapshot.index, snapshot.term);
    }
    this.snapshot = snapshot;
  }

  /** Power loss: keep a random prefix of the pending writes. */
  crash(random: SeededRandom): void {
    const total = this.pending.reduce((n, w) => n + w.length, 0);
    let keep = random.nextInt(total + 1);
    for (const entries of this.pending) {
      if (keep <= 0) break;
      this.applyWrite(entries, Math.min(keep, entries.length));
      keep -= entries.length;
    }
    this.pending = [];
  }

  /** A fresh copy of the durable log for a restarting node. */
  recoverLog(): MemoryRaftLog {
    return new MemoryRaftLog(this.log.snapshotIndex, this.log.snapshotTerm, this.log.all());
  }

  /** Does the durable state hold the entry (index, term) — in the log or under the snapshot? */
  holds(index: LogIndex, term: Term): boolean {
    if (this.snapshot && index <= this.snapshot.index) return true;
    return this.log.termAt(index) === term;
  }

  private applyWrite(entries: readonly LogEntry[], count: number): void {
    for (let i = 0; i < count; i++) {
      const entry = entries[i]!;
      if (entry.index <= this.log.snapshotIndex) continue; // under a snapshot taken since
      if (entry.index <= this.log.lastIndex()) this.log.truncateFrom(entry.index);
      if (entry.index !== this.log.lastIndex() + 1) throw new Error(`disk log gap: writing ${entry.index} after ${this.log.lastIndex()}`);
      this.log.append([entry]);
    }
  }
}
