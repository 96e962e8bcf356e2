/**
 * LeaderEpochCache: for each leader epoch that wrote to this partition, the first offset it wrote
 * (KIP-101). Persisted as `leader-epoch-checkpoint` (checkpoint-file.ts format, entries
 * "<epoch> <startOffset>"), rewritten atomically whenever it changes.
 *
 * Invariant: entries strictly increase in both epoch and start offset.
 *
 * `endOffsetFor(epoch, logEndOffset)` follows Kafka's LeaderEpochFileCache.endOffsetFor:
 *  - epoch == latest epoch           → (epoch, logEndOffset)
 *  - some later epoch exists         → (largest known epoch ≤ requested, or the requested one when
 *                                       it is below every entry; start offset of the first epoch
 *                                       above it)
 *  - requested above every epoch, the cache is empty, or epoch < 0 → (-1, -1): undefined
 */
import { strict as assert } from 'node:assert';
import { CheckpointCorruptError, CheckpointFile } from './checkpoint-file.js';

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export class LeaderEpochCache {
  private entries: EpochEntry[] = [];
  private readonly file: CheckpointFile;

  constructor(path: string) {
    this.file = new CheckpointFile(path);
  }

  /** Loads the checkpoint; a missing file is an empty cache. Throws CheckpointCorruptError. */
  async load(): Promise<void> {
    const lines = await this.file.read();
    const entries: EpochEntry[] = [];
    for (const line of lines ?? []) {
      const [e, o] = line.split(' ').map(Number);
      const prev = entries[entries.length - 1];
      if (!Number.isSafeInteger(e) || !Number.isSafeInteger(o) || e! < 0 || o! < 0 || (prev && (e! <= prev.epoch || o! <= prev.startOffset))) {
        throw new CheckpointCorruptError(this.file.path, `bad epoch entry "${line}"`);
      }
      entries.push({ epoch: e!, startOffset: o! });
    }
    this.entries = entries;
  }

  get latestEpoch(): number {
    return this.entries.length === 0 ? UNDEFINED_EPOCH : this.entries[this.entries.length - 1]!.epoch;
  }

  snapshot(): readonly EpochEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  /**
   * Records that `epoch` starts at `startOffset`. A no-op unless the epoch is newer than the latest;
   * entries whose start offset is ≥ `startOffset` are replaced (their epochs wrote nothing that
   * survived). Returns whether the cache changed (then the caller persists it).
   */
  assign(epoch: number, startOffset: number): boolean {
    if (epoch < 0) return false;
    const latest = this.entries[this.entries.length - 1];
    if (latest && epoch <= latest.epoch) return false;
    while (this.entries.length > 0 && this.entries[this.entries.length - 1]!.startOffset >= startOffset) this.entries.pop();
    this.entries.push({ epoch, startOffset });
    return true;
  }

  /** Drops entries starting at or after `endOffset` (log truncated to `endOffset`). */
  truncateFromEnd(endOffset: number): boolean {
    const before = this.entries.length;
    while (this.entries.length > 0 && this.entries[this.entries.length - 1]!.startOffset >= endOffset) this.entries.pop();
    return this.entries.length !== before;
  }

  /**
   * The log now starts at `startOffset`: entries wholly below it go, and the epoch covering it
   * starts there.
   */
  truncateFromStart(startOffset: number): boolean {
    let covering = -1; // the last entry starting at or below startOffset
    for (let i = 0; i < this.entries.length && this.entries[i]!.startOffset <= startOffset; i++) covering = i;
    if (covering < 0 || (covering === 0 && this.entries[0]!.startOffset === startOffset)) return false;
    this.entries = this.entries.slice(covering);
    this.entries[0] = { epoch: this.entries[0]!.epoch, startOffset };
    return true;
  }

  endOffsetFor(epoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
    const undefinedResult = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (epoch < 0 || this.entries.length === 0) return undefinedResult;
    if (epoch === this.latestEpoch) return { epoch, endOffset: logEndOffset };
    const higher = this.entries.findIndex((e) => e.epoch > epoch);
    if (higher < 0) return undefinedResult;
    const floor = higher > 0 ? this.entries[higher - 1]! : null;
    return { epoch: floor ? floor.epoch : epoch, endOffset: this.entries[higher]!.startOffset };
  }

  async persist(): Promise<void> {
    assert(this.entries.every((e, i) => i === 0 || (e.epoch > this.entries[i - 1]!.epoch && e.startOffset > this.entries[i - 1]!.startOffset)));
    await this.file.write(this.entries.map((e) => `${e.epoch} ${e.startOffset}`));
  }
}
