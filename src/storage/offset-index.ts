/**
 * OffsetIndex: the sparse offset → file position index of one segment.
 *
 * On disk (`<base>.index`): 8-byte big-endian entries, int32 offset relative to the segment's base
 * offset, int32 byte position in the `.log`. An entry says "the batch whose baseOffset is
 * base+relOffset starts at position". One entry is added per `index.interval.bytes` of log appended,
 * so a lookup lands within about one interval (plus one batch) of the target and the rest is a short
 * scan of batch headers.
 *
 * In memory the entries live in a growable Int32Array (relOffset, position pairs). The active segment
 * appends to it; the file is written whole when the segment is sealed (roll, close, truncation), so
 * an index file on disk is complete or else rebuilt by recovery. Capacity is `maxEntries`
 * (segment.index.bytes / 8); `isFull` makes the log roll.
 */
import { strict as assert } from 'node:assert';

export const OFFSET_INDEX_ENTRY_BYTES = 8;
const INITIAL_CAPACITY_ENTRIES = 64;

export interface IndexEntry {
  offset: number;
  position: number;
}

export class OffsetIndex {
  readonly baseOffset: number;
  readonly maxEntries: number;
  private entries: Int32Array;
  private count = 0;

  constructor(baseOffset: number, maxIndexBytes: number) {
    this.baseOffset = baseOffset;
    this.maxEntries = Math.floor(maxIndexBytes / OFFSET_INDEX_ENTRY_BYTES);
    this.entries = new Int32Array(2 * Math.min(INITIAL_CAPACITY_ENTRIES, Math.max(1, this.maxEntries)));
  }

  get entryCount(): number {
    return this.count;
  }

  get sizeBytes(): number {
    return this.count * OFFSET_INDEX_ENTRY_BYTES;
  }

  get isFull(): boolean {
    return this.count >= this.maxEntries;
  }

  get freeEntries(): number {
    return this.maxEntries - this.count;
  }

  lastEntry(): IndexEntry | null {
    if (this.count === 0) return null;
    return this.entryAt(this.count - 1);
  }

  entryAt(i: number): IndexEntry {
    return { offset: this.baseOffset + this.entries[2 * i]!, position: this.entries[2 * i + 1]! };
  }

  /** Adds an entry; false (and nothing added) when full. Offsets and positions must increase. */
  append(offset: number, position: number): boolean {
    if (this.count >= this.maxEntries) return false;
    const rel = offset - this.baseOffset;
    assert(rel >= 0 && rel <= 0x7fffffff, `offset ${offset} outside int32 range of segment ${this.baseOffset}`);
    if (this.count > 0) {
      const last = 2 * (this.count - 1);
      assert(rel > this.entries[last]! && position > this.entries[last + 1]!, `index entry (${offset}, ${position}) does not increase`);
    }
    if (2 * this.count === this.entries.length) this.grow();
    this.entries[2 * this.count] = rel;
    this.entries[2 * this.count + 1] = position;
    this.count++;
    return true;
  }

  /** The entry with the largest offset ≤ `offset`, or (baseOffset, 0) when there is none. */
  lookup(offset: number): IndexEntry {
    const rel = offset - this.baseOffset;
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[2 * mid]! <= rel) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? { offset: this.baseOffset, position: 0 } : this.entryAt(found);
  }

  /** Removes entries for offsets ≥ `offset`. */
  truncateToOffset(offset: number): void {
    const rel = offset - this.baseOffset;
    while (this.count > 0 && this.entries[2 * (this.count - 1)]! >= rel) this.count--;
  }

  /** Removes entries whose position is ≥ `position`. */
  truncateToPosition(position: number): void {
    while (this.count > 0 && this.entries[2 * (this.count - 1) + 1]! >= position) this.count--;
  }

  /** The file image: big-endian entries. */
  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.count * OFFSET_INDEX_ENTRY_BYTES);
    for (let i = 0; i < this.count; i++) {
      out.writeInt32BE(this.entries[2 * i]!, i * OFFSET_INDEX_ENTRY_BYTES);
      out.writeInt32BE(this.entries[2 * i + 1]!, i * OFFSET_INDEX_ENTRY_BYTES + 4);
    }
    return out;
  }

  /**
   * Parses a file image; null when it is not a valid index for a log of `logBytes` bytes (wrong
   * size, entries not increasing, a position past the end), so the caller rebuilds it.
   */
  static fromBuffer(buf: Buffer, baseOffset: number, maxIndexBytes: number, logBytes: number): OffsetIndex | null {
    if (buf.length % OFFSET_INDEX_ENTRY_BYTES !== 0) return null;
    const n = buf.length / OFFSET_INDEX_ENTRY_BYTES;
    // An index written under a larger segment.index.bytes stays readable.
    const index = new OffsetIndex(baseOffset, Math.max(maxIndexBytes, buf.length));
    index.entries = new Int32Array(2 * Math.max(1, n));
    let prevRel = -1;
    let prevPos = -1;
    for (let i = 0; i < n; i++) {
      const rel = buf.readInt32BE(i * OFFSET_INDEX_ENTRY_BYTES);
      const pos = buf.readInt32BE(i * OFFSET_INDEX_ENTRY_BYTES + 4);
      if (rel <= prevRel || pos <= prevPos || pos >= logBytes) return null;
      index.entries[2 * i] = rel;
      index.entries[2 * i + 1] = pos;
      prevRel = rel;
      prevPos = pos;
    }
    index.count = n;
    return index;
  }

  private grow(): void {
    const capacity = Math.min(this.maxEntries, Math.max(1, this.entries.length)); // entries.length/2 * 2
    const next = new Int32Array(2 * capacity);
    next.set(this.entries);
    this.entries = next;
  }
}
