/**
 * Hand-written wire encoding of a FetchResponse whose partitions carry raw `record_batches` (the
 * SDK's path): the broker's serializer for Fetch and Consume answers (grpc-definitions.ts). The
 * encoding itself, and the READ_HEADROOM / AFTER_SERIALIZE marks that let it write the headers in
 * front of the records the broker read (no copy), are shared with the ReplicaFetch encoder: see
 * topic-results-encoder.ts. test/unit/protocol/fetch-response-encoder.test.ts checks the bytes
 * against protobufjs. A response with a partition error or decoded `records` is left to protobufjs
 * (encodeFetchResponse returns null).
 */
import type { FetchPartitionResult } from '../generated/ferry/v1/FetchPartitionResult.js';
import type { FetchResponse } from '../generated/ferry/v1/FetchResponse.js';
import { encodeTopicResults } from './topic-results-encoder.js';

export { AFTER_SERIALIZE, ENCODE_ALLOCATE, READ_HEADROOM, afterSerializeHooks, markReadBuffer } from './topic-results-encoder.js';

const TAG_RECORD_BATCHES = 0x32; // FetchPartitionResult.record_batches = 6, length-delimited

const plain = (p: FetchPartitionResult): boolean => !p.error && !(p.records && p.records.length > 0);

/** The wire bytes of `response`, or null when a partition has an error or decoded records. */
export function encodeFetchResponse(response: FetchResponse): Buffer | null {
  return encodeTopicResults(response, TAG_RECORD_BATCHES, plain);
}
