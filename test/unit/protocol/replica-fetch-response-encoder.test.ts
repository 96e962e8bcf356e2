import * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import type { ReplicaFetchResponse } from '../../../src/generated/ferry/v1/ReplicaFetchResponse.js';
import { loadFerryProto } from '../../../src/protocol/grpc-definitions.js';
import { GRPC_FRAME_PREFIX_BYTES } from '../../../src/protocol/grpc-zero-copy.js';
import { encodeReplicaFetchResponse } from '../../../src/protocol/replica-fetch-response-encoder.js';
import { answerServer, readResult, records, withHeadroom } from './read-buffer-answers.js';

const { packageDefinition, proto } = loadFerryProto();
const method = (packageDefinition['ferry.v1.ReplicaService'] as protoLoader.ServiceDefinition).ReplicaFetch!;
/** The follower's decoder (protobufjs through proto-loader). */
const decode = (buf: Buffer) => method.responseDeserialize(buf) as Record<string, unknown>;
/** protobufjs's own encoding of the same object (a plain object: no pre-encoded bytes). */
const protobufjsEncode = (r: ReplicaFetchResponse) => method.responseSerialize({ ...r });


describe('encodeReplicaFetchResponse', () => {
  const cases: Array<[string, ReplicaFetchResponse]> = [
    ['an empty response', { topics: [] }],
    ['a topic without partitions', { topics: [{ topic: 'idle', partitions: [] }] }],
    ['a partition without data (zero values omitted)', { topics: [{ topic: 't', partitions: [{ partition: 0, highWatermark: 0, logStartOffset: 0, logEndOffset: 0 }] }] }],
    ['one partition with data', { topics: [{ topic: 'orders', partitions: [{ partition: 3, highWatermark: 1234, logStartOffset: 17, logEndOffset: 1300, recordBatches: records(300) }] }] }],
    [
      'several topics and partitions, data in more than one',
      {
        topics: [
          { topic: 'a', partitions: [{ partition: 0, highWatermark: 5, logStartOffset: 0, logEndOffset: 5, recordBatches: records(10, 1) }, { partition: 1, highWatermark: 0, logEndOffset: 3 }] },
          { topic: 'ünïcødé-topic', partitions: [{ partition: 7, highWatermark: 2 ** 40, logStartOffset: 2 ** 33, logEndOffset: 2 ** 40 + 1, recordBatches: records(200, 2) }] },
          { topic: '', partitions: [{ partition: 2 }] },
        ],
      },
    ],
    ['unknown (-1) offsets and a large partition number', { topics: [{ topic: 't', partitions: [{ partition: 2 ** 31 - 1, highWatermark: -1, logStartOffset: -1, logEndOffset: -1 }] }] }],
    ['a record_batches field longer than 127 and 16383 bytes', { topics: [{ topic: 't', partitions: [{ partition: 1, highWatermark: 9, recordBatches: records(70_000) }] }] }],
    ['records as a Uint8Array', { topics: [{ topic: 't', partitions: [{ partition: 1, recordBatches: new Uint8Array([1, 2, 3]) }] }] }],
  ];

  for (const [name, response] of cases) {
    it(`decodes like protobufjs's encoding: ${name}`, () => {
      const ours = encodeReplicaFetchResponse(response)!;
      expect(ours).not.toBeNull();
      expect(ours.equals(protobufjsEncode(response))).toBe(true); // byte for byte: same field order, same omissions
      expect(decode(ours)).toEqual(decode(protobufjsEncode(response)));
    });
  }

  it('writes the headers into the headroom in front of the last partition\'s records: no copy', () => {
    const data = withHeadroom(records(5000, 9), 512);
    const response: ReplicaFetchResponse = {
      topics: [
        { topic: 'idle', partitions: [{ partition: 0, highWatermark: 4, logEndOffset: 4 }] },
        { topic: 'orders', partitions: [{ partition: 1, highWatermark: 2 }, readResult({ partition: 0, highWatermark: 10, logStartOffset: 1, logEndOffset: 12, recordBatches: data }, 512)] },
      ],
    };
    const out = encodeReplicaFetchResponse(response)!;
    expect(out.buffer).toBe(data.buffer);
    expect(out.byteOffset + out.length).toBe(data.byteOffset + data.length);
    expect(out.equals(protobufjsEncode(response))).toBe(true);
  });

  it('copies when the headroom is too small, absent, or the records are not the last field', () => {
    const small = withHeadroom(records(100), 4);
    const r1: ReplicaFetchResponse = { topics: [{ topic: 'a-topic-name', partitions: [readResult({ partition: 0, highWatermark: 1, recordBatches: small }, 4)] }] };
    const out1 = encodeReplicaFetchResponse(r1)!;
    expect(out1.buffer).not.toBe(small.buffer);
    expect(out1.equals(protobufjsEncode(r1))).toBe(true);

    const unmarked = withHeadroom(records(100, 4), 512);
    const r2: ReplicaFetchResponse = { topics: [{ topic: 't', partitions: [{ partition: 0, highWatermark: 1, recordBatches: unmarked }] }] };
    const out2 = encodeReplicaFetchResponse(r2)!;
    expect(out2.buffer).not.toBe(unmarked.buffer);
    expect(out2.equals(protobufjsEncode(r2))).toBe(true);

    const first = withHeadroom(records(100, 1), 512);
    const r3: ReplicaFetchResponse = { topics: [{ topic: 't', partitions: [readResult({ partition: 0, recordBatches: first }, 512), { partition: 1, highWatermark: 3 }] }] };
    const out3 = encodeReplicaFetchResponse(r3)!;
    expect(out3.buffer).not.toBe(first.buffer);
    expect(out3.equals(protobufjsEncode(r3))).toBe(true);
    expect(first.every((b) => b === 1)).toBe(true); // the source is never written to when copying
  });

  it('copies into the buffer the partitions were marked with when several carry records', () => {
    const arena = Buffer.alloc(64 * 1024);
    let used = 0;
    const allocate = (bytes: number) => arena.subarray(used, (used += bytes));
    const a = withHeadroom(records(3000, 1), 512);
    const b = withHeadroom(records(2000, 2), 512);
    const response: ReplicaFetchResponse = {
      topics: [
        { topic: 'a', partitions: [readResult({ partition: 0, highWatermark: 3, recordBatches: a }, 512, () => {}, allocate)] },
        { topic: 'b', partitions: [readResult({ partition: 1, highWatermark: 4, recordBatches: b }, 512, () => {}, allocate)] },
      ],
    };
    const out = encodeReplicaFetchResponse(response)!;
    expect(out.buffer).toBe(arena.buffer);
    expect(used).toBe(GRPC_FRAME_PREFIX_BYTES + out.length); // room for the gRPC frame prefix in front (grpc-zero-copy.ts)
    expect(out.equals(protobufjsEncode(response))).toBe(true);
  });

  it('leaves errors, diverging epochs and non-number int64s to protobufjs', () => {
    const error: ReplicaFetchResponse = { topics: [{ topic: 't', partitions: [{ partition: 0, error: { code: 'NOT_LEADER_OR_FOLLOWER', retriable: true, message: 'moved' } }] }] };
    const diverging: ReplicaFetchResponse = { topics: [{ topic: 't', partitions: [{ partition: 0, highWatermark: 5, divergingEpoch: { epoch: 3, endOffset: 40 } }] }] };
    const stringOffset: ReplicaFetchResponse = { topics: [{ topic: 't', partitions: [{ partition: 0, highWatermark: '5' }] }] };
    expect(encodeReplicaFetchResponse(error)).toBeNull();
    expect(encodeReplicaFetchResponse(diverging)).toBeNull();
    expect(encodeReplicaFetchResponse(stringOffset)).toBeNull();
  });
});

describe('ReplicaService.ReplicaFetch response serializer', () => {
  const serve = answerServer(proto.ferry.v1.ReplicaService as unknown as grpc.ServiceClientConstructor, 'ReplicaFetch', ['OffsetForLeaderEpoch']);

  it('encodes in place, then runs the after-serialize hook once; the follower decodes the same records', async () => {
    const events: string[] = [];
    const after = () => events.push('after');
    const data = withHeadroom(records(1000, 3), 512);
    const fetch = await serve((_call, callback) => {
      const partitions = [readResult({ partition: 4, highWatermark: 8 }, 512, after), readResult({ partition: 5, highWatermark: 9, recordBatches: data }, 512, after)];
      callback(null, { topics: [{ topic: 'replicated', partitions }] });
    });
    const res = (await fetch({})) as { topics: Array<{ topic: string; partitions: Array<{ partition: number; highWatermark: number; recordBatches: Buffer; divergingEpoch: unknown }> }> };
    expect(res).toMatchObject({ topics: [{ topic: 'replicated', partitions: [{ partition: 4, highWatermark: 8 }, { partition: 5, highWatermark: 9 }] }] });
    expect(res.topics[0]!.partitions[1]!.recordBatches.equals(records(1000, 3))).toBe(true);
    expect(res.topics[0]!.partitions[1]!.divergingEpoch).toBeNull();
    expect(events).toEqual(['after']);
  });

  it('still answers errors and diverging epochs through protobufjs', async () => {
    const fetch = await serve((_call, callback) =>
      callback(null, { topics: [{ topic: 't', partitions: [{ partition: 0, highWatermark: 7, divergingEpoch: { epoch: 2, endOffset: 30 } }, { partition: 1, error: { code: 'FENCED_LEADER_EPOCH', message: 'stale' } }] }] }),
    );
    const res = (await fetch({})) as { topics: Array<{ partitions: Array<{ divergingEpoch: unknown; error: { code: string } | null }> }> };
    expect(res.topics[0]!.partitions[0]!.divergingEpoch).toEqual({ epoch: 2, endOffset: 30 });
    expect(res.topics[0]!.partitions[1]!.error?.code).toBe('FENCED_LEADER_EPOCH');
  });
});
