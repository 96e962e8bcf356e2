/**
 * Turns one partition's fetched bytes (concatenated RecordBatch v2 batches) into ConsumerRecords.
 *
 * - The first batch may start before the fetch offset (the broker returns whole batches):
 *   records below `fromOffset` are skipped.
 * - A trailing partial batch (cut by a byte limit) is ignored; it comes whole in the next fetch.
 * - `nextOffset` is the last complete batch's lastOffset + 1, so a batch whose records were all
 *   skipped (or compacted away) still moves the position forward.
 * Keys and values are views into `buf` (decodeBatch is zero-copy; gzip batches decode into their own
 * buffer). CRCs are checked; a corrupt batch throws FerryError(CORRUPT_MESSAGE).
 */
import { batchLastOffset, decodeBatch, iterateBatches } from '../protocol/record-batch.js';
import { ConsumerRecord } from './types.js';

export interface DecodeResult {
  /** Where the next fetch of this partition starts; `fromOffset` when no whole batch came. */
  nextOffset: number;
}

export function decodeFetchedRecords(
  topic: string,
  partition: number,
  buf: Buffer,
  fromOffset: number,
  out: ConsumerRecord[],
): DecodeResult {
  let nextOffset = fromOffset;
  for (const { pos } of iterateBatches(buf)) {
    const last = batchLastOffset(buf, pos);
    if (last < fromOffset) continue; // wholly before the position: skip without decoding
    const { records } = decodeBatch(buf, pos);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      if (r.offset < fromOffset) continue;
      out.push(new ConsumerRecord(topic, partition, r.offset, r.timestamp, r.key, r.value, r.headers));
    }
    if (last + 1 > nextOffset) nextOffset = last + 1;
  }
  return { nextOffset };
}
