/** The group coordinator: a sans-I/O state machine per __consumer_offsets partition, its records and assignors. */
export { GroupCoordinatorShard, OFFSET_EXPIRY_INTERVAL_MS } from './shard.js';
export type * from './api.js';
export { decodeRecord, encodeRecord, recordKey, type CoordinatorRecord } from './records.js';
export { CONSUMER_OFFSETS_TOPIC, groupPartition, javaStringHashCode } from './group-partition.js';
export { ASSIGNORS, DEFAULT_ASSIGNOR } from './assignors/index.js';
export { SESSION_TIMEOUT_MS_MIN, SESSION_TIMEOUT_MS_MAX } from './membership.js';
