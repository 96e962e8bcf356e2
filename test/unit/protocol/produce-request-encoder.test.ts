import type * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import type { ProduceRequest } from '../../../src/generated/ferry/v1/ProduceRequest.js';
import { loadFerryProto } from '../../../src/protocol/grpc-definitions.js';
import { GRPC_FRAME_PREFIX_BYTES, isFramedInPlace, zeroCopyClientFramingInstalled } from '../../../src/protocol/grpc-zero-copy.js';
import {
  encodeProduceRequest,
  encodeProduceStreamRequest,
  RECORD_BATCH_PARTS,
  withConcatenatedParts,
  withConcatenatedStreamParts,
  type PartitionProduceParts,
} from '../../../src/protocol/produce-request-encoder.js';
import { serializeProduceStreamRequest } from '../../../src/protocol/grpc-definitions.js';
import { encodeRecordBatch } from '../../../src/protocol/record-builder.js';

const { packageDefinition } = loadFerryProto();
const produceMethod = (packageDefinition['ferry.v1.ProduceService'] as protoLoader.ServiceDefinition).Produce!;
/** The broker's decoder (protobufjs through proto-loader). */
const decode = (buf: Buffer) => produceMethod.requestDeserialize(buf) as Record<string, unknown>;
const streamMethod = (packageDefinition['ferry.v1.ProduceService'] as protoLoader.ServiceDefinition).ProduceStream!;
const decodeStream = (buf: Buffer) => streamMethod.requestDeserialize(buf) as Record<string, unknown>;

const batch = (n: number, fill: number) => encodeRecordBatch(Array.from({ length: n }, (_, i) => ({ value: Buffer.alloc(100 + i, fill), timestamp: 1_700_000_000_000 + i })));
const parts = (p: number, ...bufs: Buffer[]): PartitionProduceParts => ({ partition: p, [RECORD_BATCH_PARTS]: bufs });

const cases: Array<[string, ProduceRequest]> = [
  ['no topics', { acks: 1, timeoutMs: 30_000, topics: [] }],
  ['acks=all (-1) and one batch as recordBatch', { acks: -1, timeoutMs: 5000, topics: [{ topic: 'orders', partitions: [{ partition: 3, recordBatch: batch(3, 1) }] }] }],
  ['acks=0, partition 0, an empty partition', { acks: 0, timeoutMs: 0, topics: [{ topic: 't', partitions: [{ partition: 0, recordBatch: batch(1, 2) }, { partition: 1 }] }] }],
  [
    'several topics, batches as parts (concatenated on the wire)',
    {
      acks: -1,
      timeoutMs: 30_000,
      topics: [
        { topic: 'a', partitions: [parts(0, batch(2, 3), batch(5, 4)), parts(7, batch(1, 5))] },
        { topic: 'ünïcødé', partitions: [parts(2 ** 31 - 1, batch(40, 6), batch(40, 7), batch(1, 8))] },
      ],
    },
  ],
];

describe('encodeProduceRequest', () => {
  for (const [name, request] of cases) {
    it(`decodes like protobufjs's encoding: ${name}`, () => {
      const ours = encodeProduceRequest(request)!;
      expect(ours).not.toBeNull();
      const expected = decode(produceMethod.requestSerialize(withConcatenatedParts(request)));
      expect(decode(ours)).toEqual(expected);
    });
  }

  it('sends parts as one record_batch: the batches back to back', () => {
    const b1 = batch(2, 1);
    const b2 = batch(3, 2);
    const got = decode(encodeProduceRequest({ acks: 1, timeoutMs: 1, topics: [{ topic: 't', partitions: [parts(0, b1, b2)] }] })!) as any;
    expect(got.topics[0].partitions[0].recordBatch.equals(Buffer.concat([b1, b2]))).toBe(true);
  });

  it("is framed in place: gRPC's 5-byte prefix sits in front, so grpc-js sends this buffer without copying it", () => {
    expect(zeroCopyClientFramingInstalled()).toBe(true); // fails if the installed grpc-js no longer takes the patch
    for (const out of [encodeProduceRequest(cases[0]![1])!, encodeProduceStreamRequest({ correlationId: 7, request: cases[0]![1] })!]) {
      expect(isFramedInPlace(out)).toBe(true);
      const prefix = Buffer.from(out.buffer, out.byteOffset - GRPC_FRAME_PREFIX_BYTES, GRPC_FRAME_PREFIX_BYTES);
      expect(prefix[0]).toBe(0); // not compressed
      expect(prefix.readUInt32BE(1)).toBe(out.length);
    }
  });

  it('leaves the simple path (records) to protobufjs, and the wrapped serializer still sends it', () => {
    const simple: ProduceRequest = { acks: 1, timeoutMs: 1, topics: [{ topic: 't', partitions: [{ partition: 0, records: [{ value: Buffer.from('v'), timestamp: 5 }] }] }] };
    expect(encodeProduceRequest(simple)).toBeNull();
    const viaSerializer = decode(produceMethod.requestSerialize(simple)) as any;
    expect(viaSerializer.topics[0].partitions[0].records[0].value.toString()).toBe('v');
    // And parts survive the fallback: the serializer concatenates them for protobufjs.
    const mixed = { acks: 1, timeoutMs: 1, topics: [{ topic: 't', partitions: [parts(1, batch(1, 9)), { partition: 0, records: [{ value: Buffer.from('v'), timestamp: 5 }] }] }] };
    const decoded = decode(produceMethod.requestSerialize(mixed)) as any;
    expect(decoded.topics[0].partitions[0].recordBatch.equals(batch(1, 9))).toBe(true);
  });
});

describe('encodeProduceStreamRequest', () => {
  for (const [name, request] of cases) {
    for (const correlationId of [1, 300, 2 ** 53 - 1]) {
      it(`decodes like protobufjs's encoding: ${name}, correlation id ${correlationId}`, () => {
        const message = { correlationId, request };
        const ours = encodeProduceStreamRequest(message)!;
        expect(ours).not.toBeNull();
        const expected = decodeStream(streamMethod.requestSerialize(withConcatenatedStreamParts(message)));
        expect(decodeStream(ours)).toEqual(expected);
        expect((decodeStream(ours) as any).correlationId).toBe(correlationId);
      });
    }
  }

  it('the request inside is byte for byte what encodeProduceRequest writes', () => {
    const request = cases[3]![1];
    const inner = encodeProduceRequest(request)!;
    const outer = encodeProduceStreamRequest({ correlationId: 7, request })!;
    expect(outer.subarray(outer.length - inner.length).equals(inner)).toBe(true);
  });

  it('the SDK serializes before sending; a Buffer passes the stream serializer unchanged', () => {
    const message = { correlationId: 9, request: cases[1]![1] };
    const bytes = serializeProduceStreamRequest(message);
    expect(bytes.equals(encodeProduceStreamRequest(message)!)).toBe(true);
    expect(streamMethod.requestSerialize(bytes)).toBe(bytes);
  });

  it('leaves the simple path and odd correlation ids to protobufjs, which the serializer still uses', () => {
    const simple: ProduceRequest = { acks: 1, timeoutMs: 1, topics: [{ topic: 't', partitions: [parts(1, batch(1, 9)), { partition: 0, records: [{ value: Buffer.from('v'), timestamp: 5 }] }] }] };
    expect(encodeProduceStreamRequest({ correlationId: 1, request: simple })).toBeNull();
    expect(encodeProduceStreamRequest({ correlationId: -1, request: cases[0]![1] })).toBeNull();
    const decoded = decodeStream(serializeProduceStreamRequest({ correlationId: 3, request: simple })) as any;
    expect(decoded.correlationId).toBe(3);
    expect(decoded.request.topics[0].partitions[0].recordBatch.equals(batch(1, 9))).toBe(true);
    expect(decoded.request.topics[0].partitions[1].records[0].value.toString()).toBe('v');
  });
});
