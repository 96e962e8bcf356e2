/**
 * SimLog: an in-memory model of one replica's PartitionLog with fsync semantics, for the ISR
 * simulation and unit tests. One record per offset: {epoch, id}. It keeps the same epoch cache
 * rules as storage/leader-epoch-cache.ts (KIP-101 endOffsetForEpoch) and the offsets of the storage
 * contract: LEO (written), flushedOffset (fsynced), HW (exposed; checkpointed at flush time).
 *
 * Crash: the un-fsynced tail [flushed, LEO) may be lost — a random prefix of it survives, as the
 * page cache may have written some of it back; the HW restarts from its last checkpoint, capped at
 * what survived. The epoch cache is durable at every change (storage persists it synchronously).
 *
 * `hashAt(o)` is a running hash of [0, o), so the checker compares two replicas' prefixes in O(1).
 */
import { strict as assert } from 'node:assert';
import type { SimRandom } from './random.js';
import { UNDEFINED_EPOCH_END, type EpochEndOffset, type FollowerLogView } from '../isr/types.js';

export interface SimEntry {
  epoch: number;
  id: number;
}

function mix(h: number, e: SimEntry): number {
  let x = Math.imul(h ^ e.id, 0x9e3779b1) ^ Math.imul(e.epoch + 1, 0x85ebca6b);
  x ^= x >>> 15;
  return Math.imul(x, 0xc2b2ae35) >>> 0;
}

export class SimLog implements FollowerLogView {
  readonly entries: SimEntry[] = [];
  private hashes: number[] = [0];
  private epochs: { epoch: number; startOffset: number }[] = [];
  private flushed = 0;
  private hw = 0;
  private hwCheckpoint = 0;

  get logStartOffset(): number {
    return 0;
  }
  get logEndOffset(): number {
    return this.entries.length;
  }
  get flushedOffset(): number {
    return this.flushed;
  }
  get highWatermark(): number {
    return this.hw;
  }
  get latestEpoch(): number {
    return this.epochs.length === 0 ? -1 : this.epochs[this.epochs.length - 1]!.epoch;
  }

  hashAt(offset: number): number {
    assert.ok(offset >= 0 && offset <= this.entries.length, `hashAt(${offset}) outside the log`);
    return this.hashes[offset]!;
  }

  /** KIP-101, as LeaderEpochCache.endOffsetFor. */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    if (epoch < 0 || this.epochs.length === 0) return { ...UNDEFINED_EPOCH_END };
    if (epoch === this.latestEpoch) return { epoch, endOffset: this.logEndOffset };
    const higher = this.epochs.findIndex((e) => e.epoch > epoch);
    if (higher < 0) return { ...UNDEFINED_EPOCH_END };
    const floor = higher > 0 ? this.epochs[higher - 1]! : null;
    return { epoch: floor ? floor.epoch : epoch, endOffset: this.epochs[higher]!.startOffset };
  }

  /** LeaderEpochCache.assign: a new leader records where its epoch starts before it appends. */
  assignEpoch(epoch: number, startOffset: number): void {
    const latest = this.epochs[this.epochs.length - 1];
    if (latest && epoch <= latest.epoch) return;
    while (this.epochs.length > 0 && this.epochs[this.epochs.length - 1]!.startOffset >= startOffset) this.epochs.pop();
    this.epochs.push({ epoch, startOffset });
  }

  append(entry: SimEntry): void {
    assert.ok(entry.epoch >= this.latestEpoch, `append at epoch ${entry.epoch} below the log's ${this.latestEpoch}`);
    this.assignEpoch(entry.epoch, this.entries.length);
    this.entries.push(entry);
    this.hashes.push(mix(this.hashes[this.hashes.length - 1]!, entry));
  }

  /** Drops records from `offset` on, and epoch entries starting at or after it (also when offset = LEO). */
  truncateTo(offset: number): void {
    if (offset > this.entries.length) return;
    assert.ok(offset >= 0, 'truncation below the log start');
    this.entries.length = offset;
    this.hashes.length = offset + 1;
    while (this.epochs.length > 0 && this.epochs[this.epochs.length - 1]!.startOffset >= offset) this.epochs.pop();
    this.flushed = Math.min(this.flushed, offset);
    this.hw = Math.min(this.hw, offset);
    this.hwCheckpoint = Math.min(this.hwCheckpoint, offset);
  }

  setHighWatermark(hw: number): void {
    assert.ok(hw >= 0 && hw <= this.entries.length, `HW ${hw} outside [0, ${this.entries.length}]`);
    this.hw = hw;
  }

  flush(): void {
    this.flushed = this.entries.length;
    this.hwCheckpoint = this.hw;
  }

  /** Power loss: a random prefix of the un-fsynced tail survives. Returns how many records were lost. */
  crash(rng: SimRandom): number {
    const before = this.entries.length;
    const survive = this.flushed + rng.int(before - this.flushed + 1);
    this.truncateTo(survive);
    this.hw = Math.min(this.hwCheckpoint, this.entries.length);
    return before - this.entries.length;
  }
}
