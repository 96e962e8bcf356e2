/**
 * The shared core of the hand-written response encoders for fetches that return raw record
 * batches: ferry.v1.FetchResponse (fetch-response-encoder.ts, the SDK's Fetch/Consume) and
 * ferry.v1.ReplicaFetchResponse (replica-fetch-response-encoder.ts, followers). Both have the same
 * shape — `repeated TopicResult topics = 1`, each `string topic = 1; repeated PartitionResult
 * partitions = 2`, each with int fields partition = 1, high_watermark = 3, log_start_offset = 4,
 * log_end_offset = 5 and the records in one `bytes` field (6 or 7, the partition's last field) — so
 * one encoder, told the records' tag, writes both.
 *
 * protobufjs copies every `bytes` field into a fresh message buffer, and grpc-js then copies that
 * into its frame: with a 16 MiB fetch that was two fresh 16 MiB buffers and two copies on top of
 * the read buffer. The broker reads records into buffers with free headroom in front of them
 * (src/server/fetch-buffers.ts) and marks the partition result with READ_HEADROOM: when those
 * records are the message's last bytes (one partition with data, the last one in the response),
 * the headers are written into the headroom and the message *is* the read buffer, so the only copy
 * left is grpc-js's framing. Otherwise the records are copied once into one buffer (as protobufjs
 * would), taken from the broker's read buffers when the partition was marked with an allocator
 * (ENCODE_ALLOCATE: several partitions with data, e.g. a follower of many partitions), else fresh.
 *
 * The bytes are standard proto3 (fields in field-number order, zero values omitted), decoded by
 * any protobuf reader; the encoders' tests check them against protobufjs. A partition the caller
 * says is not plain (an error, decoded records, a diverging epoch) makes the whole response go to
 * protobufjs (encodeTopicResults returns null).
 */
import { frameInPlace, GRPC_FRAME_PREFIX_BYTES } from './grpc-zero-copy.js';
import { fieldSize, lengthDelimitedSize, writeIntField, writeLengthPrefix, writeStringField } from './proto-wire.js';

/** On a partition result: free bytes in front of its `recordBatches`, in the same buffer. */
export const READ_HEADROOM: unique symbol = Symbol.for('ferry.v1.partitionResult.readHeadroom');
/**
 * On a partition result: called (in a microtask) once gRPC has serialized the response holding
 * it, i.e. nothing reads its buffers any more (the broker then reuses them).
 */
export const AFTER_SERIALIZE: unique symbol = Symbol.for('ferry.v1.partitionResult.afterSerialize');
/**
 * On a partition result: where the encoder may take the message buffer when it has to copy; the
 * buffer must stay untouched until AFTER_SERIALIZE runs (the broker's lease of read buffers).
 */
export const ENCODE_ALLOCATE: unique symbol = Symbol.for('ferry.v1.partitionResult.encodeAllocate');

interface Marked {
  [READ_HEADROOM]?: number;
  [AFTER_SERIALIZE]?: () => void;
  [ENCODE_ALLOCATE]?: (bytes: number) => Buffer;
}

/** The fields of a partition result the encoder writes (int64s arrive as numbers, strings or Longs). */
export interface PartitionFields {
  partition?: number;
  highWatermark?: unknown;
  logStartOffset?: unknown;
  logEndOffset?: unknown;
  recordBatches?: Buffer | Uint8Array | string;
}

export interface TopicResults<P extends PartitionFields> {
  topics?: Array<{ topic?: string; partitions?: P[] }>;
}

/** Marks a partition result read into a buffer of the broker's (non-enumerable: invisible to copies and comparisons). */
export function markReadBuffer(result: object, headroom: number, afterSerialize: () => void, allocate?: (bytes: number) => Buffer): void {
  Object.defineProperty(result, READ_HEADROOM, { value: headroom, configurable: true });
  Object.defineProperty(result, AFTER_SERIALIZE, { value: afterSerialize, configurable: true });
  if (allocate) Object.defineProperty(result, ENCODE_ALLOCATE, { value: allocate, configurable: true });
}

/** The distinct after-serialize hooks of a response's partitions (usually one: one read per answer). */
export function afterSerializeHooks(response: TopicResults<PartitionFields>): Array<() => void> {
  const hooks: Array<() => void> = [];
  for (const t of response.topics ?? []) {
    for (const p of t.partitions ?? []) {
      const hook = (p as Marked)[AFTER_SERIALIZE];
      if (hook && !hooks.includes(hook)) hooks.push(hook);
    }
  }
  return hooks;
}

const TAG_TOPICS = 0x0a; // Response.topics = 1, length-delimited
const TAG_TOPIC = 0x0a; // TopicResult.topic = 1
const TAG_PARTITIONS = 0x12; // TopicResult.partitions = 2
const TAG_PARTITION = 0x08; // PartitionResult.partition = 1, varint
const TAG_HIGH_WATERMARK = 0x18; // = 3
const TAG_LOG_START_OFFSET = 0x20; // = 4
const TAG_LOG_END_OFFSET = 0x28; // = 5

/** A JS-number integer field (or unset); Long / string forms are left to protobufjs. */
function isInt(v: unknown): boolean {
  return v === undefined || v === null || Number.isSafeInteger(v);
}

interface PartitionLayout {
  partition: number;
  highWatermark: number;
  logStartOffset: number;
  logEndOffset: number;
  data: Buffer | null;
  /** Encoded partition result length (without its own tag and length). */
  length: number;
}

interface TopicLayout {
  name: string;
  nameBytes: number;
  partitions: PartitionLayout[];
  length: number;
}

/**
 * The wire bytes of `response`, whose partitions' records go in the length-delimited field
 * `recordBatchesTag`; null when `plain` rejects a partition or a field is not a JS number (left to
 * protobufjs). When the last partition's records carry READ_HEADROOM and the headers fit there,
 * nothing is copied.
 */
export function encodeTopicResults<P extends PartitionFields>(response: TopicResults<P>, recordBatchesTag: number, plain: (p: P) => boolean): Buffer | null {
  const topics: TopicLayout[] = [];
  let total = 0;
  let dataPartitions = 0;
  let last: PartitionLayout | null = null;
  let lastHeadroom = 0;
  let allocate: ((bytes: number) => Buffer) | undefined;
  for (const t of response.topics ?? []) {
    const name = t.topic ?? '';
    const nameBytes = Buffer.byteLength(name);
    let length = nameBytes > 0 ? lengthDelimitedSize(nameBytes) : 0;
    const partitions: PartitionLayout[] = [];
    for (const p of t.partitions ?? []) {
      if (!plain(p) || typeof p.recordBatches === 'string') return null;
      if (!isInt(p.highWatermark) || !isInt(p.logStartOffset) || !isInt(p.logEndOffset) || !isInt(p.partition)) return null;
      const raw = p.recordBatches;
      const data = raw && raw.length > 0 ? (Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)) : null;
      const l: PartitionLayout = {
        partition: p.partition ?? 0,
        highWatermark: (p.highWatermark as number | undefined) ?? 0,
        logStartOffset: (p.logStartOffset as number | undefined) ?? 0,
        logEndOffset: (p.logEndOffset as number | undefined) ?? 0,
        data,
        length: 0,
      };
      l.length =
        fieldSize(l.partition) + fieldSize(l.highWatermark) + fieldSize(l.logStartOffset) + fieldSize(l.logEndOffset) + (data ? lengthDelimitedSize(data.length) : 0);
      if (data) {
        dataPartitions++;
        allocate ??= (p as Marked)[ENCODE_ALLOCATE];
      }
      partitions.push(l);
      last = l;
      lastHeadroom = (p as Marked)[READ_HEADROOM] ?? 0;
      length += lengthDelimitedSize(l.length);
    }
    topics.push({ name, nameBytes, partitions, length });
    total += lengthDelimitedSize(length);
  }

  // The records end the message and the headers fit in front of them: write there, copy nothing.
  const tail = last?.data ?? null;
  const headerBytes = tail ? total - tail.length : total;
  let out: Buffer;
  // Either way GRPC_FRAME_PREFIX_BYTES more in front when possible, for grpc-js's frame prefix
  // (grpc-zero-copy.ts: then grpc-js does not copy the message into a frame of its own either).
  let framable: boolean;
  if (tail && dataPartitions === 1 && headerBytes <= lastHeadroom) {
    out = Buffer.from(tail.buffer, tail.byteOffset - headerBytes, total);
    framable = headerBytes + GRPC_FRAME_PREFIX_BYTES <= lastHeadroom;
  } else {
    const withPrefix = total + GRPC_FRAME_PREFIX_BYTES;
    out = (allocate ? allocate(withPrefix) : Buffer.allocUnsafe(withPrefix)).subarray(GRPC_FRAME_PREFIX_BYTES);
    framable = true;
  }
  let pos = 0;
  for (const t of topics) {
    pos = writeLengthPrefix(out, pos, TAG_TOPICS, t.length);
    if (t.nameBytes > 0) pos = writeStringField(out, pos, TAG_TOPIC, t.name, t.nameBytes);
    for (const p of t.partitions) {
      pos = writeLengthPrefix(out, pos, TAG_PARTITIONS, p.length);
      pos = writeIntField(out, pos, TAG_PARTITION, p.partition);
      pos = writeIntField(out, pos, TAG_HIGH_WATERMARK, p.highWatermark);
      pos = writeIntField(out, pos, TAG_LOG_START_OFFSET, p.logStartOffset);
      pos = writeIntField(out, pos, TAG_LOG_END_OFFSET, p.logEndOffset);
      if (p.data) {
        pos = writeLengthPrefix(out, pos, recordBatchesTag, p.data.length);
        // In place (zero-copy case) the records are already here.
        if (p.data.buffer !== out.buffer || p.data.byteOffset !== out.byteOffset + pos) p.data.copy(out, pos);
        pos += p.data.length;
      }
    }
  }
  if (pos !== total) throw new Error(`response encoding wrote ${pos} of ${total} bytes`);
  if (framable) frameInPlace(out);
  return out;
}
