/**
 * Hand-written wire encoding of a ReplicaFetchResponse (the leader's answer to a follower): the
 * broker's serializer for ReplicaService.ReplicaFetch (grpc-definitions.ts). Same encoder as the
 * consumer's FetchResponse (topic-results-encoder.ts): the leader reads records into pooled buffers
 * with headroom (src/server/replication/replica-service.ts) and the headers go in front of them, so
 * replication no longer costs a fresh buffer plus a protobufjs copy per fetch. Errors and diverging
 * epochs (rare, tiny answers) are left to protobufjs: encodeReplicaFetchResponse returns null.
 * test/unit/protocol/replica-fetch-response-encoder.test.ts checks the bytes against protobufjs.
 */
import type { ReplicaFetchPartitionResult } from '../generated/ferry/v1/ReplicaFetchPartitionResult.js';
import type { ReplicaFetchResponse } from '../generated/ferry/v1/ReplicaFetchResponse.js';
import { encodeTopicResults } from './topic-results-encoder.js';

const TAG_RECORD_BATCHES = 0x3a; // ReplicaFetchPartitionResult.record_batches = 7, length-delimited

const plain = (p: ReplicaFetchPartitionResult): boolean => !p.error && !p.divergingEpoch;

/** The wire bytes of `response`, or null when a partition has an error or a diverging epoch. */
export function encodeReplicaFetchResponse(response: ReplicaFetchResponse): Buffer | null {
  return encodeTopicResults(response, TAG_RECORD_BATCHES, plain);
}
