/**
 * The coordinator's inputs and outputs, independent of gRPC (the shapes follow
 * proto/ferry/v1/group.proto, camelCase, so the service maps them field for field).
 *
 * Every handler returns a CoordinatorResult: the answer, the records to append to the group's
 * __consumer_offsets partition (already applied to the in-memory state, in order), and events to log.
 * The caller must append the records, and answer only once they are durable.
 */
import type { FerryError } from '../protocol/errors.js';
import type { GroupStateName } from './group.js';
import type { CoordinatorRecord } from './records.js';
import type { TopicPartitionsList } from './topic-partitions.js';

export interface CoordinatorConfig {
  /** group.session.timeout.ms: used when a member does not ask for its own. */
  sessionTimeoutMs: number;
  /** group.heartbeat.interval.ms: told to members (capped at a third of their session timeout). */
  heartbeatIntervalMs: number;
  /** group.max.size: members per group. */
  maxGroupSize: number;
  /** offsets.retention.minutes, in ms: committed offsets of an empty group expire after this. */
  offsetsRetentionMs: number;
  /** group.consumer.assignors: the enabled server assignors; the first is the default. */
  assignors: readonly string[];
}

/** A structured log line: `msg` plus fields (group, member, epochs, partitions moved). */
export interface CoordinatorEvent {
  msg: string;
  group: string;
  level?: 'info' | 'warn';
  [field: string]: unknown;
}

export interface CoordinatorResult<T> {
  response: T;
  records: CoordinatorRecord[];
  events: CoordinatorEvent[];
}

export interface HeartbeatRequest {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  instanceId: string;
  rackId: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string;
  serverAssignor: string;
  ownedPartitions: TopicPartitionsList;
  subscriptionChanged: boolean;
  clientId?: string;
  clientHost?: string;
}

export interface HeartbeatResponse {
  memberId: string;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  hasAssignment: boolean;
  assignment: TopicPartitionsList;
}

export interface OffsetCommitInput {
  topic: string;
  partitions: Array<{ partition: number; offset: number; metadata: string; leaderEpoch: number }>;
}

export interface CommitRequest {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  topics: OffsetCommitInput[];
}

export interface CommitResponse {
  topics: Array<{ topic: string; partitions: Array<{ partition: number; error: FerryError | null }> }>;
}

export interface FetchedOffsets {
  topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: number; metadata: string; leaderEpoch: number }> }>;
}

export interface GroupListingOut {
  groupId: string;
  state: GroupStateName;
  members: number;
}

export interface MemberDescriptionOut {
  memberId: string;
  instanceId: string;
  clientId: string;
  clientHost: string;
  memberEpoch: number;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string;
  assignment: TopicPartitionsList;
  targetAssignment: TopicPartitionsList;
}

export interface GroupDescriptionOut {
  groupId: string;
  state: GroupStateName;
  groupEpoch: number;
  assignmentEpoch: number;
  assignor: string;
  members: MemberDescriptionOut[];
}
