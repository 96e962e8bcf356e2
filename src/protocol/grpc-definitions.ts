/**
 * Loads the ferry.v1 .proto contract once, with the options every Ferry process uses (camelCase
 * fields, int64 as JS numbers, enums as strings, defaults filled in). Broker and SDK both go through
 * here so their view of the wire is identical; src/generated holds the matching TypeScript types.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProtoGrpcType as AdminProto } from '../generated/admin.js';
import type { ProduceRequest } from '../generated/ferry/v1/ProduceRequest.js';
import type { ProduceStreamRequest } from '../generated/ferry/v1/ProduceStreamRequest.js';
import type { ProtoGrpcType as FetchProto } from '../generated/fetch.js';
import type { ProtoGrpcType as GroupProto } from '../generated/group.js';
import type { ProtoGrpcType as MetadataProto } from '../generated/metadata.js';
import type { ProtoGrpcType as ProduceProto } from '../generated/produce.js';
import { encodeFetchResponse } from './fetch-response-encoder.js';
import { malformedRequest } from './malformed-request.js';
import { encodeProduceRequest, encodeProduceStreamRequest, withConcatenatedParts, withConcatenatedStreamParts } from './produce-request-encoder.js';
import { encodeReplicaFetchResponse } from './replica-fetch-response-encoder.js';
import { AFTER_WRITE, installZeroCopyClientFraming, installZeroCopyServerFraming, isFramedInPlace } from './grpc-zero-copy.js';
import { afterSerializeHooks, type PartitionFields, type TopicResults } from './topic-results-encoder.js';

export const PROTO_FILES = [
  'ferry/v1/common.proto',
  'ferry/v1/metadata.proto',
  'ferry/v1/produce.proto',
  'ferry/v1/fetch.proto',
  'ferry/v1/admin.proto',
  'ferry/v1/group.proto',
  'ferry/v1/replication.proto',
  'ferry/v1/raft.proto',
  'ferry/v1/controller.proto',
];

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Finds proto/ whether running from src/ (tests) or dist/ (built). */
export function protoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'ferry', 'v1', 'common.proto'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('cannot find the proto/ directory next to the Ferry installation');
}

export type FerryProto = AdminProto & FetchProto & GroupProto & MetadataProto & ProduceProto & import('../generated/replication.js').ProtoGrpcType
  & import('../generated/raft.js').ProtoGrpcType & import('../generated/controller.js').ProtoGrpcType;

let cached: { packageDefinition: protoLoader.PackageDefinition; proto: FerryProto } | undefined;

export function loadFerryProto(): { packageDefinition: protoLoader.PackageDefinition; proto: FerryProto } {
  if (!cached) {
    const root = protoRoot();
    const packageDefinition = protoLoader.loadSync(PROTO_FILES, { ...LOADER_OPTIONS, includeDirs: [root] });
    installZeroCopyServerFraming();
    installZeroCopyClientFraming();
    shipPreEncodedResponses(packageDefinition, 'ferry.v1.FetchService', ['Fetch', 'Consume'], encodeFetchResponse);
    shipPreEncodedResponses(packageDefinition, 'ferry.v1.ReplicaService', ['ReplicaFetch'], encodeReplicaFetchResponse);
    encodeProduceRequestsByHand(packageDefinition);
    markMalformedRequests(packageDefinition);
    const proto = grpc.loadPackageDefinition(packageDefinition) as unknown as FerryProto;
    cached = { packageDefinition, proto };
  }
  return cached;
}

/**
 * FetchService answers (to consumers) and ReplicaFetch answers (to followers) go out through their
 * hand-written encoders (topic-results-encoder.ts: no copy of the records the broker read), falling
 * back to protobufjs. The partitions' AFTER_SERIALIZE hooks (which let the broker reuse the read
 * buffers) run once nothing reads those buffers any more:
 *  - when the encoder framed the answer in place (grpc-zero-copy.ts), grpc-js sends those very
 *    bytes, so the hooks wait for HTTP/2's write callback (AFTER_WRITE);
 *  - otherwise grpc-js copies the bytes into its own frame before its sendMessage returns, and
 *    the hooks run in a microtask.
 * test/unit/protocol/fetch-response-encoder.test.ts fails if either stops holding. Only the
 * response serializers change (the broker's side); the deserializers (SDK, follower) are untouched.
 */
function shipPreEncodedResponses<R extends TopicResults<PartitionFields>>(
  packageDefinition: protoLoader.PackageDefinition,
  serviceName: string,
  methods: readonly string[],
  encode: (response: R) => Buffer | null,
): void {
  const service = packageDefinition[serviceName] as protoLoader.ServiceDefinition;
  for (const method of methods) {
    const def = service[method]!;
    const serialize = def.responseSerialize;
    def.responseSerialize = (message: object): Buffer => {
      const value = message as R;
      const bytes = encode(value) ?? serialize(value);
      const hooks = afterSerializeHooks(value);
      if (hooks.length > 0 && isFramedInPlace(bytes)) {
        // Sent without a copy: the read buffers are in use until HTTP/2 has written the frame.
        Object.defineProperty(value, AFTER_WRITE, { value: () => hooks.forEach((hook) => hook()), configurable: true });
      } else {
        for (const hook of hooks) queueMicrotask(hook);
      }
      return bytes;
    };
  }
}

/**
 * The SDK's Produce and ProduceStream requests go out through encodeProduceRequest /
 * encodeProduceStreamRequest (produce-request-encoder.ts: each batch copied once, straight into the
 * message), falling back to protobufjs. Only the request serializers change (the SDK's side); the
 * broker's deserializers are untouched. `serializeProduceStreamRequest` is the ProduceStream one.
 */
function encodeProduceRequestsByHand(packageDefinition: protoLoader.PackageDefinition): void {
  const service = packageDefinition['ferry.v1.ProduceService'] as protoLoader.ServiceDefinition;
  const unaryDef = service.Produce!;
  const serialize = unaryDef.requestSerialize;
  unaryDef.requestSerialize = (value: ProduceRequest): Buffer => encodeProduceRequest(value) ?? serialize(withConcatenatedParts(value));
  const streamDef = service.ProduceStream!;
  const serializeStream = streamDef.requestSerialize;
  // The SDK serializes each stream request when it sends it (a Buffer passes through here
  // unchanged): grpc-js would serialize a write that waits behind flow control only when its turn
  // comes, by which time the batch buffers it points at may have been recycled (sender.ts).
  streamDef.requestSerialize = (value: ProduceStreamRequest | Buffer): Buffer =>
    Buffer.isBuffer(value) ? value : (encodeProduceStreamRequest(value) ?? serializeStream(withConcatenatedStreamParts(value)));
}

/** ProduceStreamRequest → its wire bytes, as the ProduceStream request serializer encodes it. */
export function serializeProduceStreamRequest(message: ProduceStreamRequest): Buffer {
  const def = (loadFerryProto().packageDefinition['ferry.v1.ProduceService'] as protoLoader.ServiceDefinition).ProduceStream!;
  return def.requestSerialize(message);
}

/** The one client-streaming method whose handler checks each message for the malformed marker. */
const MARKED_REQUEST_STREAM = '/ferry.v1.ProduceService/ProduceStream';

/**
 * The broker's request deserializers hand an undecodable request to its handler as a marker
 * (malformed-request.ts) instead of throwing, so the answer is a typed INVALID_REQUEST rather than
 * grpc-js's bare INTERNAL. Only methods whose handlers check the marker (unary.ts, the Consume
 * stream, each message of ProduceStream); other client-streaming methods (the Raft stream between
 * quorum members) keep grpc-js's own handling.
 */
function markMalformedRequests(packageDefinition: protoLoader.PackageDefinition): void {
  for (const [name, service] of Object.entries(packageDefinition)) {
    if (!name.startsWith('ferry.v1.') || !name.endsWith('Service') || name === 'ferry.v1.RaftService') continue;
    for (const def of Object.values(service as protoLoader.ServiceDefinition)) {
      if (def.requestStream && def.path !== MARKED_REQUEST_STREAM) continue;
      const deserialize = def.requestDeserialize;
      def.requestDeserialize = (bytes: Buffer) => {
        try {
          return deserialize(bytes);
        } catch (err) {
          return malformedRequest(err);
        }
      };
    }
  }
}
