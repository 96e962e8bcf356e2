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
import { batchLastOffset, iterateBatches } from '../protocol/record-batch.js';
import { decodeRecordsInto, type RecordFactory } from '../protocol/record-decoder.js';
import { ConsumerRecord } from './types.js';

/** Where the next fetch of a partition starts after `buf`: header reads only, no record decoding. */
export function nextFetchOffset(buf: Buffer, fromOffset: number): number {
  let nextOffset = fromOffset;
  for (const { pos } of iterateBatches(buf)) {
    const last = batchLastOffset(buf, pos);
    if (last + 1 > nextOffset) nextOffset = last + 1;
  }
  return nextOffset;
}

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
  // One ConsumerRecord per record, built directly by the decoder (no intermediate object).
  const make: RecordFactory<ConsumerRecord> = (offset, timestamp, key, value, headers) =>
    new ConsumerRecord(topic, partition, offset, timestamp, key, value, headers);
  let nextOffset = fromOffset;
  for (const { pos } of iterateBatches(buf)) {
    const last = batchLastOffset(buf, pos);
    if (last < fromOffset) continue; // wholly before the position: skip without decoding
    decodeRecordsInto(buf, pos, fromOffset, make, out);
    if (last + 1 > nextOffset) nextOffset = last + 1;
  }
  return { nextOffset };
}
