/**
 * The Ferry TypeScript SDK, exported name by name. Imports only src/protocol and src/generated, so
 * it can ship as its own package.
 */
export { Ferry } from './ferry.js';
export { Producer } from './producer.js';
export { Consumer } from './consumer.js';
export { Admin } from './admin.js';
export { FerryError, ErrorCode, isRetriable } from '../protocol/errors.js';
export { ManualAssignment } from './assignment.js';
export type { AssignmentListener, AssignmentSource } from './assignment.js';
export { murmur2, partitionForKey, toPositive } from './murmur2.js';
export type { Partitioner } from './partitioner.js';
export { ConsumerRecord } from './types.js';
export type {
  Acks,
  AssignorName,
  AutoOffsetReset,
  BatchRecord,
  BrokerMetadata,
  ClusterMetadata,
  CommittedOffset,
  ConfigEntry,
  ConsumerHeader,
  ConsumerOptions,
  ConsumerTransport,
  EachBatchPayload,
  FerryOptions,
  GroupDescriptionInfo,
  GroupListingInfo,
  GroupMemberInfo,
  Logger,
  NewTopicSpec,
  OffsetResult,
  OffsetSpec,
  OffsetToCommit,
  PartitionDescription,
  PartitionLag,
  PartitionerName,
  PartitionMetadata,
  ProducerOptions,
  ProducerRecord,
  ProducerTransport,
  RebalanceListener,
  RecordMetadata,
  ResetTarget,
  RetryOptions,
  RevokeInfo,
  RunOptions,
  SeekTarget,
  Subscription,
  TopicDescription,
  TopicListing,
  TopicMetadata,
  TopicPartition,
  TopicPartitionOffset,
} from './types.js';
export type { HeaderInput } from '../protocol/record-builder.js';
