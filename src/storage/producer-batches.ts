/**
 * Reading the idempotence fields (producerId, producerEpoch, baseSequence) out of batch headers for
 * producer-state.ts, without decoding records.
 */
import { BATCH_HEADER_BYTES, OFFSET_BASE_SEQUENCE, OFFSET_LAST_OFFSET_DELTA, OFFSET_PRODUCER_EPOCH, OFFSET_PRODUCER_ID, batchBaseOffset, batchMaxTimestamp, batchSizeAt, readInt64, type ValidatedBatches } from '../protocol/record-batch.js';
import type { AppendedProducerBatch, ProducerBatchMeta } from './producer-state.js';

/** True when some batch carries a producer id (the high word of -1 is negative). */
export function hasProducerIds(buf: Buffer, validated: ValidatedBatches): boolean {
  for (const b of validated.batches) if (buf.readInt32BE(b.pos + OFFSET_PRODUCER_ID) >= 0) return true;
  return false;
}

function metaAt(buf: Buffer, pos: number): ProducerBatchMeta {
  return {
    producerId: readInt64(buf, pos + OFFSET_PRODUCER_ID),
    producerEpoch: buf.readInt16BE(pos + OFFSET_PRODUCER_EPOCH),
    baseSequence: buf.readInt32BE(pos + OFFSET_BASE_SEQUENCE),
    offsetCount: buf.readInt32BE(pos + OFFSET_LAST_OFFSET_DELTA) + 1,
  };
}

/** The idempotence fields of every validated batch, in order (producerId -1 included). */
export function producerBatchMetas(buf: Buffer, validated: ValidatedBatches): ProducerBatchMeta[] {
  return validated.batches.map((b) => metaAt(buf, b.pos));
}

/**
 * The batches of `buf` that carry a producer id, with their (already assigned) offsets. With
 * `firstOnly` only the batch at 0 is read, and only its header need be present (header scans).
 */
export function* appendedProducerBatches(buf: Buffer, firstOnly: boolean): Generator<AppendedProducerBatch> {
  let pos = 0;
  while (buf.length - pos >= BATCH_HEADER_BYTES) {
    if (buf.readInt32BE(pos + OFFSET_PRODUCER_ID) >= 0) {
      yield { ...metaAt(buf, pos), baseOffset: batchBaseOffset(buf, pos), timestampMs: batchMaxTimestamp(buf, pos) };
    }
    if (firstOnly) return;
    pos += batchSizeAt(buf, pos);
  }
}
