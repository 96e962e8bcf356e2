/** Helpers for the compaction tests: keyed workloads, reading a whole log back, the expected survivors. */
import { expect } from 'vitest';
import { iterateBatches } from '../../../src/protocol/record-batch.js';
import { encodeRecordBatch, type RecordInput } from '../../../src/protocol/record-builder.js';
import { decodeBatch } from '../../../src/protocol/record-decoder.js';
import type { PartitionLog } from '../../../src/storage/partition-log.js';
import { append } from './helpers.js';

export interface Rec {
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
}

/** Appends one batch of keyed records; returns them with their offsets. */
export async function appendRecords(log: PartitionLog, records: Array<{ key: string | null; value: string | null; timestamp: number }>): Promise<Rec[]> {
  const inputs: RecordInput[] = records.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp }));
  const res = await append(log, encodeRecordBatch(inputs));
  return records.map((r, i) => ({ ...r, offset: res.baseOffset + i }));
}

/**
 * `batches` batches of `perBatch` records cycling over `keys` keys; values name their key and a
 * sequence number; timestamps start at `t0` and grow by 1 per record.
 */
export async function overwriteKeys(log: PartitionLog, opts: { batches: number; perBatch: number; keys: number; t0?: number; valueBytes?: number }): Promise<Rec[]> {
  const all: Rec[] = [];
  let seq = 0;
  const t0 = opts.t0 ?? 1_000_000;
  for (let b = 0; b < opts.batches; b++) {
    const recs = [];
    for (let j = 0; j < opts.perBatch; j++, seq++) {
      recs.push({ key: `key-${seq % opts.keys}`, value: `v${seq}`.padEnd(opts.valueBytes ?? 24, '.'), timestamp: t0 + seq });
    }
    all.push(...(await appendRecords(log, recs)));
  }
  return all;
}

/** Every record of the log, decoding (and CRC-checking) every batch; also checks batch invariants. */
export async function readAll(log: PartitionLog, from = log.logStartOffset): Promise<{ records: Rec[]; batches: number }> {
  const records: Rec[] = [];
  let batches = 0;
  let offset = from;
  while (offset < log.logEndOffset) {
    const { records: buf } = await log.read(offset, 1024 * 1024, { maxOffset: log.logEndOffset });
    if (buf.length === 0) break;
    for (const { pos } of iterateBatches(buf)) {
      const { header, records: recs } = decodeBatch(buf, pos); // verifies the CRC
      batches++;
      expect(recs.length).toBe(header.recordCount);
      for (const r of recs) {
        expect(r.offset).toBeGreaterThanOrEqual(header.baseOffset);
        expect(r.offset).toBeLessThanOrEqual(header.baseOffset + header.lastOffsetDelta);
        if (r.offset >= from && (records.length === 0 || r.offset > records[records.length - 1]!.offset)) {
          records.push({ offset: r.offset, key: r.key ? r.key.toString() : null, value: r.value ? r.value.toString() : null, timestamp: r.timestamp });
        }
      }
      offset = header.baseOffset + header.lastOffsetDelta + 1;
    }
  }
  return { records, batches };
}

/** Records below `cleanEnd` reduced to the newest per key (keyless dropped); later ones all kept. */
export function expectedAfterClean(all: readonly Rec[], cleanEnd: number): Rec[] {
  const newest = new Map<string, number>();
  for (const r of all) if (r.key !== null && r.offset < cleanEnd) newest.set(r.key, r.offset);
  return all.filter((r) => (r.offset >= cleanEnd ? true : r.key !== null && newest.get(r.key) === r.offset));
}
