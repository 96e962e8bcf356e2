/**
 * Hand-written wire encoding of the SDK's ProduceRequest and ProduceStreamRequest: the producer's
 * request serializers for Produce and ProduceStream (grpc-definitions.ts).
 *
 * A request carries many batches of each partition (with 1 KiB values, ~64 batches of 16 KiB per
 * 1 MiB request). The sender used to Buffer.concat them into `record_batch`, protobufjs then copied
 * that into its message buffer, and grpc-js copied the message into its frame: three copies and
 * three allocations of every byte. Here a partition may instead list its batches in
 * RECORD_BATCH_PARTS, and each is copied once, straight into the message; grpc-js's framing copy
 * is the only other one.
 *
 * The bytes are standard proto3 for ferry.v1.ProduceRequest (fields in field-number order, zero
 * values omitted), decoded by the broker's protobufjs; test/unit/protocol/produce-request-encoder.test.ts
 * checks them against protobufjs. A ProduceStreamRequest is the correlation id plus the same
 * ProduceRequest bytes written in place, so the batches are still copied once. A request using the
 * simple path (`records`) is left to protobufjs (the encoders return null).
 */
import { frameInPlace, GRPC_FRAME_PREFIX_BYTES } from './grpc-zero-copy.js';
import type { PartitionProduceData } from '../generated/ferry/v1/PartitionProduceData.js';
import type { ProduceRequest } from '../generated/ferry/v1/ProduceRequest.js';
import type { ProduceStreamRequest } from '../generated/ferry/v1/ProduceStreamRequest.js';
import { fieldSize, lengthDelimitedSize, writeIntField, writeLengthPrefix, writeStringField } from './proto-wire.js';

/** On a PartitionProduceData: its record_batch as consecutive parts (whole batches), not yet concatenated. */
export const RECORD_BATCH_PARTS: unique symbol = Symbol.for('ferry.v1.PartitionProduceData.recordBatchParts');

export type PartitionProduceParts = PartitionProduceData & { [RECORD_BATCH_PARTS]?: readonly Buffer[] };

const TAG_ACKS = 0x08; // ProduceRequest.acks = 1, varint
const TAG_TIMEOUT_MS = 0x10; // = 2
const TAG_TOPICS = 0x1a; // = 3, length-delimited
const TAG_TOPIC = 0x0a; // TopicProduceData.topic = 1
const TAG_PARTITIONS = 0x12; // TopicProduceData.partitions = 2
const TAG_PARTITION = 0x08; // PartitionProduceData.partition = 1, varint
const TAG_RECORD_BATCH = 0x12; // PartitionProduceData.record_batch = 2, length-delimited
const TAG_CORRELATION_ID = 0x08; // ProduceStreamRequest.correlation_id = 1, varint
const TAG_STREAM_REQUEST = 0x12; // ProduceStreamRequest.request = 2, length-delimited

/** The record_batch parts of a partition (empty for none), or null for a form left to protobufjs. */
function partsOf(p: PartitionProduceParts): readonly Buffer[] | null {
  const parts = p[RECORD_BATCH_PARTS];
  if (parts) return parts;
  const b = p.recordBatch;
  if (b === undefined || b === null) return [];
  if (typeof b === 'string') return null;
  return b.length === 0 ? [] : [Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)];
}

interface PartitionLayout {
  partition: number;
  parts: readonly Buffer[];
  dataBytes: number;
  length: number;
}

/** What sizing a ProduceRequest found: enough to write it without looking at the request again. */
interface RequestLayout {
  acks: number;
  timeoutMs: number;
  topics: Array<{ name: string; nameBytes: number; partitions: PartitionLayout[]; length: number }>;
  /** Bytes of the encoded ProduceRequest. */
  total: number;
}

/** Sizes `request`; null when it uses `records` or a form only protobufjs handles. */
function layoutOf(request: ProduceRequest): RequestLayout | null {
  const acks = request.acks ?? 0;
  const timeoutMs = request.timeoutMs ?? 0;
  if (!Number.isInteger(acks) || !Number.isInteger(timeoutMs)) return null;
  const topics: RequestLayout['topics'] = [];
  let total = fieldSize(acks) + fieldSize(timeoutMs);
  for (const t of request.topics ?? []) {
    const name = t.topic ?? '';
    const nameBytes = Buffer.byteLength(name);
    let length = nameBytes > 0 ? lengthDelimitedSize(nameBytes) : 0;
    const partitions: PartitionLayout[] = [];
    for (const p of t.partitions ?? []) {
      if (p.records && p.records.length > 0) return null;
      const parts = partsOf(p);
      const partition = p.partition ?? 0;
      if (parts === null || !Number.isInteger(partition)) return null;
      let dataBytes = 0;
      for (const part of parts) dataBytes += part.length;
      const l: PartitionLayout = { partition, parts, dataBytes, length: fieldSize(partition) + (dataBytes > 0 ? lengthDelimitedSize(dataBytes) : 0) };
      partitions.push(l);
      length += lengthDelimitedSize(l.length);
    }
    topics.push({ name, nameBytes, partitions, length });
    total += lengthDelimitedSize(length);
  }
  return { acks, timeoutMs, topics, total };
}

/** Writes the request `layout` describes at `pos` (the batches' one copy); returns the position after it. */
function writeRequest(out: Buffer, pos: number, layout: RequestLayout): number {
  pos = writeIntField(out, pos, TAG_ACKS, layout.acks);
  pos = writeIntField(out, pos, TAG_TIMEOUT_MS, layout.timeoutMs);
  for (const t of layout.topics) {
    pos = writeLengthPrefix(out, pos, TAG_TOPICS, t.length);
    if (t.nameBytes > 0) pos = writeStringField(out, pos, TAG_TOPIC, t.name, t.nameBytes);
    for (const p of t.partitions) {
      pos = writeLengthPrefix(out, pos, TAG_PARTITIONS, p.length);
      pos = writeIntField(out, pos, TAG_PARTITION, p.partition);
      if (p.dataBytes > 0) {
        pos = writeLengthPrefix(out, pos, TAG_RECORD_BATCH, p.dataBytes);
        for (const part of p.parts) pos += part.copy(out, pos);
      }
    }
  }
  return pos;
}

/** A fresh buffer of `bytes` with room for gRPC's frame prefix in front (grpc-zero-copy.ts). */
function withFramePrefixRoom(bytes: number): Buffer {
  return Buffer.allocUnsafe(GRPC_FRAME_PREFIX_BYTES + bytes).subarray(GRPC_FRAME_PREFIX_BYTES);
}

/** The wire bytes of `request`, or null when it uses `records` or a form only protobufjs handles. */
export function encodeProduceRequest(request: ProduceRequest): Buffer | null {
  const layout = layoutOf(request);
  if (!layout) return null;
  const out = withFramePrefixRoom(layout.total);
  const pos = writeRequest(out, 0, layout);
  if (pos !== layout.total) throw new Error(`ProduceRequest encoding wrote ${pos} of ${layout.total} bytes`);
  frameInPlace(out);
  return out;
}

/**
 * The wire bytes of a ProduceStreamRequest (the ProduceStream request serializer): the correlation
 * id, then the ProduceRequest written in place, so its batches are still copied once. Null as for
 * encodeProduceRequest (also for a correlation id that is not a safe non-negative integer).
 */
export function encodeProduceStreamRequest(message: ProduceStreamRequest): Buffer | null {
  const correlationId = message.correlationId ?? 0;
  if (typeof correlationId !== 'number' || !Number.isSafeInteger(correlationId) || correlationId < 0) return null;
  const layout = message.request ? layoutOf(message.request) : null;
  if (!layout) return null;
  const total = fieldSize(correlationId) + lengthDelimitedSize(layout.total);
  const out = withFramePrefixRoom(total);
  let pos = writeIntField(out, 0, TAG_CORRELATION_ID, correlationId);
  pos = writeLengthPrefix(out, pos, TAG_STREAM_REQUEST, layout.total);
  pos = writeRequest(out, pos, layout);
  if (pos !== total) throw new Error(`ProduceStreamRequest encoding wrote ${pos} of ${total} bytes`);
  frameInPlace(out);
  return out;
}

/** `message` with its request's RECORD_BATCH_PARTS concatenated (for protobufjs). */
export function withConcatenatedStreamParts(message: ProduceStreamRequest): ProduceStreamRequest {
  return message.request ? { ...message, request: withConcatenatedParts(message.request) } : message;
}

/** `request` with every RECORD_BATCH_PARTS concatenated into `recordBatch` (for protobufjs). */
export function withConcatenatedParts(request: ProduceRequest): ProduceRequest {
  return {
    ...request,
    topics: (request.topics ?? []).map((t) => ({
      ...t,
      partitions: (t.partitions ?? []).map((p: PartitionProduceParts) => {
        const parts = p[RECORD_BATCH_PARTS];
        return parts ? { ...p, recordBatch: Buffer.concat(parts) } : p;
      }),
    })),
  };
}
