/**
 * OffsetMap: the cleaner's key → latest offset map over the dirty part of a log (pass 1), bounded
 * by an estimate of its memory (Kafka's log.cleaner.dedupe.buffer.size).
 *
 * Keys are stored exactly (as latin1 strings: one char per byte, so any binary key round-trips and
 * V8 keeps it one byte per char), not hashed: a hash collision would make the cleaner drop the newest
 * record of some key, which is data loss. The cost is that memory depends on key sizes, hence the
 * per-entry estimate below rather than a fixed slot size.
 */
import { strict as assert } from 'node:assert';

/** Default bound on the map's estimated memory (Kafka's default dedupe buffer). */
export const DEFAULT_DEDUPE_BUFFER_BYTES = 128 * 1024 * 1024;
/** Estimated V8 cost of one entry beyond the key's bytes: Map slot, string header, number. */
export const OFFSET_MAP_ENTRY_OVERHEAD_BYTES = 64;

export class OffsetMap {
  readonly limitBytes: number;
  private readonly map = new Map<string, number>();
  private bytes = 0;
  private latest = -1;

  constructor(limitBytes: number) {
    assert(limitBytes > 0, 'offset map limit must be positive');
    this.limitBytes = limitBytes;
  }

  get size(): number {
    return this.map.size;
  }
  get estimatedBytes(): number {
    return this.bytes;
  }
  /** The largest offset put, -1 when empty. */
  get latestOffset(): number {
    return this.latest;
  }

  /** Estimated bytes `put(key)` would add if the key is new. */
  static entryBytes(key: Buffer): number {
    return key.length + OFFSET_MAP_ENTRY_OVERHEAD_BYTES;
  }

  /** True when `extraBytes` more would exceed the limit. */
  wouldOverflow(extraBytes: number): boolean {
    return this.bytes + extraBytes > this.limitBytes;
  }

  /** Records `offset` as the latest for `key`. Offsets must be put in increasing order. */
  put(key: Buffer, offset: number): void {
    assert(offset > this.latest, `offset map puts must increase: ${offset} after ${this.latest}`);
    const k = key.toString('latin1');
    if (!this.map.has(k)) this.bytes += OffsetMap.entryBytes(key);
    this.map.set(k, offset);
    this.latest = offset;
  }

  /** The latest offset of `key`, or -1. */
  get(key: Buffer): number {
    return this.map.get(key.toString('latin1')) ?? -1;
  }
}
