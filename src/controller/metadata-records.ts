/**
 * The cluster metadata log's record types (KRaft's metadata records, KIP-631) and their encoding.
 *
 * Contract:
 *  - One Raft `command` entry = one **batch** of records, applied atomically and in order. The
 *    entry's Raft index is the batch's **offset**; a RegisterBroker's `brokerEpoch` is the offset of
 *    the batch holding it (KRaft: broker epoch = offset of the RegisterBrokerRecord), so it is unique
 *    and monotonic per cluster.
 *  - Records are facts, never requests: replay never validates against policy, only asserts
 *    invariants (a record that does not fit the image is a bug, it crashes). Every broker and every
 *    controller gets the same image from the same records.
 *  - Encoding: UTF-8 JSON `{"v":1,"r":[record, ...]}` (the Raft log stores opaque bytes). `v` is the
 *    encoding version; a reader refuses a newer one rather than guess. The `metadata.version`
 *    FeatureLevel record (written first by the first active controller) versions the semantics.
 *
 * PartitionChange carries the resulting epochs (not "bump" flags) so replay needs no rules of its
 * own: the controller computed the new registration with src/replication/isr and the record
 * states it; fields left out are unchanged.
 */
import { strict as assert } from 'node:assert';
import type { BrokerId } from '../replication/isr/index.js';

/** Encoding version of a batch / snapshot (the JSON shape). */
export const RECORD_ENCODING_VERSION = 1;
/** The feature that versions metadata semantics (KRaft's metadata.version). */
export const METADATA_VERSION_FEATURE = 'metadata.version';
export const METADATA_VERSION = 1;

export interface FeatureLevelRecord {
  type: 'FeatureLevel';
  name: string;
  level: number;
}

/** A broker (re)registered. A new incarnation replaces the previous registration of the same id. */
export interface RegisterBrokerRecord {
  type: 'RegisterBroker';
  brokerId: BrokerId;
  /** Random per process start: tells a restart from a retried registration. */
  incarnationId: string;
  /** The offset of this record's batch. Requests carry it; a stale one is fenced. */
  brokerEpoch: number;
  clusterId: string;
  /** Listener address brokers and clients connect to. */
  host: string;
  port: number;
  /** New registrations start fenced; snapshots restate the current value. */
  fenced: boolean;
  inControlledShutdown: boolean;
  /** DESIGN §3: restarted after an unclean shutdown and still recovering its logs: not electable, not an ISR candidate. */
  recovering: boolean;
}

export interface FenceBrokerRecord {
  type: 'FenceBroker';
  brokerId: BrokerId;
  brokerEpoch: number;
}

export interface UnfenceBrokerRecord {
  type: 'UnfenceBroker';
  brokerId: BrokerId;
  brokerEpoch: number;
}

/** Other registration flag changes (fields left out are unchanged). */
export interface BrokerRegistrationChangeRecord {
  type: 'BrokerRegistrationChange';
  brokerId: BrokerId;
  brokerEpoch: number;
  inControlledShutdown?: boolean;
  recovering?: boolean;
}

export interface TopicRecord {
  type: 'Topic';
  name: string;
  topicId: string;
  /** The controller's clock when created (informational: describe/list). */
  createdAtMs: number;
}

/** Removes the topic, its partitions and its config overrides. */
export interface RemoveTopicRecord {
  type: 'RemoveTopic';
  topicId: string;
}

export interface PartitionRecord {
  type: 'Partition';
  topicId: string;
  partition: number;
  replicas: BrokerId[];
  isr: BrokerId[];
  elr: BrokerId[];
  leader: BrokerId;
  leaderEpoch: number;
  partitionEpoch: number;
}

export interface PartitionChangeRecord {
  type: 'PartitionChange';
  topicId: string;
  partition: number;
  replicas?: BrokerId[];
  isr?: BrokerId[];
  elr?: BrokerId[];
  leader?: BrokerId;
  leaderEpoch: number;
  partitionEpoch: number;
}

/** A topic-level config override set (value) or removed (null). */
export interface ConfigRecord {
  type: 'Config';
  resourceType: 'topic';
  resourceName: string;
  name: string;
  value: string | null;
}

/** Written by a new active controller so its term has a committed entry of its own (and in tests, liveness). */
export interface NoOpRecord {
  type: 'NoOp';
}

export type MetadataRecord =
  | FeatureLevelRecord
  | RegisterBrokerRecord
  | FenceBrokerRecord
  | UnfenceBrokerRecord
  | BrokerRegistrationChangeRecord
  | TopicRecord
  | RemoveTopicRecord
  | PartitionRecord
  | PartitionChangeRecord
  | ConfigRecord
  | NoOpRecord;

export type MetadataRecordType = MetadataRecord['type'];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface EncodedBatch {
  v: number;
  r: readonly MetadataRecord[];
}

/** One Raft entry's payload. */
export function encodeBatch(records: readonly MetadataRecord[]): Uint8Array {
  assert.ok(records.length > 0, 'an empty batch is not proposed');
  return encoder.encode(JSON.stringify({ v: RECORD_ENCODING_VERSION, r: records } satisfies EncodedBatch));
}

export function decodeBatch(data: Uint8Array): readonly MetadataRecord[] {
  const parsed = JSON.parse(decoder.decode(data)) as EncodedBatch;
  assert.ok(parsed && typeof parsed === 'object' && Array.isArray(parsed.r), 'metadata batch: not a record batch');
  assert.ok(parsed.v === RECORD_ENCODING_VERSION, `metadata batch: encoding version ${parsed.v} is not supported (this build reads ${RECORD_ENCODING_VERSION})`);
  return parsed.r;
}
