/**
 * Topic lifecycle on the controller (KRaft's ReplicationControlManager, the createTopics /
 * deleteTopics / createPartitions half): validation as the single-node TopicManager does it (names,
 * partition counts, configs), plus what a cluster adds — the replication factor must fit the
 * eligible brokers, and replicas are placed with src/replication/isr/placement.ts (spread, preferred
 * leaders rotating over the brokers so leadership is balanced).
 *
 * Records for a new topic: Topic, its Config overrides, then one Partition per partition with
 * ISR = replicas, leader = replicas[0], epochs 0. Deleting writes RemoveTopic (replay drops
 * partitions and overrides). Each request item succeeds or fails on its own; a failed item writes
 * nothing. `validateOnly` validates and writes nothing.
 *
 * Randomness (topic ids, the placement's start/shift) comes from the injected Random, and what it
 * decided is in the records, so replay never needs it.
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';
import type { Random } from '../replication/raft/index.js';
import { placeReplicas, type BrokerId } from '../replication/isr/index.js';
import { isInternalTopic, validateTopicName, validateUserTopicName } from '../config/topic-names.js';
import { validateTopicOverrides } from './config-control.js';
import { eligibility, type ControllerConfig, type MetadataBatch } from './controller-types.js';
import type { MetadataView } from './metadata-image.js';

export interface CreateTopicSpec {
  name: string;
  /** ≤ 0 or absent: num.partitions */
  partitions?: number;
  /** ≤ 0 or absent: default.replication.factor */
  replicationFactor?: number;
  configs?: Record<string, string>;
  /** Allows the reserved "__" prefix (the broker creating __consumer_offsets). */
  internal?: boolean;
}

export interface CreateTopicsRequest {
  topics: CreateTopicSpec[];
  validateOnly?: boolean;
}

export interface CreateTopicResult {
  name: string;
  error: FerryError | null;
  /** '' when validateOnly or failed */
  topicId: string;
  partitions: number;
  replicationFactor: number;
}

export interface CreateTopicsResponse {
  topics: CreateTopicResult[];
}

export interface DeleteTopicsRequest {
  names: string[];
}

export interface DeleteTopicsResponse {
  topics: Array<{ name: string; error: FerryError | null }>;
}

export interface CreatePartitionsRequest {
  topics: Array<{ name: string; count: number }>;
  validateOnly?: boolean;
}

export interface CreatePartitionsResponse {
  topics: Array<{ name: string; error: FerryError | null }>;
}

/** A random version-4 UUID from the injected Random (seeded in tests and simulations). */
export function newTopicId(random: Random): string {
  const hex: string[] = [];
  for (let i = 0; i < 16; i++) {
    let byte = random.nextInt(256);
    if (i === 6) byte = (byte & 0x0f) | 0x40;
    if (i === 8) byte = (byte & 0x3f) | 0x80;
    hex.push(byte.toString(16).padStart(2, '0'));
  }
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Brokers a new replica may be placed on: registered, unfenced, not shutting down, not recovering. */
export function placeableBrokers(view: MetadataView): BrokerId[] {
  const live = eligibility(view);
  return view.brokerList().filter((b) => live.isLive(b.brokerId)).map((b) => b.brokerId);
}

function checkPartitionCount(count: number, config: ControllerConfig): void {
  if (!Number.isInteger(count) || count < 1 || count > config.maxPartitionsPerTopic) {
    throw new FerryError(ErrorCode.INVALID_PARTITIONS, `partition count ${count} must be between 1 and ${config.maxPartitionsPerTopic}`);
  }
}

function checkReplicationFactor(rf: number, brokers: readonly BrokerId[]): void {
  if (!Number.isInteger(rf) || rf < 1 || rf > brokers.length) {
    throw new FerryError(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor ${rf} exceeds the ${brokers.length} available broker${brokers.length === 1 ? '' : 's'}`);
  }
}

export function createTopics(batch: MetadataBatch, req: CreateTopicsRequest, config: ControllerConfig, random: Random, now: number): CreateTopicsResponse {
  const topics: CreateTopicResult[] = [];
  for (const spec of req.topics) {
    const partitions = spec.partitions && spec.partitions > 0 ? spec.partitions : config.defaultPartitions;
    const replicationFactor = spec.replicationFactor && spec.replicationFactor > 0 ? spec.replicationFactor : config.defaultReplicationFactor;
    const result: CreateTopicResult = { name: spec.name, error: null, topicId: '', partitions, replicationFactor };
    try {
      if (spec.internal) validateTopicName(spec.name);
      else validateUserTopicName(spec.name);
      if (batch.view.topicByName(spec.name)) throw new FerryError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${spec.name} already exists`);
      checkPartitionCount(partitions, config);
      const brokers = placeableBrokers(batch.view);
      checkReplicationFactor(replicationFactor, brokers);
      const configs = spec.configs ?? {};
      validateTopicOverrides(configs);
      const assignment = placeReplicas({
        brokers, partitions, replicationFactor, start: random.nextInt(brokers.length), shift: random.nextInt(brokers.length),
      });
      if (!req.validateOnly) {
        const topicId = newTopicId(random);
        batch.emit({ type: 'Topic', name: spec.name, topicId, createdAtMs: now });
        for (const name of Object.keys(configs).sort()) {
          batch.emit({ type: 'Config', resourceType: 'topic', resourceName: spec.name, name, value: configs[name]! });
        }
        assignment.forEach((replicas, partition) => {
          batch.emit({ type: 'Partition', topicId, partition, replicas, isr: [...replicas], elr: [], leader: replicas[0]!, leaderEpoch: 0, partitionEpoch: 0 });
        });
        result.topicId = topicId;
      }
    } catch (err) {
      if (!(err instanceof FerryError)) throw err;
      result.error = err;
    }
    topics.push(result);
  }
  return { topics };
}

export function deleteTopics(batch: MetadataBatch, req: DeleteTopicsRequest, config: ControllerConfig): DeleteTopicsResponse {
  const topics: DeleteTopicsResponse['topics'] = [];
  for (const name of req.names) {
    try {
      if (!config.deleteTopicEnable) throw new FerryError(ErrorCode.POLICY_VIOLATION, 'topic deletion is disabled (delete.topic.enable=false)');
      const topic = batch.view.topicByName(name);
      if (!topic) throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${name}`);
      if (isInternalTopic(name)) throw new FerryError(ErrorCode.INVALID_TOPIC, `internal topic ${name} cannot be deleted`);
      batch.emit({ type: 'RemoveTopic', topicId: topic.id });
      topics.push({ name, error: null });
    } catch (err) {
      if (!(err instanceof FerryError)) throw err;
      topics.push({ name, error: err });
    }
  }
  return { topics };
}

/**
 * New partitions keep the topic's replication factor; their preferred leaders continue the
 * rotation after the existing partitions (placement as if the topic had been created with `count`).
 */
export function createPartitions(batch: MetadataBatch, req: CreatePartitionsRequest, config: ControllerConfig, random: Random): CreatePartitionsResponse {
  const topics: CreatePartitionsResponse['topics'] = [];
  for (const item of req.topics) {
    try {
      const topic = batch.view.topicByName(item.name);
      if (!topic) throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${item.name}`);
      const current = topic.partitions.length;
      if (!Number.isInteger(item.count) || item.count <= current) {
        throw new FerryError(ErrorCode.INVALID_PARTITIONS, `topic ${item.name} has ${current} partitions; the new count ${item.count} must be larger`);
      }
      checkPartitionCount(item.count, config);
      const rf = topic.partitions[0]!.replicas.length;
      const brokers = placeableBrokers(batch.view);
      checkReplicationFactor(rf, brokers);
      // Continue from partition 0's preferred leader when it is still placeable, so the rotation goes on.
      // (placeableBrokers is sorted by id, as placeReplicas indexes it.)
      const first = brokers.indexOf(topic.partitions[0]!.replicas[0]!);
      const start = first >= 0 ? first : random.nextInt(brokers.length);
      const assignment = placeReplicas({ brokers, partitions: item.count, replicationFactor: rf, start, shift: random.nextInt(brokers.length) });
      if (!req.validateOnly) {
        for (let p = current; p < item.count; p++) {
          const replicas = assignment[p]!;
          batch.emit({ type: 'Partition', topicId: topic.id, partition: p, replicas, isr: [...replicas], elr: [], leader: replicas[0]!, leaderEpoch: 0, partitionEpoch: 0 });
        }
      }
      topics.push({ name: item.name, error: null });
    } catch (err) {
      if (!(err instanceof FerryError)) throw err;
      topics.push({ name: item.name, error: err });
    }
  }
  return { topics };
}
