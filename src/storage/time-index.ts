/**
 * TimeIndex: the sparse timestamp → offset index of one segment.
 *
 * On disk (`<base>.timeindex`): 12-byte big-endian entries, int64 timestamp (ms), int32 offset
 * relative to the segment's base. An entry (T, o) says "the largest batch maxTimestamp in this segment
 * up to and including the batch starting at offset o is T, first reached by that batch". Entries are
 * added alongside offset-index entries, only when T grew, so timestamps strictly increase; sealing a
 * segment appends a final entry so the last entry holds the segment's largest timestamp (which
 * retention reads). One slot is reserved for that final entry: `isFull` is reached one entry early.
 *
 * Written whole when the segment is sealed, like the offset index.
 */
import { strict as assert } from 'node:assert';
import { readInt64, writeInt64 } from '../protocol/record-batch.js';

export const TIME_INDEX_ENTRY_BYTES = 12;
const INITIAL_CAPACITY_ENTRIES = 32;

export interface TimestampOffset {
  timestamp: number;
  offset: number;
}

export class TimeIndex {
  readonly baseOffset: number;
  readonly maxEntries: number;
  private timestamps: Float64Array;
  private relOffsets: Int32Array;
  private count = 0;

  constructor(baseOffset: number, maxIndexBytes: number) {
    this.baseOffset = baseOffset;
    this.maxEntries = Math.max(2, Math.floor(maxIndexBytes / TIME_INDEX_ENTRY_BYTES));
    const initial = Math.min(INITIAL_CAPACITY_ENTRIES, this.maxEntries);
    this.timestamps = new Float64Array(initial);
    this.relOffsets = new Int32Array(initial);
  }

  get entryCount(): number {
    return this.count;
  }

  get sizeBytes(): number {
    return this.count * TIME_INDEX_ENTRY_BYTES;
  }

  /** Full for ordinary entries (one slot stays free for the seal entry). */
  get isFull(): boolean {
    return this.count >= this.maxEntries - 1;
  }

  get freeEntries(): number {
    return this.maxEntries - 1 - this.count;
  }

  lastEntry(): TimestampOffset | null {
    if (this.count === 0) return null;
    return { timestamp: this.timestamps[this.count - 1]!, offset: this.baseOffset + this.relOffsets[this.count - 1]! };
  }

  /** The largest timestamp indexed, or -1. */
  get lastTimestamp(): number {
    return this.count === 0 ? -1 : this.timestamps[this.count - 1]!;
  }

  /**
   * Adds (timestamp, offset) if timestamp exceeds the last entry's. `seal` may use the reserved last
   * slot. Returns whether an entry was added.
   */
  maybeAppend(timestamp: number, offset: number, seal = false): boolean {
    if (timestamp <= this.lastTimestamp) return false;
    if (this.count >= (seal ? this.maxEntries : this.maxEntries - 1)) return false;
    const rel = offset - this.baseOffset;
    assert(rel >= 0 && rel <= 0x7fffffff, `offset ${offset} outside int32 range of segment ${this.baseOffset}`);
    if (this.count > 0) assert(rel >= this.relOffsets[this.count - 1]!, `time index offset ${offset} goes backwards`);
    if (this.count === this.timestamps.length) this.grow();
    this.timestamps[this.count] = timestamp;
    this.relOffsets[this.count] = rel;
    this.count++;
    return true;
  }

  /**
   * The entry with the largest timestamp strictly below `timestamp` (so every batch up to its
   * offset is older than the target and a scan may start there), or null when there is none.
   */
  lookupBefore(timestamp: number): TimestampOffset | null {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestamps[mid]! < timestamp) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? null : { timestamp: this.timestamps[found]!, offset: this.baseOffset + this.relOffsets[found]! };
  }

  /** Removes entries for offsets ≥ `offset`. */
  truncateToOffset(offset: number): void {
    const rel = offset - this.baseOffset;
    while (this.count > 0 && this.relOffsets[this.count - 1]! >= rel) this.count--;
  }

  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.count * TIME_INDEX_ENTRY_BYTES);
    for (let i = 0; i < this.count; i++) {
      writeInt64(out, i * TIME_INDEX_ENTRY_BYTES, this.timestamps[i]!);
      out.writeInt32BE(this.relOffsets[i]!, i * TIME_INDEX_ENTRY_BYTES + 8);
    }
    return out;
  }

  /** Parses a file image; null when invalid (wrong size, not increasing, offset ≥ `nextOffset`). */
  static fromBuffer(buf: Buffer, baseOffset: number, maxIndexBytes: number, nextOffset: number): TimeIndex | null {
    if (buf.length % TIME_INDEX_ENTRY_BYTES !== 0) return null;
    const n = buf.length / TIME_INDEX_ENTRY_BYTES;
    const index = new TimeIndex(baseOffset, Math.max(maxIndexBytes, buf.length + TIME_INDEX_ENTRY_BYTES));
    index.timestamps = new Float64Array(Math.max(1, n));
    index.relOffsets = new Int32Array(Math.max(1, n));
    let prevTs = -Infinity;
    let prevRel = -1;
    for (let i = 0; i < n; i++) {
      const ts = readInt64(buf, i * TIME_INDEX_ENTRY_BYTES);
      const rel = buf.readInt32BE(i * TIME_INDEX_ENTRY_BYTES + 8);
      if (ts <= prevTs || rel < prevRel || rel < 0 || baseOffset + rel >= nextOffset) return null;
      index.timestamps[i] = ts;
      index.relOffsets[i] = rel;
      prevTs = ts;
      prevRel = rel;
    }
    index.count = n;
    return index;
  }

  private grow(): void {
    const capacity = Math.min(this.maxEntries, this.timestamps.length * 2);
    const ts = new Float64Array(capacity);
    ts.set(this.timestamps);
    const rel = new Int32Array(capacity);
    rel.set(this.relOffsets);
    this.timestamps = ts;
    this.relOffsets = rel;
  }
}
