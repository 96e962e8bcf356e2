/**
 * The I/O around the sans-I/O group coordinator (src/coordinator): one GroupCoordinatorShard per
 * partition of the compacted internal topic `__consumer_offsets`, fed by gRPC requests, a timer and
 * topic changes, with every record it emits appended to its partition.
 *
 * Contract:
 *  - Start-up: the topic is created if missing (`offsets.topic.num.partitions`, cleanup.policy=compact;
 *    an existing topic keeps its partition count, since the count decides where each group lives).
 *    Each partition is then replayed from its log start into a fresh shard, in the background; until
 *    a group's partition is loaded its requests fail with COORDINATOR_LOAD_IN_PROGRESS (retriable).
 *  - `run` executes a handler synchronously on the group's shard (so no two interleave), appends
 *    its records (one append per call, in call order, through the partition's serial queue), and
 *    resolves only when they are durable per flush.mode — and, for handlers that wrote nothing, when
 *    every earlier append of that partition is, since their answer may depend on it.
 *  - A failed append leaves memory ahead of the log: the partition is reloaded from the log (the
 *    state machine's recovery path) and the request fails with COORDINATOR_NOT_AVAILABLE (retriable).
 *  - A timer (TICK_INTERVAL_MS) drives session expiry and offset expiry; topic creation, deletion and
 *    partition growth are pushed to every shard.
 *
 * In a cluster (`forCluster`) the coordinator of a group is the leader of its __consumer_offsets
 * partition (Kafka's rule), so group state follows partition leadership:
 *  - The topic is created through the controller once the broker is registered (`onRegistered`), in
 *    the background, retried with backoff while the controller is unavailable or too few brokers are
 *    registered for its replication factor (min(offsets.topic.replication.factor, voters)).
 *  - The ReplicaManager tells the runtime when this broker starts or stops leading a partition. A
 *    newly led partition is replayed into a fresh shard and served only once its high watermark has
 *    reached the log end seen by the replay (see `load` for why); until then COORDINATOR_LOAD_IN_PROGRESS.
 *    Losing leadership drops the shard at once; requests for groups of partitions this broker does
 *    not lead fail with NOT_COORDINATOR (retriable: the client asks FindCoordinator again).
 *  - Records are appended with acks=all (`topics.appendRecords`), so an answered request survives
 *    the coordinator's death: its records are on every in-sync replica, one of which becomes leader.
 *  - FindCoordinator answers the partition's leader from the metadata image, or
 *    COORDINATOR_NOT_AVAILABLE while the topic does not exist or the partition has no leader.
 *  - Stale metadata: a restarted broker replays an old image first, in which it may still lead
 *    partitions that moved while it was down. Nothing loads, and FindCoordinator answers
 *    COORDINATOR_NOT_AVAILABLE, until its image has applied its own registration (KRaft's "caught
 *    up"); and a shard serves only while the image names this broker leader in the shard's epoch.
 */
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/broker-config.js';
import type { CoordinatorConfig, CoordinatorEvent, CoordinatorResult } from '../coordinator/api.js';
import { ASSIGNORS } from '../coordinator/assignors/index.js';
import { CONSUMER_OFFSETS_TOPIC, groupPartition } from '../coordinator/group-partition.js';
import { decodeRecord, encodeRecord, type CoordinatorRecord } from '../coordinator/records.js';
import { GroupCoordinatorShard } from '../coordinator/shard.js';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { iterateBatches, validateBatches } from '../protocol/record-batch.js';
import { encodeRecordBatch } from '../protocol/record-builder.js';
import { decodeBatch } from '../protocol/record-decoder.js';
import type { PartitionLog } from '../storage/index.js';
import { ACKS_ALL } from '../replication/isr/index.js';
import { SINGLE_NODE_LEADER_EPOCH } from './leader-epoch.js';
import type { BrokerIdentity } from './metadata-service.js';
import type { LeadershipListener } from './replication/replica-manager.js';
import type { TopicManager } from './topic-manager.js';

/** A read waits for at most this many rounds of in-flight appends to settle (a busy group cannot starve it). */
const READ_SETTLE_ROUNDS_MAX = 20;
/** How often sessions, revocation deadlines and offset retention are checked, ms. */
export const TICK_INTERVAL_MS = 250;
/** Bytes read per step while replaying a partition. */
export const LOAD_READ_BYTES = 4 * 1024 * 1024;
/** Wait before retrying a partition load that failed (e.g. an I/O error), ms. */
export const LOAD_RETRY_MS = 1_000;
/** Cluster: how long an append waits for the ISR (Kafka's offsets.commit.timeout.ms default), ms. */
export const OFFSETS_COMMIT_TIMEOUT_MS = 5_000;
/** Cluster: backoff between attempts to create __consumer_offsets, ms (doubling up to the max). */
export const OFFSETS_TOPIC_RETRY_MS = 200;
export const OFFSETS_TOPIC_RETRY_MAX_MS = 5_000;
const MIB = 1024 * 1024;
/** __consumer_offsets topic settings: Kafka's offsets.topic.segment.bytes; room for big group targets. */
export const OFFSETS_TOPIC_CONFIGS: Record<string, string> = {
  'cleanup.policy': 'compact',
  'segment.bytes': String(100 * MIB),
  'max.message.bytes': String(8 * MIB),
};

interface Slot {
  partition: number;
  /** Single node: the partition's log. Cluster: the log of the last load (null before the first). */
  log: PartitionLog | null;
  shard: GroupCoordinatorShard | null;
  /** Settles when every append issued so far has (durable, or failed). */
  tail: Promise<void>;
  loads: number;
  /** Cluster: the leader epoch in which this broker leads the partition; null = not leading. */
  leaderEpoch: number | null;
  /** Cluster: ends a load's wait for the high watermark (leadership lost, stopping). */
  cancelWait: (() => void) | null;
}

/** What the cluster runtime needs of the ReplicaManager. */
export interface LeadershipSource {
  onLeadershipChange(listener: LeadershipListener): void;
}

export interface ClusterGroupOptions {
  /** Leadership of this broker's partitions (the ReplicaManager). */
  leadership: LeadershipSource;
  /** Voters in controller.quorum.voters: caps the topic's replication factor. */
  voterCount: number;
  /** How far this broker's metadata is (the ClusterNode). */
  metadata: MetadataProgress;
}

/**
 * This broker's progress through the metadata log. It is caught up (KRaft's rule) once its image
 * has applied its own registration, whose offset is the broker epoch: a restarted broker replays
 * an old image first, in which it may still lead partitions that moved while it was down.
 */
export interface MetadataProgress {
  readonly brokerEpoch: number | null;
  readonly image: { readonly offset: number };
  /** Resolves once the image has applied `offset`; rejects after `timeoutMs`. */
  waitForOffset(offset: number, timeoutMs: number): Promise<void>;
}

/** How long one wait for the metadata to catch up lasts before it is checked again, ms. */
const METADATA_WAIT_MS = 1_000;

/** The coordinator's settings from the broker's; throws FerryError(INVALID_CONFIG) for unknown assignors. */
export function coordinatorConfigFrom(config: BrokerConfig): CoordinatorConfig {
  const assignors = config.str('group.consumer.assignors').split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = assignors.filter((a) => !ASSIGNORS.has(a));
  if (assignors.length === 0 || unknown.length > 0) {
    throw new FerryError(ErrorCode.INVALID_CONFIG, `group.consumer.assignors must list some of ${[...ASSIGNORS.keys()].join(', ')}; unknown: ${unknown.join(', ') || '(empty list)'}`);
  }
  return {
    sessionTimeoutMs: config.int('group.session.timeout.ms'),
    heartbeatIntervalMs: config.int('group.heartbeat.interval.ms'),
    maxGroupSize: config.int('group.max.size'),
    offsetsRetentionMs: config.int('offsets.retention.minutes') * 60_000,
    assignors,
  };
}

export class GroupCoordinatorRuntime {
  /** Single node: one per partition. Cluster: by partition, created as leadership arrives (sparse). */
  private readonly slots: Slot[];
  private tickTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private creatingTopic = false;

  private constructor(
    private readonly topics: TopicManager,
    private readonly coordinatorConfig: CoordinatorConfig,
    private readonly logger: Logger,
    logs: PartitionLog[],
    private readonly clock: () => number,
    /** Null on a single node. */
    private readonly cluster: { config: BrokerConfig; nodeId: number; voterCount: number; metadata: MetadataProgress } | null = null,
  ) {
    this.slots = logs.map((log, partition) => newSlot(partition, log));
  }

  /**
   * The cluster's runtime: nothing is loaded until the ReplicaManager reports leadership of a
   * __consumer_offsets partition (the listener is registered here, so create this before the
   * broker registers). Throws FerryError(INVALID_CONFIG) for unknown assignors.
   */
  static forCluster(topics: TopicManager, config: BrokerConfig, logger: Logger, options: ClusterGroupOptions, clock: () => number = Date.now): GroupCoordinatorRuntime {
    const runtime = new GroupCoordinatorRuntime(topics, coordinatorConfigFrom(config), logger.child({ component: 'group-coordinator' }), [], clock, {
      config,
      nodeId: config.nodeId,
      voterCount: options.voterCount,
      metadata: options.metadata,
    });
    options.leadership.onLeadershipChange((topic, partition, isLeader, leaderEpoch) => {
      if (topic === CONSUMER_OFFSETS_TOPIC) runtime.onLeadership(partition, isLeader, leaderEpoch);
    });
    return runtime;
  }

  /** Creates __consumer_offsets if missing; does not load it yet (see start). */
  static async open(topics: TopicManager, config: BrokerConfig, logger: Logger, clock: () => number = Date.now): Promise<GroupCoordinatorRuntime> {
    const coordinatorConfig = coordinatorConfigFrom(config);
    let record = topics.topic(CONSUMER_OFFSETS_TOPIC);
    if (!record) {
      const partitions = config.int('offsets.topic.num.partitions');
      record = await topics.createTopic({ name: CONSUMER_OFFSETS_TOPIC, partitions, replicationFactor: 1, configs: OFFSETS_TOPIC_CONFIGS }, { internal: true });
    }
    const logs: PartitionLog[] = [];
    for (let p = 0; p < record.partitions; p++) logs.push(topics.partitionLog(CONSUMER_OFFSETS_TOPIC, p));
    return new GroupCoordinatorRuntime(topics, coordinatorConfig, logger.child({ component: 'group-coordinator' }), logs, clock);
  }

  get partitionCount(): number {
    return this.slots.length;
  }

  /**
   * Single node: loads every partition in the background, then serves. Cluster: partitions load as
   * this broker comes to lead them. Both: starts the tick timer and topic listener.
   */
  start(): void {
    if (!this.cluster) for (const slot of this.slots) void this.load(slot);
    this.tickTimer = setInterval(() => this.tick(), TICK_INTERVAL_MS);
    this.tickTimer.unref();
    this.topics.onTopicsChanged(() => this.pushTopicMetadata());
  }

  /** Cluster: the broker is registered with the controller; make sure __consumer_offsets exists (background). */
  onRegistered(): void {
    if (!this.cluster || this.creatingTopic || this.stopped) return;
    this.creatingTopic = true;
    void this.ensureOffsetsTopic().finally(() => {
      this.creatingTopic = false;
    });
  }

  /** Stops the timer and waits for appends in flight (the logs are closed after this). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    for (const slot of this.slots) slot?.cancelWait?.();
    await Promise.all(this.slots.map((s) => s?.tail));
  }

  /** Every partition this broker coordinates is loaded (single node: all of them). */
  get loaded(): boolean {
    return this.slots.every((s) => !s || s.shard !== null || (this.cluster !== null && s.leaderEpoch === null));
  }

  /**
   * Where `groupId`'s coordinator is, for FindCoordinator. Single node: this broker. Cluster: the
   * leader of the group's partition in the metadata image; COORDINATOR_NOT_AVAILABLE while the topic
   * does not exist or the partition has no leader (retriable).
   */
  coordinatorOf(groupId: string, self: BrokerIdentity): { nodeId: number; host: string; port: number } {
    if (!this.cluster) return { nodeId: self.nodeId, host: self.host, port: self.port };
    if (!this.metadataCaughtUp()) throw new FerryError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `broker ${self.nodeId} is still catching up with the cluster metadata`);
    const partition = groupPartition(groupId, this.clusterPartitionCount());
    const placement = this.topics.placement(CONSUMER_OFFSETS_TOPIC, partition);
    if (!placement || placement.leader < 0) {
      throw new FerryError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${CONSUMER_OFFSETS_TOPIC}-${partition} (group ${groupId}) has no leader right now`);
    }
    if (placement.leader === self.nodeId) return { nodeId: self.nodeId, host: self.host, port: self.port };
    const broker = this.topics.cluster?.image.broker(placement.leader);
    if (!broker) throw new FerryError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `the leader ${placement.leader} of ${CONSUMER_OFFSETS_TOPIC}-${partition} is not registered`);
    return { nodeId: broker.brokerId, host: broker.host, port: broker.port };
  }

  /** Cluster: the image has applied this broker's registration (see MetadataProgress). */
  private metadataCaughtUp(): boolean {
    const { brokerEpoch, image } = this.cluster!.metadata;
    return brokerEpoch !== null && image.offset >= brokerEpoch;
  }

  /**
   * Cluster: whether the slot may serve — led here per the ReplicaManager, and the image agrees
   * (same leader, same epoch). The ReplicaManager applies images on its own queue, so it may lag the
   * image for a moment; the image is the truth.
   */
  private imageAgrees(slot: Slot): boolean {
    if (slot.leaderEpoch === null) return false;
    const placement = this.topics.placement(CONSUMER_OFFSETS_TOPIC, slot.partition);
    return placement !== undefined && placement.leader === this.cluster!.nodeId && placement.leaderEpoch === slot.leaderEpoch;
  }

  /** Cluster: the topic's partition count from the image (it decides where each group lives). */
  private clusterPartitionCount(): number {
    const record = this.topics.topic(CONSUMER_OFFSETS_TOPIC);
    if (!record || record.partitions < 1) throw new FerryError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${CONSUMER_OFFSETS_TOPIC} does not exist yet`);
    return record.partitions;
  }

  /**
   * Cluster: creates __consumer_offsets through the controller unless it exists, retrying with
   * backoff while the controller is unreachable or too few brokers are registered for its
   * replication factor. Runs until it exists or the broker stops.
   */
  private async ensureOffsetsTopic(): Promise<void> {
    const cluster = this.cluster!;
    const partitions = cluster.config.int('offsets.topic.num.partitions');
    const replicationFactor = Math.max(1, Math.min(cluster.config.int('offsets.topic.replication.factor'), cluster.voterCount));
    for (let attempt = 1; !this.stopped; attempt++) {
      if (this.topics.topic(CONSUMER_OFFSETS_TOPIC)) return;
      try {
        await this.topics.createTopic({ name: CONSUMER_OFFSETS_TOPIC, partitions, replicationFactor, configs: OFFSETS_TOPIC_CONFIGS }, { internal: true });
        this.logger.info({ partitions, replicationFactor }, `${CONSUMER_OFFSETS_TOPIC} created`);
        return;
      } catch (err) {
        if (err instanceof FerryError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS) return;
        // Expected while the quorum elects a controller or brokers are still registering
        // (INVALID_REPLICATION_FACTOR until enough are); anything else is worth a warning.
        const expected = err instanceof FerryError && (err.retriable || err.code === ErrorCode.INVALID_REPLICATION_FACTOR);
        const fields = { attempt, partitions, replicationFactor, err: (err as Error).message, code: (err as FerryError).code };
        if (!expected || attempt % 25 === 0) this.logger.warn(fields, `${CONSUMER_OFFSETS_TOPIC} not created yet; retrying`);
        else this.logger.debug(fields, `${CONSUMER_OFFSETS_TOPIC} not created yet; retrying`);
        const delay = Math.min(OFFSETS_TOPIC_RETRY_MAX_MS, OFFSETS_TOPIC_RETRY_MS * 2 ** Math.min(attempt - 1, 10));
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
      }
    }
  }

  /**
   * Cluster: the ReplicaManager's leadership news for __consumer_offsets-`partition`. Leading (a new
   * epoch): drop whatever was loaded and replay afresh. Not leading: drop the shard at once, so no
   * request is answered from state this broker may no longer write.
   */
  private onLeadership(partition: number, isLeader: boolean, leaderEpoch: number): void {
    if (this.stopped) return;
    let slot = this.slots[partition];
    if (isLeader) {
      if (!slot) this.slots[partition] = slot = newSlot(partition, null);
      if (slot.leaderEpoch === leaderEpoch) return;
      this.unload(slot);
      slot.leaderEpoch = leaderEpoch;
      this.logger.info({ partition, leaderEpoch }, 'group coordinator: leading the partition; loading its groups');
      void this.load(slot);
      return;
    }
    if (!slot || slot.leaderEpoch === null || leaderEpoch < slot.leaderEpoch) return;
    const groups = slot.shard?.groups.size ?? 0;
    this.unload(slot);
    slot.leaderEpoch = null;
    this.logger.info({ partition, leaderEpoch, groups }, 'group coordinator: no longer leading the partition; its groups are unloaded');
  }

  /** Drops the shard and cancels a load in progress (a newer load or none replaces it). */
  private unload(slot: Slot): void {
    slot.shard = null;
    slot.loads++;
    slot.cancelWait?.();
  }

  /** Runs a handler on the shard coordinating `groupId` and answers once its records are durable. */
  async run<T>(groupId: string, handler: (shard: GroupCoordinatorShard, nowMs: number) => CoordinatorResult<T>): Promise<T> {
    const slot = this.slotFor(groupId);
    const shard = this.readyShard(slot);
    let result: CoordinatorResult<T>;
    try {
      result = handler(shard, this.clock());
    } catch (err) {
      // Handlers throw FerryErrors before writing anything; anything else is a bug that may have
      // left records applied but unwritten, so rebuild the shard from what the log holds.
      if (!(err instanceof FerryError) && slot.shard === shard) {
        this.logger.error({ err, partition: slot.partition }, 'group coordinator handler failed; reloading the partition');
        slot.shard = null;
        void this.load(slot);
      }
      throw err;
    }
    await this.commit(slot, shard, result);
    return result.response;
  }

  /** A read on the group's shard, answered once everything it may reflect is durable. */
  async read<T>(groupId: string, reader: (shard: GroupCoordinatorShard) => T): Promise<T> {
    const slot = this.slotFor(groupId);
    this.readyShard(slot); // fail fast when not loaded / not the coordinator
    // Read only once no append is in flight: the shard applies records before they are durable, and
    // a read taken then could return a commit whose append later fails (the chaos checker saw a
    // committed offset move backwards that way). A failed append reloads the shard, so readyShard
    // then answers COORDINATOR_LOAD_IN_PROGRESS instead of state the log does not hold.
    await this.settled(slot);
    return reader(this.readyShard(slot));
  }

  /** Resolves once no append is in flight on the slot (at most READ_SETTLE_ROUNDS_MAX rounds, so a busy group cannot starve a read). */
  private async settled(slot: Slot): Promise<void> {
    for (let i = 0; i < READ_SETTLE_ROUNDS_MAX; i++) {
      const tail = slot.tail;
      await tail;
      if (slot.tail === tail) return;
    }
  }

  /**
   * A read over every shard this broker coordinates (ListGroups; in a cluster, the partitions it
   * leads — clients ask every broker); COORDINATOR_LOAD_IN_PROGRESS while any is loading.
   */
  async readAll<T>(reader: (shard: GroupCoordinatorShard) => T[]): Promise<T[]> {
    const slots = this.cluster ? this.slots.filter((s) => s && this.imageAgrees(s)) : this.slots;
    for (const slot of slots) this.readyShard(slot); // fail fast while one is loading
    // As `read`: only state whose appends are durable (a group created by a failed append is not listed).
    await Promise.all(slots.map((s) => this.settled(s)));
    return slots.flatMap((slot) => reader(this.readyShard(slot)));
  }

  private slotFor(groupId: string): Slot {
    if (!this.cluster) return this.slots[groupPartition(groupId, this.slots.length)]!;
    if (this.stopped) throw new FerryError(ErrorCode.SHUTTING_DOWN, 'broker is shutting down');
    const partition = groupPartition(groupId, this.clusterPartitionCount());
    const slot = this.slots[partition];
    if (slot && this.imageAgrees(slot)) return slot;
    // The image may already name this broker (in a new epoch) while the ReplicaManager has not applied it yet.
    if (this.topics.placement(CONSUMER_OFFSETS_TOPIC, partition)?.leader === this.cluster.nodeId) {
      throw new FerryError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, `${CONSUMER_OFFSETS_TOPIC}-${partition} is about to be loaded`);
    }
    throw new FerryError(ErrorCode.NOT_COORDINATOR, `broker ${this.cluster.nodeId} does not coordinate group ${groupId} (${CONSUMER_OFFSETS_TOPIC}-${partition} is led elsewhere)`);
  }

  private readyShard(slot: Slot): GroupCoordinatorShard {
    if (this.stopped) throw new FerryError(ErrorCode.SHUTTING_DOWN, 'broker is shutting down');
    if (!slot.shard) throw new FerryError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, `${CONSUMER_OFFSETS_TOPIC}-${slot.partition} is still loading`);
    return slot.shard;
  }

  private async commit<T>(slot: Slot, shard: GroupCoordinatorShard, result: CoordinatorResult<T>): Promise<void> {
    this.logEvents(result.events);
    if (result.records.length === 0) {
      await slot.tail;
      return;
    }
    if (this.cluster && slot.shard !== shard) {
      // Leadership moved between the handler and here: these records must not reach the log.
      throw new FerryError(ErrorCode.NOT_COORDINATOR, `${CONSUMER_OFFSETS_TOPIC}-${slot.partition} is no longer coordinated here`);
    }
    const append = this.append(slot, result.records);
    slot.tail = append.then(
      () => undefined,
      () => undefined,
    );
    try {
      await append;
    } catch (err) {
      if (this.cluster && err instanceof FerryError && err.code === ErrorCode.NOT_LEADER_OR_FOLLOWER) {
        // Leadership moved: the ReplicaManager's news drops (or has dropped) this shard.
        this.logger.info({ partition: slot.partition, err: err.message }, 'group records not written: leadership moved');
        throw new FerryError(ErrorCode.NOT_COORDINATOR, `${CONSUMER_OFFSETS_TOPIC}-${slot.partition} is no longer led here: ${err.message}`);
      }
      // Memory may be ahead of the log (nothing written), or the records may be written but not
      // committed (acks=all timed out): either way, rebuild from the log and serve again only
      // once it is committed.
      this.logger.error({ err, partition: slot.partition, records: result.records.length }, 'appending group records failed; reloading the partition');
      if (slot.shard === shard) {
        slot.shard = null;
        void this.load(slot);
      }
      throw new FerryError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `group state could not be written: ${(err as Error).message}`);
    }
  }

  private append(slot: Slot, records: CoordinatorRecord[]): Promise<unknown> {
    const log = slot.log!; // set by every load before a shard serves
    const maxBatchBytes = log.currentConfig.maxMessageBytes;
    const now = this.clock();
    const batches = encodeBatches(records.map(encodeRecord).map((r) => ({ key: r.key, value: r.value, timestamp: now })), maxBatchBytes);
    const bytes = Buffer.concat(batches);
    const validated = validateBatches(bytes, { maxBatchBytes });
    if (this.cluster) {
      // acks=all: answered only once every in-sync replica has the records, so a new leader has them.
      return this.topics.appendRecords(CONSUMER_OFFSETS_TOPIC, slot.partition, bytes, validated, ACKS_ALL, OFFSETS_COMMIT_TIMEOUT_MS);
    }
    return log.appendAsLeader(bytes, validated, SINGLE_NODE_LEADER_EPOCH);
  }

  /**
   * Replays the partition into a fresh shard; retries after LOAD_RETRY_MS on failure.
   *
   * Cluster: the log is the one this broker leads, replayed up to its log end — not only up to its
   * high watermark. A new leader keeps everything in its log (followers truncate to it, never it to
   * them), so the records past its HW, written by the previous leader, are the history every later
   * append extends; a shard that skipped them would write records computed from state the log
   * contradicts, and its next reload would disagree with what it answered. Those records are not
   * committed yet, though: the previous leader never answered them, and if this broker died now the
   * next leader might not have them. So, as Kafka's coordinator does before it serves, the shard is
   * made available only once the HW has reached the replayed log end — then everything it reflects
   * is on every in-sync replica. Nothing else appends meanwhile (only the coordinator writes this
   * topic, and it serves nothing yet), so the wait ends as soon as the followers have fetched the
   * tail (or, if one is gone, once the ISR has shrunk — and never while the ISR is below
   * min.insync.replicas, when no append could be acknowledged anyway).
   */
  private async load(slot: Slot): Promise<void> {
    const started = this.clock();
    const loadNumber = ++slot.loads;
    await slot.tail;
    if (this.stopped || slot.loads !== loadNumber) return;
    let log: PartitionLog;
    if (this.cluster) {
      if (slot.leaderEpoch === null) return;
      // A restarted broker's first images are old: it may "lead" a partition that moved while it was
      // down. Serve nothing until the metadata has caught up and still says so.
      if (!(await this.metadataCatchesUp(slot, loadNumber))) return;
      if (!this.imageAgrees(slot)) {
        this.logger.info({ partition: slot.partition, leaderEpoch: slot.leaderEpoch }, 'group coordinator: leadership from stale metadata; not loading');
        return; // the ReplicaManager's news (resigned, or a newer epoch) follows
      }
      try {
        log = this.topics.leaderLog(CONSUMER_OFFSETS_TOPIC, slot.partition, slot.leaderEpoch).log;
      } catch (err) {
        this.logger.warn({ err: (err as Error).message, partition: slot.partition, leaderEpoch: slot.leaderEpoch }, 'group coordinator partition not readable as leader; retrying');
        this.retryLoad(slot, loadNumber);
        return;
      }
    } else {
      log = slot.log!;
    }
    const shard = new GroupCoordinatorShard(this.coordinatorConfig);
    let replayed: { records: number; skipped: number; end: number };
    try {
      replayed = await this.replay(slot.partition, log, shard);
    } catch (err) {
      this.logger.error({ err, partition: slot.partition }, 'loading group state failed; retrying');
      this.retryLoad(slot, loadNumber);
      return;
    }
    if (this.stopped || slot.loads !== loadNumber) return;
    if (this.cluster && log.highWatermark < replayed.end) {
      this.logger.info({ partition: slot.partition, highWatermark: log.highWatermark, logEndOffset: replayed.end }, 'group coordinator: waiting for the high watermark to reach the log end before serving');
      if (!(await this.highWatermarkReaches(slot, log, replayed.end))) return;
      if (this.stopped || slot.loads !== loadNumber) return;
    }
    if (this.cluster && !this.imageAgrees(slot)) return; // leadership moved meanwhile; its news follows
    const now = this.clock();
    shard.onLoaded(now);
    slot.log = log;
    slot.shard = shard;
    this.logger.info(
      { partition: slot.partition, leaderEpoch: slot.leaderEpoch ?? undefined, groups: shard.groups.size, records: replayed.records, skipped: replayed.skipped, ms: now - started },
      'group coordinator partition loaded',
    );
    // Topics may have changed while this partition was not serving.
    void this.commit(slot, shard, shard.onTopicMetadata(this.topicMetadata(), now)).catch(() => undefined);
  }

  /** Cluster: resolves true once the metadata caught up (see MetadataProgress), false if the load was superseded. */
  private async metadataCatchesUp(slot: Slot, loadNumber: number): Promise<boolean> {
    const metadata = this.cluster!.metadata;
    let logged = false;
    while (!this.metadataCaughtUp()) {
      if (this.stopped || slot.loads !== loadNumber) return false;
      if (!logged) {
        logged = true;
        this.logger.info({ partition: slot.partition, metadataOffset: metadata.image.offset, brokerEpoch: metadata.brokerEpoch }, 'group coordinator: waiting for the metadata to catch up before loading');
      }
      const target = metadata.brokerEpoch;
      if (target === null) await new Promise((resolve) => setTimeout(resolve, 100).unref());
      else await metadata.waitForOffset(target, METADATA_WAIT_MS).catch(() => undefined);
    }
    return !this.stopped && slot.loads === loadNumber;
  }

  private retryLoad(slot: Slot, loadNumber: number): void {
    if (!this.stopped) setTimeout(() => void (slot.loads === loadNumber && this.load(slot)), LOAD_RETRY_MS).unref();
  }

  /** Replays `log` from its start to its current end into `shard`. */
  private async replay(partition: number, log: PartitionLog, shard: GroupCoordinatorShard): Promise<{ records: number; skipped: number; end: number }> {
    let records = 0;
    let skipped = 0;
    const end = log.logEndOffset;
    let offset = log.logStartOffset;
    while (offset < end) {
      const read = await log.read(offset, LOAD_READ_BYTES, { maxOffset: end });
      let next = offset;
      for (const { pos } of iterateBatches(read.records)) {
        const batch = decodeBatch(read.records, pos);
        for (const r of batch.records) {
          if (r.offset < offset) continue;
          next = r.offset + 1;
          try {
            shard.replay(decodeRecord(r.key, r.value));
            records++;
          } catch (err) {
            // One unreadable record must not take every group of the partition down with it.
            skipped++;
            this.logger.warn({ err, partition, offset: r.offset }, 'skipping an unreadable group record');
          }
        }
        next = Math.max(next, batch.header.baseOffset + batch.header.lastOffsetDelta + 1);
      }
      if (next <= offset) break; // nothing readable below `end` (compaction gap at the tail)
      offset = next;
    }
    return { records, skipped, end };
  }

  /** Cluster: resolves true once `log`'s HW ≥ `end`, false if the load is cancelled first (unload, stop). */
  private highWatermarkReaches(slot: Slot, log: PartitionLog, end: number): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (reached: boolean): void => {
        log.off('highWatermark', check);
        if (slot.cancelWait === cancel) slot.cancelWait = null;
        resolve(reached);
      };
      const check = (): void => {
        if (log.highWatermark >= end) finish(true);
      };
      const cancel = (): void => finish(false);
      slot.cancelWait?.();
      slot.cancelWait = cancel;
      log.on('highWatermark', check);
      check();
    });
  }

  private topicMetadata(): Map<string, number> {
    return new Map(this.topics.list(false).map((t) => [t.name, t.partitions]));
  }

  private pushTopicMetadata(): void {
    if (this.stopped) return;
    const topics = this.topicMetadata();
    const now = this.clock();
    for (const slot of this.slots) {
      const shard = slot?.shard;
      if (shard) void this.commit(slot, shard, shard.onTopicMetadata(topics, now)).catch(() => undefined);
    }
  }

  private tick(): void {
    if (this.stopped) return;
    const now = this.clock();
    for (const slot of this.slots) {
      const shard = slot?.shard;
      if (!shard) continue;
      const result = shard.tick(now);
      if (result.records.length > 0 || result.events.length > 0) void this.commit(slot, shard, result).catch(() => undefined);
    }
  }

  private logEvents(events: CoordinatorEvent[]): void {
    for (const { msg, level, ...fields } of events) {
      if (level === 'warn') this.logger.warn(fields, msg);
      else this.logger.info(fields, msg);
    }
  }
}

function newSlot(partition: number, log: PartitionLog | null): Slot {
  return { partition, log, shard: null, tail: Promise.resolve(), loads: 0, leaderEpoch: null, cancelWait: null };
}

/** One batch when it fits in maxBatchBytes, else the records split in halves until each part fits. */
function encodeBatches(records: Array<{ key: Buffer; value: Buffer | null; timestamp: number }>, maxBatchBytes: number): Buffer[] {
  const batch = encodeRecordBatch(records);
  if (batch.length <= maxBatchBytes || records.length === 1) return [batch];
  const half = Math.ceil(records.length / 2);
  return [...encodeBatches(records.slice(0, half), maxBatchBytes), ...encodeBatches(records.slice(half), maxBatchBytes)];
}
