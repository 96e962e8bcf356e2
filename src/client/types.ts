/**
 * Public types of the Ferry TypeScript SDK: options of each client, what goes in and what comes out.
 *
 * Option names follow Kafka's client configs, camelCased, where the concept is the same
 * (`batch.size` → `batchSize`, `linger.ms` → `lingerMs`). Every limit carries its unit in its name.
 * Validation of these lives in `options.ts`.
 */
import type { HeaderInput } from '../protocol/record-builder.js';

/** The subset of pino's API the SDK logs through; pass a pino logger or anything shaped like it. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RetryOptions {
  /** Attempts after the first one; 0 = never retry. */
  retries: number;
  /** Backoff before the first retry; doubles on every further one, with ±20 % jitter. */
  initialRetryTimeMs: number;
  /** Ceiling of a single backoff. */
  maxRetryTimeMs: number;
}

export interface FerryOptions {
  /** One `host:port` or several; any live one is enough to learn the cluster. */
  bootstrap: string | string[];
  clientId?: string;
  logger?: Logger;
  /** Deadline of each unary RPC (Fetch adds its own maxWaitMs on top). Default 30000. */
  requestTimeoutMs?: number;
  /**
   * How long to wait for a connection to a broker before trying the next one, for requests any
   * broker can answer (metadata, admin, finding a group coordinator); a refused connection moves on
   * at once. Kafka's socket.connection.setup.timeout.ms. Default 10000.
   */
  connectTimeoutMs?: number;
  /** Retry policy of metadata and admin requests. Default { retries: 5, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 }. */
  retry?: Partial<RetryOptions>;
  /** Largest gRPC message sent or received, bytes. Default 256 MiB. */
  maxMessageBytes?: number;
  /** Minimum time between two metadata refreshes, ms (Kafka's retry.backoff.ms for metadata). Default 100. */
  metadataRefreshBackoffMs?: number;
  /** Metadata older than this is refreshed on next use (Kafka's metadata.max.age.ms). Default 300000. */
  metadataMaxAgeMs?: number;
}

export type Acks = 0 | 1 | -1 | 'all';
export type PartitionerName = 'default' | 'murmur2' | 'roundrobin';

export interface ProducerOptions {
  /** 0 = fire and forget, 1 = leader wrote it, -1/'all' = all in-sync replicas have it. Default -1. */
  acks?: Acks;
  /** Target size of one partition's batch, bytes (Kafka's batch.size). Default 16384. */
  batchSize?: number;
  /** How long a non-full batch may wait for more records, ms (linger.ms). Default 5. */
  lingerMs?: number;
  /** Produce requests awaiting a response, per broker connection. Default 5. */
  maxInFlightRequests?: number;
  /** Retries of a retriable failure, bounded also by deliveryTimeoutMs. Default Infinity. */
  retries?: number;
  /** Backoff before the first retry of a batch, ms (retry.backoff.ms). Default 100. */
  retryBackoffMs?: number;
  /** Ceiling of the exponential retry backoff, ms (retry.backoff.max.ms). Default 1000. */
  retryBackoffMaxMs?: number;
  /** Deadline of one Produce RPC; also the broker's acks=-1 timeout. Default: the Ferry requestTimeoutMs. */
  requestTimeoutMs?: number;
  /** Upper bound from send() to success or failure, ms (delivery.timeout.ms). Default 120000. */
  deliveryTimeoutMs?: number;
  compression?: 'none' | 'gzip';
  /** Bytes buffered or in flight before send() waits: back-pressure (buffer.memory). Default 32 MiB. */
  bufferMemory?: number;
  /** Largest Produce request, bytes (max.request.size); batches of one broker are packed up to it. Default 1 MiB. */
  maxRequestSize?: number;
  partitioner?: PartitionerName;
  /**
   * Idempotence (enable.idempotence, Kafka KIP-98): the producer gets a producer id from the cluster
   * and numbers each partition's records, so a batch re-sent after a lost answer or a leader change
   * is stored once (the broker answers with the original offsets), and up to 5 requests per
   * partition may be in flight with order kept. Needs acks 'all'/-1 (`true` with other acks is
   * refused with INVALID_CONFIG). Default: true with acks 'all' (the default), false otherwise, as
   * Kafka since 3.0 (KIP-679); the chaos campaigns have run idempotent producers since session 3
   * (docs/ARCHITECTURE.md, "Idempotent producer").
   */
  idempotent?: boolean;
  /**
   * How requests reach each broker. 'stream' (default): one long-lived ProduceStream per broker
   * (gRPC bidirectional stream), requests and answers matched by correlation id — a message on an
   * open stream costs far less CPU and latency than a unary call. 'unary': one Produce call per
   * request. Outcomes, retries, ordering and maxInFlightRequests are the same either way. A broker
   * without ProduceStream (answers UNIMPLEMENTED) gets unary calls. A stream with nothing in flight
   * is closed after a second, so a process that never closes its producer still exits.
   */
  transport?: ProducerTransport;
}

export type ProducerTransport = 'stream' | 'unary';

export interface ProducerRecord {
  topic: string;
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: HeaderInput[];
  partition?: number;
  /** ms since the epoch; default now. */
  timestamp?: number;
}

/** A record for `sendBatch`, whose topic is given once. */
export type BatchRecord = Omit<ProducerRecord, 'topic'>;

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** -1 with acks=0: the broker's answer is not awaited. */
  offset: number;
  timestamp: number;
}

export type AutoOffsetReset = 'earliest' | 'latest' | 'none';

export type ConsumerTransport = 'stream' | 'fetch';

export interface ConsumerOptions {
  /**
   * How records are read. 'stream' (default): one server-streaming Consume call per broker; the
   * broker pushes records as they become visible (lowest latency, no per-fetch request). 'fetch':
   * long-poll Fetch requests as Kafka consumers do (fetchMaxWaitMs / fetchMinBytes apply). A broker
   * without Consume streams is fetched from either way.
   */
  transport?: ConsumerTransport;
  /** Longest a fetch waits at the broker for fetchMinBytes, ms (fetch.max.wait.ms). Default 500. */
  fetchMaxWaitMs?: number;
  /** Bytes a fetch waits for (fetch.min.bytes). Default 1. */
  fetchMinBytes?: number;
  /** Byte limit of one fetch response (fetch.max.bytes). Default 50 MiB. */
  fetchMaxBytes?: number;
  /**
   * Byte limit per partition in one fetch (max.partition.fetch.bytes). Default: 1 MiB, or 16 MiB
   * (bounded by fetchMaxBytes and half of maxBufferedBytes) when exactly one partition is assigned:
   * then only one fetch is ever in flight and bigger results save round trips. Set it to pin it.
   */
  maxPartitionFetchBytes?: number;
  /** Where to start when the position is unset or out of range (auto.offset.reset). Default 'latest'. */
  autoOffsetReset?: AutoOffsetReset;
  /** Fetched bytes held ahead of the application before prefetching pauses. Default 64 MiB. */
  maxBufferedBytes?: number;
  /** Backoff after a failed fetch, ms. Default 100, doubling up to retryBackoffMaxMs. */
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;

  // ── Consumer groups (used by subscribe(); see group-membership.ts) ──
  /** The group to join (group.id). Needed by subscribe() and commit(). */
  groupId?: string;
  /** Static membership (group.instance.id): a restart within the session timeout keeps the assignment. */
  groupInstanceId?: string;
  /** Without a heartbeat for this long the coordinator removes the member, ms. Default: the broker's (10000 assumed locally). */
  sessionTimeoutMs?: number;
  /** Longest a revocation (listener + commit) may take before the coordinator fences the member, ms. Default 300000. */
  rebalanceTimeoutMs?: number;
  /** Heartbeat interval until the coordinator names one, ms. Default 3000. */
  heartbeatIntervalMs?: number;
  /** Commit processed offsets every autoCommitIntervalMs, on revoke and on close (enable.auto.commit). Default true. */
  enableAutoCommit?: boolean;
  /** auto.commit.interval.ms. Default 5000. */
  autoCommitIntervalMs?: number;
  /** Server-side assignor. Default 'sticky'. */
  assignor?: AssignorName;
  /** Called on every rebalance, awaited; the same as consumer.on('assigned' | 'revoked'). */
  rebalanceListener?: RebalanceListener;
}

export type AssignorName = 'sticky' | 'range' | 'roundrobin';

/** What subscribe() takes: topic names, or a regex matched by the coordinator against topic names. */
export type Subscription = { topics: string[] } | { pattern: RegExp | string };

export interface RevokeInfo {
  /** True when the partitions were lost (fenced, session expired): nothing was committed for them. */
  lost: boolean;
}

/**
 * Rebalance callbacks. Both are awaited: the consumer does not fetch newly assigned partitions
 * before onAssigned resolves, and commits revoked ones (with auto-commit) only after onRevoked
 * resolves, before handing them back to the coordinator.
 */
export interface RebalanceListener {
  onAssigned?(partitions: TopicPartition[]): void | Promise<void>;
  onRevoked?(partitions: TopicPartition[], info: RevokeInfo): void | Promise<void>;
}

/** An offset to commit: the next offset to consume, with optional metadata. */
export interface OffsetToCommit extends TopicPartition {
  offset: number;
  metadata?: string;
}

/** A committed offset as stored by the coordinator; offset -1 = nothing committed. */
export interface CommittedOffset extends TopicPartition {
  offset: number;
  metadata: string;
}

export interface GroupListingInfo {
  groupId: string;
  /** EMPTY, ASSIGNING, RECONCILING, STABLE, DEAD. */
  state: string;
  members: number;
}

export interface GroupMemberInfo {
  memberId: string;
  instanceId: string;
  clientId: string;
  clientHost: string;
  memberEpoch: number;
  subscribedTopics: string[];
  subscribedPattern: string;
  /** What it owns now. */
  assignment: TopicPartition[];
  /** What it will own once revocations finish. */
  targetAssignment: TopicPartition[];
}

export interface GroupDescriptionInfo {
  groupId: string;
  state: string;
  groupEpoch: number;
  assignmentEpoch: number;
  assignor: string;
  members: GroupMemberInfo[];
}

export interface PartitionLag extends TopicPartition {
  /** -1 = nothing committed. */
  committed: number;
  /** Latest offset (ListOffsets latest: the high watermark). */
  logEnd: number;
  /** logEnd - committed; null when nothing is committed. */
  lag: number | null;
  /** Member owning it now, or '' when none. */
  memberId: string;
}

export type ResetTarget = 'earliest' | 'latest' | { timestamp: number } | { offset: number };

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  /** Omitted: decided by autoOffsetReset. */
  offset?: number;
}

export type SeekTarget = number | 'earliest' | 'latest' | { timestamp: number };
export type OffsetSpec = 'earliest' | 'latest' | { timestamp: number };

export interface ConsumerHeader {
  key: string;
  value: Buffer | null;
}

/** One fetched record. Key, value and header values are views into the fetched bytes (no copies). */
export class ConsumerRecord {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
    readonly timestamp: number,
    readonly key: Buffer | null,
    readonly value: Buffer | null,
    readonly headers: ConsumerHeader[],
  ) {}
}

export interface EachBatchPayload {
  topic: string;
  partition: number;
  records: ConsumerRecord[];
  highWatermark: number;
}

export interface RunOptions {
  eachMessage?: (record: ConsumerRecord) => Promise<void> | void;
  eachBatch?: (batch: EachBatchPayload) => Promise<void> | void;
}

export interface BrokerMetadata {
  nodeId: number;
  host: string;
  port: number;
  rack: string;
}

export interface PartitionMetadata {
  partition: number;
  leaderId: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
}

export interface TopicMetadata {
  name: string;
  topicId: string;
  isInternal: boolean;
  partitions: PartitionMetadata[];
}

export interface ClusterMetadata {
  clusterId: string;
  controllerId: number;
  brokers: BrokerMetadata[];
  topics: TopicMetadata[];
}

export interface NewTopicSpec {
  name: string;
  /** 0 or omitted = broker default. */
  partitions?: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export interface TopicListing {
  name: string;
  partitions: number;
  replicationFactor: number;
  isInternal: boolean;
}

export interface ConfigEntry {
  name: string;
  value: string;
  source: 'DEFAULT' | 'BROKER' | 'TOPIC' | 'CONFIG_SOURCE_UNSPECIFIED';
}

export interface PartitionDescription {
  partition: number;
  leaderId: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  logStartOffset: number;
  highWatermark: number;
  logEndOffset: number;
  sizeBytes: number;
}

export interface TopicDescription {
  name: string;
  topicId: string;
  isInternal: boolean;
  partitions: PartitionDescription[];
  configs: ConfigEntry[];
}

export interface OffsetResult {
  partition: number;
  offset: number;
  timestamp: number;
}
