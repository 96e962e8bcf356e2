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
import { SINGLE_NODE_LEADER_EPOCH } from './leader-epoch.js';
import type { TopicManager } from './topic-manager.js';

/** How often sessions, revocation deadlines and offset retention are checked, ms. */
export const TICK_INTERVAL_MS = 250;
/** Bytes read per step while replaying a partition. */
export const LOAD_READ_BYTES = 4 * 1024 * 1024;
/** Wait before retrying a partition load that failed (e.g. an I/O error), ms. */
export const LOAD_RETRY_MS = 1_000;
const MIB = 1024 * 1024;
/** __consumer_offsets topic settings: Kafka's offsets.topic.segment.bytes; room for big group targets. */
export const OFFSETS_TOPIC_CONFIGS: Record<string, string> = {
  'cleanup.policy': 'compact',
  'segment.bytes': String(100 * MIB),
  'max.message.bytes': String(8 * MIB),
};

interface Slot {
  partition: number;
  log: PartitionLog;
  shard: GroupCoordinatorShard | null;
  /** Settles when every append issued so far has (durable, or failed). */
  tail: Promise<void>;
  loads: number;
}

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
  private readonly slots: Slot[];
  private tickTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  private constructor(
    private readonly topics: TopicManager,
    private readonly coordinatorConfig: CoordinatorConfig,
    private readonly logger: Logger,
    logs: PartitionLog[],
    private readonly clock: () => number,
  ) {
    this.slots = logs.map((log, partition) => ({ partition, log, shard: null, tail: Promise.resolve(), loads: 0 }));
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

  /** Loads every partition in the background, then serves; starts the tick timer and topic listener. */
  start(): void {
    for (const slot of this.slots) void this.load(slot);
    this.tickTimer = setInterval(() => this.tick(), TICK_INTERVAL_MS);
    this.tickTimer.unref();
    this.topics.onTopicsChanged(() => this.pushTopicMetadata());
  }

  /** Stops the timer and waits for appends in flight (the logs are closed after this). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    await Promise.all(this.slots.map((s) => s.tail));
  }

  get loaded(): boolean {
    return this.slots.every((s) => s.shard !== null);
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
    const value = reader(this.readyShard(slot));
    await slot.tail;
    return value;
  }

  /** A read over every shard (ListGroups); COORDINATOR_LOAD_IN_PROGRESS while any is loading. */
  async readAll<T>(reader: (shard: GroupCoordinatorShard) => T[]): Promise<T[]> {
    const out = this.slots.flatMap((slot) => reader(this.readyShard(slot)));
    await Promise.all(this.slots.map((s) => s.tail));
    return out;
  }

  private slotFor(groupId: string): Slot {
    return this.slots[groupPartition(groupId, this.slots.length)]!;
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
    const append = this.append(slot, result.records);
    slot.tail = append.then(
      () => undefined,
      () => undefined,
    );
    try {
      await append;
    } catch (err) {
      this.logger.error({ err, partition: slot.partition, records: result.records.length }, 'appending group records failed; reloading the partition');
      if (slot.shard === shard) {
        slot.shard = null;
        void this.load(slot);
      }
      throw new FerryError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `group state could not be written: ${(err as Error).message}`);
    }
  }

  private append(slot: Slot, records: CoordinatorRecord[]): Promise<unknown> {
    const maxBatchBytes = slot.log.currentConfig.maxMessageBytes;
    const now = this.clock();
    const batches = encodeBatches(records.map(encodeRecord).map((r) => ({ key: r.key, value: r.value, timestamp: now })), maxBatchBytes);
    const bytes = Buffer.concat(batches);
    return slot.log.appendAsLeader(bytes, validateBatches(bytes, { maxBatchBytes }), SINGLE_NODE_LEADER_EPOCH);
  }

  /** Replays the partition into a fresh shard; retries after LOAD_RETRY_MS on failure. */
  private async load(slot: Slot): Promise<void> {
    const started = this.clock();
    const loadNumber = ++slot.loads;
    await slot.tail;
    const shard = new GroupCoordinatorShard(this.coordinatorConfig);
    let records = 0;
    let skipped = 0;
    try {
      const end = slot.log.logEndOffset;
      let offset = slot.log.logStartOffset;
      while (offset < end) {
        const read = await slot.log.read(offset, LOAD_READ_BYTES, { maxOffset: end });
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
              this.logger.warn({ err, partition: slot.partition, offset: r.offset }, 'skipping an unreadable group record');
            }
          }
          next = Math.max(next, batch.header.baseOffset + batch.header.lastOffsetDelta + 1);
        }
        if (next <= offset) break; // nothing readable below `end` (compaction gap at the tail)
        offset = next;
      }
    } catch (err) {
      this.logger.error({ err, partition: slot.partition }, 'loading group state failed; retrying');
      if (!this.stopped) setTimeout(() => void (slot.loads === loadNumber && this.load(slot)), LOAD_RETRY_MS).unref();
      return;
    }
    if (this.stopped || slot.loads !== loadNumber) return;
    const now = this.clock();
    shard.onLoaded(now);
    slot.shard = shard;
    this.logger.info({ partition: slot.partition, groups: shard.groups.size, records, skipped, ms: now - started }, 'group coordinator partition loaded');
    // Topics may have changed while this partition was not serving.
    void this.commit(slot, shard, shard.onTopicMetadata(this.topicMetadata(), now)).catch(() => undefined);
  }

  private topicMetadata(): Map<string, number> {
    return new Map(this.topics.list(false).map((t) => [t.name, t.partitions]));
  }

  private pushTopicMetadata(): void {
    if (this.stopped) return;
    const topics = this.topicMetadata();
    const now = this.clock();
    for (const slot of this.slots) {
      const shard = slot.shard;
      if (shard) void this.commit(slot, shard, shard.onTopicMetadata(topics, now)).catch(() => undefined);
    }
  }

  private tick(): void {
    if (this.stopped) return;
    const now = this.clock();
    for (const slot of this.slots) {
      const shard = slot.shard;
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

/** One batch when it fits in maxBatchBytes, else the records split in halves until each part fits. */
function encodeBatches(records: Array<{ key: Buffer; value: Buffer | null; timestamp: number }>, maxBatchBytes: number): Buffer[] {
  const batch = encodeRecordBatch(records);
  if (batch.length <= maxBatchBytes || records.length === 1) return [batch];
  const half = Math.ceil(records.length / 2);
  return [...encodeBatches(records.slice(0, half), maxBatchBytes), ...encodeBatches(records.slice(half), maxBatchBytes)];
}
