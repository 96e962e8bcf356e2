/**
 * Admin: typed wrappers over AdminService, FetchService.ListOffsets and MetadataService.
 *
 * Requests go to any broker (any-broker.ts: live known brokers first, then bootstrap; in a cluster
 * the broker forwards changes to the active controller). Transport failures and retriable codes
 * (NOT_CONTROLLER, REQUEST_TIMED_OUT, ...) are retried with the Ferry retry policy, whether they fail
 * the whole request or come back per topic — then only the topics that failed are sent again. A
 * non-retriable per-topic error is thrown as its FerryError (the first one, naming the topic).
 *
 * A retry after a timeout cannot know whether the first attempt took effect. Deleting: a topic gone
 * on the retry counts as deleted. Creating: TOPIC_ALREADY_EXISTS on a retry is thrown (someone else
 * may have created it with other settings) but says an earlier attempt may have.
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';
import type * as grpc from '@grpc/grpc-js';
import type { BrokerClients } from './connection-pool.js';
import type { ClientContext } from './context.js';
import { callAnyBroker } from './any-broker.js';
import { describeTopics } from './describe-topics.js';
import { closedError, fromResponseError, withTopic } from './errors.js';
import { GroupAdmin } from './group-admin.js';
import { listOffsets, specToTimestamp } from './list-offsets.js';
import { backoffMs, sleep } from './retry.js';
import type { CreateTopicsResponse__Output } from '../generated/ferry/v1/CreateTopicsResponse.js';
import type { DeleteTopicsResponse__Output } from '../generated/ferry/v1/DeleteTopicsResponse.js';
import type { ListTopicsResponse__Output } from '../generated/ferry/v1/ListTopicsResponse.js';
import type { CreatePartitionsResponse__Output } from '../generated/ferry/v1/CreatePartitionsResponse.js';
import type { AlterTopicConfigsResponse__Output } from '../generated/ferry/v1/AlterTopicConfigsResponse.js';
import type { TopicResult__Output } from '../generated/ferry/v1/TopicResult.js';
import type {
  ClusterMetadata,
  CommittedOffset,
  GroupDescriptionInfo,
  GroupListingInfo,
  NewTopicSpec,
  OffsetToCommit,
  PartitionLag,
  ResetTarget,
  TopicPartition,
  OffsetResult,
  OffsetSpec,
  TopicDescription,
  TopicListing,
} from './types.js';

export class Admin {
  private closed = false;
  private readonly groups: GroupAdmin;

  constructor(
    private readonly ctx: ClientContext,
    private readonly onClose: (a: Admin) => void = () => {},
  ) {
    this.groups = new GroupAdmin(ctx);
  }

  /** Runs `call` against brokers in turn until one answers; retries retriable failures. */
  private async request<T>(call: (c: BrokerClients, options: grpc.CallOptions, cb: grpc.requestCallback<T>) => unknown): Promise<T> {
    if (this.closed) throw closedError('admin');
    return (await callAnyBroker<T>(this.ctx, call, { isCancelled: () => this.closed })).res;
  }

  /**
   * Sends `names` with `send` and retries, with backoff, the ones whose per-topic result is a
   * retriable error, until none is left or the retry policy is spent. `onRetriedError` may accept an
   * error seen on a retry (returning null) or reword it.
   */
  private async perTopic(
    names: readonly string[],
    send: (names: string[]) => Promise<readonly (TopicResult__Output | null)[]>,
    onRetriedError: (err: FerryError, earlier: FerryError) => FerryError | null = (err) => err,
  ): Promise<void> {
    let pending = [...names];
    const earlier = new Map<string, FerryError>();
    for (let attempt = 0; ; attempt++) {
      const results = await send(pending);
      const again: string[] = [];
      for (const r of results) {
        if (!r) continue;
        let err = fromResponseError(r.error);
        const before = earlier.get(r.name);
        if (err && before) err = onRetriedError(err, before);
        if (!err) continue;
        if (!err.retriable || attempt >= this.ctx.retry.retries || this.closed) throw withTopic(err, r.name);
        earlier.set(r.name, err);
        again.push(r.name);
      }
      if (again.length === 0) return;
      pending = again;
      const r = this.ctx.retry;
      await sleep(backoffMs(attempt + 1, r.initialRetryTimeMs, r.maxRetryTimeMs));
    }
  }

  async createTopics(topics: NewTopicSpec[], options: { validateOnly?: boolean } = {}): Promise<void> {
    if (!Array.isArray(topics) || topics.length === 0) throw new FerryError(ErrorCode.INVALID_REQUEST, 'createTopics() needs at least one topic');
    for (const t of topics) {
      if (!t || typeof t.name !== 'string' || t.name === '') throw new FerryError(ErrorCode.INVALID_TOPIC, 'every topic needs a name');
      for (const [field, v] of [['partitions', t.partitions], ['replicationFactor', t.replicationFactor]] as const) {
        if (v !== undefined && (!Number.isInteger(v) || v < 0)) {
          throw new FerryError(field === 'partitions' ? ErrorCode.INVALID_PARTITIONS : ErrorCode.INVALID_REPLICATION_FACTOR, `${t.name}: ${field} must be an integer >= 0, got ${v}`);
        }
      }
    }
    const specs = new Map(topics.map((t) => [t.name, t]));
    const validateOnly = options.validateOnly ?? false;
    try {
      await this.perTopic(
        [...specs.keys()],
        async (names) => {
          const request = {
            topics: names.map((name) => {
              const t = specs.get(name)!;
              return { name, numPartitions: t.partitions ?? 0, replicationFactor: t.replicationFactor ?? 0, configs: t.configs ?? {} };
            }),
            validateOnly,
            timeoutMs: this.ctx.requestTimeoutMs,
          };
          return (await this.request<CreateTopicsResponse__Output>((c, o, cb) => c.admin.CreateTopics(request, o, cb))).topics;
        },
        (err, before) =>
          err.code === ErrorCode.TOPIC_ALREADY_EXISTS
            ? new FerryError(err.code, `${err.message} (an earlier attempt failed with ${before.code} and may have created it)`)
            : err,
      );
    } finally {
      if (!validateOnly) this.ctx.metadata.markStale(specs.keys());
    }
  }

  async deleteTopics(names: string[]): Promise<void> {
    if (!Array.isArray(names) || names.length === 0) throw new FerryError(ErrorCode.INVALID_REQUEST, 'deleteTopics() needs at least one name');
    try {
      await this.perTopic(
        names,
        async (pending) =>
          (await this.request<DeleteTopicsResponse__Output>((c, o, cb) => c.admin.DeleteTopics({ names: pending, timeoutMs: this.ctx.requestTimeoutMs }, o, cb))).topics,
        // Gone on a retry: the earlier attempt deleted it.
        (err) => (err.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? null : err),
      );
    } finally {
      this.ctx.metadata.markStale(names);
    }
  }

  async listTopics(options: { includeInternal?: boolean } = {}): Promise<TopicListing[]> {
    const res = await this.request<ListTopicsResponse__Output>((c, o, cb) =>
      c.admin.ListTopics({ includeInternal: options.includeInternal ?? false }, o, cb),
    );
    return res.topics.map((t) => ({ name: t.name, partitions: t.partitions, replicationFactor: t.replicationFactor, isInternal: t.isInternal }));
  }

  /**
   * Partitions (leader, leader epoch, replicas, ISR, and each partition's offsets as its leader
   * reports them) and configs of each topic; see describe-topics.ts.
   */
  async describeTopics(names: string[]): Promise<TopicDescription[]> {
    if (!Array.isArray(names) || names.length === 0) throw new FerryError(ErrorCode.INVALID_REQUEST, 'describeTopics() needs at least one name');
    if (this.closed) throw closedError('admin');
    return describeTopics(this.ctx, names, () => this.closed);
  }

  /** Grows `topic` to `totalCount` partitions (never shrinks). */
  async createPartitions(topic: string, totalCount: number, options: { validateOnly?: boolean } = {}): Promise<void> {
    if (!Number.isInteger(totalCount) || totalCount < 1) throw new FerryError(ErrorCode.INVALID_PARTITIONS, `totalCount must be an integer >= 1, got ${totalCount}`);
    await this.perTopic([topic], async () => [
      (await this.request<CreatePartitionsResponse__Output>((c, o, cb) => c.admin.CreatePartitions({ topic, totalCount, validateOnly: options.validateOnly ?? false }, o, cb)))
        .result,
    ]);
    this.ctx.metadata.markStale([topic]);
  }

  /** Sets `set` and reverts `deleteKeys` to the broker default, atomically per topic. */
  async alterTopicConfigs(topic: string, set: Record<string, string> = {}, deleteKeys: string[] = [], options: { validateOnly?: boolean } = {}): Promise<void> {
    await this.perTopic([topic], async () => [
      (await this.request<AlterTopicConfigsResponse__Output>((c, o, cb) =>
        c.admin.AlterTopicConfigs({ topic, set, delete: deleteKeys, validateOnly: options.validateOnly ?? false }, o, cb),
      )).result,
    ]);
  }

  /** Offsets of `topic`'s partitions (all when omitted) at 'earliest', 'latest' or a timestamp. */
  async listOffsets(topic: string, partitions: number[] | undefined, spec: OffsetSpec): Promise<OffsetResult[]> {
    if (this.closed) throw closedError('admin');
    const timestamp = specToTimestamp(spec);
    let parts = partitions;
    if (!parts) {
      const t = await this.ctx.metadata.getTopic(topic);
      parts = t.partitions.map((_, i) => i);
    }
    const answers = await listOffsets(
      this.ctx,
      parts.map((partition) => ({ topic, partition, timestamp })),
      () => this.closed,
    );
    return answers.map((a) => ({ partition: a.partition, offset: a.offset, timestamp: a.foundTimestamp }));
  }

  /** Brokers and topics (all non-internal when `topics` is omitted); no auto-creation. */
  async metadata(topics?: string[]): Promise<ClusterMetadata> {
    if (this.closed) throw closedError('admin');
    return this.ctx.metadata.cluster(topics, false);
  }

  // ── consumer groups (group-admin.ts) ──

  /** Groups known to any broker, optionally only those in `states` (e.g. ['STABLE']). */
  async listGroups(states?: string[]): Promise<GroupListingInfo[]> {
    this.checkOpen();
    return this.groups.listGroups(states);
  }

  /** State, assignor and members (with current and target assignment) of a group. */
  async describeGroup(groupId: string): Promise<GroupDescriptionInfo> {
    this.checkOpen();
    return this.groups.describeGroup(groupId);
  }

  /** Per partition: committed offset, log end offset, lag and owning member. */
  async groupLag(groupId: string): Promise<PartitionLag[]> {
    this.checkOpen();
    return this.groups.groupLag(groupId);
  }

  /** Moves an inactive group's committed offsets of every partition of `topic`; returns them. */
  async resetGroupOffsets(groupId: string, topic: string, target: ResetTarget): Promise<OffsetToCommit[]> {
    this.checkOpen();
    return this.groups.resetGroupOffsets(groupId, topic, target);
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    this.checkOpen();
    return this.groups.deleteGroups(groupIds);
  }

  /** Committed offsets of a group (offset -1 = none), all partitions or just `partitions`. */
  async fetchCommitted(groupId: string, partitions?: TopicPartition[]): Promise<CommittedOffset[]> {
    this.checkOpen();
    return this.groups.fetchCommitted(groupId, partitions);
  }

  private checkOpen(): void {
    if (this.closed) throw closedError('admin');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.onClose(this);
  }
}

