/**
 * RecentBatches: the locations of the last RECENT_BATCHES_MAX batches appended to the active
 * segment, so a consumer tailing the log (the common case) finds its batch without an index lookup
 * and header read. A ring of parallel typed arrays: no allocation per append.
 */
import type { BatchLocation } from './segment.js';

export const RECENT_BATCHES_MAX = 256;

export class RecentBatches {
  private readonly base = new Float64Array(RECENT_BATCHES_MAX);
  private readonly last = new Float64Array(RECENT_BATCHES_MAX);
  private readonly position = new Float64Array(RECENT_BATCHES_MAX);
  private readonly size = new Float64Array(RECENT_BATCHES_MAX);
  private head = 0; // next slot to write
  private count = 0;

  push(baseOffset: number, lastOffset: number, position: number, size: number): void {
    const i = this.head;
    this.base[i] = baseOffset;
    this.last[i] = lastOffset;
    this.position[i] = position;
    this.size[i] = size;
    this.head = (i + 1) % RECENT_BATCHES_MAX;
    if (this.count < RECENT_BATCHES_MAX) this.count++;
  }

  clear(): void {
    this.count = 0;
    this.head = 0;
  }

  /** The first remembered batch with lastOffset ≥ offset, if the ring covers `offset`. */
  find(offset: number): BatchLocation | null {
    if (this.count === 0) return null;
    const oldest = (this.head - this.count + RECENT_BATCHES_MAX) % RECENT_BATCHES_MAX;
    if (offset < this.base[oldest]!) return null;
    // Walk back from the newest: tailing readers ask for the last few batches.
    let found = -1;
    for (let k = 0; k < this.count; k++) {
      const i = (this.head - 1 - k + RECENT_BATCHES_MAX) % RECENT_BATCHES_MAX;
      if (this.last[i]! < offset) break;
      found = i;
    }
    if (found < 0) return null;
    return { baseOffset: this.base[found]!, lastOffset: this.last[found]!, position: this.position[found]!, size: this.size[found]! };
  }
}
