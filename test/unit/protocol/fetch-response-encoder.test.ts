import * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import type { FetchResponse } from '../../../src/generated/ferry/v1/FetchResponse.js';
import { encodeFetchResponse } from '../../../src/protocol/fetch-response-encoder.js';
import { loadFerryProto } from '../../../src/protocol/grpc-definitions.js';
import { zeroCopyFramingInstalled } from '../../../src/protocol/grpc-zero-copy.js';
import { answerServer, readResult, records, withHeadroom } from './read-buffer-answers.js';

const { packageDefinition, proto } = loadFerryProto();
const fetchMethod = (packageDefinition['ferry.v1.FetchService'] as protoLoader.ServiceDefinition).Fetch!;
/** The SDK's decoder (protobufjs through proto-loader). */
const decode = (buf: Buffer) => fetchMethod.responseDeserialize(buf) as Record<string, unknown>;
/** protobufjs's own encoding of the same object (a plain object: no pre-encoded bytes). */
const protobufjsEncode = (r: FetchResponse) => fetchMethod.responseSerialize({ ...r });


describe('encodeFetchResponse', () => {
  const cases: Array<[string, FetchResponse]> = [
    ['an empty response', { topics: [] }],
    ['a partition without data', { topics: [{ topic: 't', partitions: [{ partition: 0, highWatermark: 0, logStartOffset: 0, logEndOffset: 0 }] }] }],
    ['one partition with data', { topics: [{ topic: 'orders', partitions: [{ partition: 3, highWatermark: 1234, logStartOffset: 17, logEndOffset: 1300, recordBatches: records(300) }] }] }],
    [
      'several topics and partitions, data in more than one',
      {
        topics: [
          { topic: 'a', partitions: [{ partition: 0, highWatermark: 5, logStartOffset: 0, logEndOffset: 5, recordBatches: records(10, 1) }, { partition: 1, highWatermark: 0 }] },
          { topic: 'ünïcødé-topic', partitions: [{ partition: 7, highWatermark: 2 ** 40, logStartOffset: 2 ** 33, logEndOffset: 2 ** 40 + 1, recordBatches: records(200, 2) }] },
        ],
      },
    ],
    ['unknown (-1) offsets and a large partition number', { topics: [{ topic: 't', partitions: [{ partition: 2 ** 31 - 1, highWatermark: -1, logStartOffset: -1, logEndOffset: -1 }] }] }],
    ['a record_batches field longer than 127 and 16383 bytes', { topics: [{ topic: 't', partitions: [{ partition: 1, highWatermark: 9, recordBatches: records(70_000) }] }] }],
  ];

  for (const [name, response] of cases) {
    it(`decodes like protobufjs's encoding: ${name}`, () => {
      const ours = encodeFetchResponse(response)!;
      expect(ours).not.toBeNull();
      expect(decode(ours)).toEqual(decode(protobufjsEncode(response)));
    });
  }

  it('writes the headers into the headroom in front of the last partition\'s records: no copy', () => {
    const data = withHeadroom(records(5000, 9), 512);
    const response: FetchResponse = { topics: [{ topic: 'orders', partitions: [readResult({ partition: 0, highWatermark: 10, logEndOffset: 10, recordBatches: data }, 512)] }] };
    const out = encodeFetchResponse(response)!;
    expect(out.buffer).toBe(data.buffer);
    expect(out.byteOffset + out.length).toBe(data.byteOffset + data.length);
    expect(decode(out)).toEqual(decode(protobufjsEncode(response)));
  });

  it('copies when the headroom is too small or the records are not the last field', () => {
    const small = withHeadroom(records(100), 4);
    const r1: FetchResponse = { topics: [{ topic: 'a-topic-name', partitions: [readResult({ partition: 0, highWatermark: 1, recordBatches: small }, 4)] }] };
    const out1 = encodeFetchResponse(r1)!;
    expect(out1.buffer).not.toBe(small.buffer);
    expect(decode(out1)).toEqual(decode(protobufjsEncode(r1)));

    const first = withHeadroom(records(100, 1), 512);
    const r2: FetchResponse = { topics: [{ topic: 't', partitions: [readResult({ partition: 0, recordBatches: first }, 512), { partition: 1, highWatermark: 3 }] }] };
    const out2 = encodeFetchResponse(r2)!;
    expect(out2.buffer).not.toBe(first.buffer);
    expect(decode(out2)).toEqual(decode(protobufjsEncode(r2)));
    expect(first.every((b) => b === 1)).toBe(true); // the source is never written to when copying
  });

  it('leaves errors and decoded records to protobufjs', () => {
    const withError: FetchResponse = { topics: [{ topic: 't', partitions: [{ partition: 0, error: { code: 'NOT_LEADER_OR_FOLLOWER', retriable: true, message: 'moved' } }] }] };
    const withRecords: FetchResponse = { topics: [{ topic: 't', partitions: [{ partition: 0, records: [{ offset: 1, timestamp: 2, value: Buffer.from('v') }] }] }] };
    expect(encodeFetchResponse(withError)).toBeNull();
    expect(encodeFetchResponse(withRecords)).toBeNull();
  });
});

describe('FetchService response serializer', () => {
  const serve = answerServer(proto.ferry.v1.FetchService as unknown as grpc.ServiceClientConstructor, 'Fetch', ['Consume', 'ListOffsets']);

  it('encodes without copying the records, then runs each after-serialize hook once', async () => {
    const events: string[] = [];
    const after = () => events.push('after');
    const data = withHeadroom(records(1000, 3), 512);
    const fetch = await serve((_call, callback) => {
      const partitions = [readResult({ partition: 4, highWatermark: 8 }, 512, after), readResult({ partition: 5, highWatermark: 9, recordBatches: data }, 512, after)];
      callback(null, { topics: [{ topic: 'encoded', partitions }] });
    });
    const res = await fetch({});
    expect(res).toMatchObject({ topics: [{ topic: 'encoded', partitions: [{ partition: 4, highWatermark: 8 }, { partition: 5, highWatermark: 9 }] }] });
    expect((res as any).topics[0].partitions[1].recordBatches.equals(records(1000, 3))).toBe(true);
    expect(events).toEqual(['after']);
  });

  // The broker reuses a response's read buffers once AFTER_SERIALIZE ran (src/server/fetch-buffers.ts).
  // With zero-copy framing grpc-js sends those very bytes, so the hook must wait for HTTP/2's
  // write callback; this fails if it runs while the frame is still being sent (3 MiB against the
  // client's 64 KiB window takes many round trips).
  it('nothing reads the serialized bytes any more when the after-serialize hook runs', async () => {
    const data = withHeadroom(records(3 << 20, 0x5a), 512);
    const fetch = await serve((_call, callback) => {
      // The hook does what a reuse of the buffer would do.
      const partition = readResult({ partition: 0, highWatermark: 1, recordBatches: data }, 512, () => data.fill(0));
      callback(null, { topics: [{ topic: 't', partitions: [partition] }] });
    });
    const res = (await fetch({})) as { topics: Array<{ partitions: Array<{ recordBatches: Buffer }> }> };
    const got = res.topics[0]!.partitions[0]!.recordBatches;
    expect(got.length).toBe(3 << 20);
    expect(got.every((b) => b === 0x5a)).toBe(true);
    expect(data[0]).toBe(0); // the hook did run
  });

  it('sends the read buffer itself as the gRPC frame (no copy by grpc-js)', async () => {
    expect(zeroCopyFramingInstalled()).toBe(true); // fails if the installed grpc-js no longer takes the patch
    const data = withHeadroom(records(3 << 20, 0x5a), 512);
    const fetch = await serve((_call, callback) => {
      callback(null, { topics: [{ topic: 't', partitions: [readResult({ partition: 0, highWatermark: 1, recordBatches: data }, 512)] }] });
      // Still being sent (flow control): a change now reaches the client, so nothing was copied.
      data.fill(0x11, data.length - 1024);
    });
    const res = (await fetch({})) as { topics: Array<{ partitions: Array<{ recordBatches: Buffer }> }> };
    const got = res.topics[0]!.partitions[0]!.recordBatches;
    expect(got.subarray(0, got.length - 1024).every((b) => b === 0x5a)).toBe(true);
    expect(got.subarray(got.length - 1024).every((b) => b === 0x11)).toBe(true);
  });

  it('serializes plain response objects with protobufjs as before', async () => {
    const fetch = await serve((_call, callback) => callback(null, { topics: [{ topic: 'plain', partitions: [{ partition: 1, highWatermark: 2, recordBatches: Buffer.from('xyz') }] }] }));
    const res = (await fetch({})) as { topics: Array<{ topic: string; partitions: Array<{ recordBatches: Buffer }> }> };
    expect(res.topics[0]!.topic).toBe('plain');
    expect(res.topics[0]!.partitions[0]!.recordBatches.toString()).toBe('xyz');
  });
});
