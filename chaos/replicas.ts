/**
 * Reads a broker's replica of a partition straight from its segment files (after the broker was
 * killed at the end of a run: the page cache still holds everything it wrote), so the checker can
 * compare every replica with the final read — a replica that disagrees below the high watermark is a
 * loss waiting for the next failover.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { iterateBatches } from '../src/protocol/record-batch.js';
import { decodeBatch } from '../src/protocol/record-decoder.js';
import { parseSegmentLogName } from '../src/storage/segment-files.js';

export interface ReplicaContents {
  /** First offset found (0 when empty). */
  start: number;
  /** ids[i] = the record at start + i (null: no record there). */
  ids: Array<string | null>;
  /** Why reading stopped early, if it did (a torn or corrupt batch: recovery would cut it). */
  stoppedAt: string | null;
}

export function readReplica(dataDir: string, topic: string, partition: number): ReplicaContents | null {
  const dir = join(dataDir, `${topic}-${partition}`);
  if (!existsSync(dir)) return null;
  const segments = readdirSync(dir)
    .map((name) => ({ name, base: parseSegmentLogName(name) }))
    .filter((s): s is { name: string; base: number } => s.base !== null)
    .sort((a, b) => a.base - b.base);
  const byOffset = new Map<number, string | null>();
  let stoppedAt: string | null = null;
  outer: for (const s of segments) {
    const buf = readFileSync(join(dir, s.name));
    for (const { pos } of iterateBatches(buf)) {
      try {
        const b = decodeBatch(buf, pos, { verifyCrc: true });
        for (const r of b.records) byOffset.set(r.offset, r.value ? r.value.toString() : null);
      } catch (err) {
        stoppedAt = `${s.name} byte ${pos}: ${(err as Error).message}`;
        break outer;
      }
    }
  }
  if (byOffset.size === 0) return { start: 0, ids: [], stoppedAt };
  const offsets = [...byOffset.keys()];
  const start = Math.min(...offsets);
  const end = Math.max(...offsets) + 1;
  const ids: Array<string | null> = new Array(end - start).fill(null);
  for (const [o, id] of byOffset) ids[o - start] = id;
  return { start, ids, stoppedAt };
}
