// The controller's metadata state machine and the brokers' metadata image (KRaft's model, sans-I/O).
// See docs/ARCHITECTURE.md, "Controller metadata".
export * from './metadata-records.js';
export * from './metadata-image.js';
export { MetadataDelta, applyBatch } from './metadata-delta.js';
export { applyEntries, decodeImage, encodeImage, imageFromSnapshot, imageToRecords, snapshotOf } from './metadata-loader.js';
export { localChanges, type LocalChanges, type LocalPartitionChange, type LocalRemoval } from './image-changes.js';
export { DEFAULT_CONTROLLER_CONFIG, eligibility, type ControllerConfig, type ControllerResult, type RequestContext } from './controller-types.js';
export { QuorumController, type QuorumControllerOptions, type TickResponse } from './controller.js';
export type { BrokerHeartbeatRequest, BrokerHeartbeatResponse, LeaderlessReplicaReport, RegisterBrokerRequest, RegisterBrokerResponse } from './cluster-control.js';
export type { RecoveredLeader } from './replication-control.js';
export { partitionPolicy, type AlterTopicConfigsRequest, type AlterTopicConfigsResponse } from './config-control.js';
export { alterPartitionErrorCode, type AlterPartitionRequest, type AlterPartitionResponse, type AlterPartitionResult } from './replication-control.js';
export type {
  CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicSpec, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
} from './topic-control.js';
export { MetadataStateMachine, type ImageListener } from './metadata-state-machine.js';
