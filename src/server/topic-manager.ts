/**
 * Topics on this broker: the registry (what exists, with which overrides) joined with the log
 * manager (the partition logs on disk) and the broker's config (topic defaults, limits).
 *
 * Every topic change goes through one SerialExecutor, so a create racing a delete of the same name
 * cannot leave the registry and the logs disagreeing. Start-up reconciles the two: the registry wins.
 *
 * In a cluster (`cluster` set) the catalogue is the committed metadata image instead of the
 * registry, topic changes are forwarded to the active controller, and the logs belong to the
 * ReplicaManager (attached after open), which creates, leads, follows and deletes them as the
 * image says. Produce and consumer fetches go through `appendRecords` / `leaderLog`, which on a
 * single node mean "this broker leads everything at epoch 0".
 */
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/broker-config.js';
import { validateTopicConfigs } from '../config/broker-config.js';
import type { ConfigValue } from '../config/config-def.js';
import { toLogConfig, TOPIC_CONFIG_BY_NAME, TOPIC_CONFIGS } from '../config/topic-configs.js';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { LogManager, type LogConfig, type PartitionLog } from '../storage/index.js';
import { SerialExecutor } from '../util/serial-executor.js';
import { isInternalTopic, validateTopicName, validateUserTopicName } from '../config/topic-names.js';
import type { ClusterTopics } from './cluster/cluster-topics.js';
import type { Acks } from '../replication/isr/index.js';
import type { ValidatedBatches } from '../protocol/record-batch.js';
import type { AppendResult } from '../storage/index.js';
import { SINGLE_NODE_LEADER_EPOCH } from './leader-epoch.js';
import type { ReplicaManager } from './replication/replica-manager.js';
import { TopicRegistry, type TopicRecord } from './topic-registry.js';

/** Where a partition lives: the single node, or the metadata image's registration. */
export interface PartitionPlacement {
  leader: number;
  leaderEpoch: number;
  replicas: readonly number[];
  isr: readonly number[];
}

export interface NewTopicSpec {
  name: string;
  partitions?: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export type ConfigSourceName = 'DEFAULT' | 'BROKER' | 'TOPIC';

export interface EffectiveConfigEntry {
  name: string;
  value: string;
  source: ConfigSourceName;
}

export class TopicManager {
  private readonly changes = new SerialExecutor();
  private readonly changeListeners: Array<() => void> = [];
  private replicas: ReplicaManager | null = null;

  private constructor(
    private readonly config: BrokerConfig,
    /** The single node's catalogue; null in a cluster. */
    private readonly registry: TopicRegistry | null,
    readonly logs: LogManager,
    private readonly logger: Logger,
    /** The cluster's catalogue and controller forwarding; null on a single node. */
    readonly cluster: ClusterTopics | null,
  ) {
    cluster?.onTopicsChanged(() => this.notifyTopicsChanged());
  }

  static async open(config: BrokerConfig, logger: Logger, cluster: ClusterTopics | null = null): Promise<TopicManager> {
    const registry = cluster ? null : await TopicRegistry.open(config.dataDir);
    const logs = new LogManager({
      dataDir: config.dataDir,
      logger,
      retentionCheckIntervalMs: config.int('log.retention.check.interval.ms'),
      cleanerBackoffMs: config.int('log.cleaner.backoff.ms'),
      cleanerDedupeBufferBytes: config.int('log.cleaner.dedupe.buffer.size'),
      producerIdExpirationMs: config.int('producer.id.expiration.ms'),
    });
    const manager = new TopicManager(config, registry, logs, logger, cluster);
    if (registry) await manager.reconcile(registry);
    else await manager.loadClusterLogs();
    return manager;
  }

  /** The cluster's data plane; set once, right after open. */
  attachReplication(replicas: ReplicaManager): void {
    this.replicas = replicas;
  }

  /**
   * In a cluster the image is not known yet at open: logs are opened (recovered) as found, and the
   * ReplicaManager takes them over as the image assigns roles.
   */
  private async loadClusterLogs(): Promise<void> {
    const started = Date.now();
    const loaded = await this.logs.loadAll((topic) => this.logConfigFor(topic));
    this.logger.info({ partitions: loaded.length, ms: Date.now() - started }, 'logs loaded (roles follow from the cluster metadata)');
  }

  /** Opens every log, creates logs the registry lists but the disk lacks, removes orphans. */
  private async reconcile(registry: TopicRegistry): Promise<void> {
    const started = Date.now();
    const loaded = await this.logs.loadAll((topic) => this.logConfigFor(topic));
    const orphanTopics = new Set<string>();
    for (const log of loaded) {
      const topic = registry.get(log.topic);
      if (!topic || log.partition >= topic.partitions) orphanTopics.add(log.topic);
    }
    for (const name of orphanTopics) {
      if (registry.get(name)) continue; // partitions beyond the count: left in place, unreachable
      this.logger.warn({ topic: name }, 'removing logs of a topic the registry does not list (deleted before a crash?)');
      await this.logs.deleteTopic(name);
    }
    let created = 0;
    for (const topic of registry.list()) {
      for (let p = 0; p < topic.partitions; p++) {
        if (!this.logs.get(topic.name, p)) {
          await this.logs.create(topic.name, p, this.logConfigFor(topic.name));
          created++;
        }
      }
    }
    this.logger.info(
      { topics: registry.list().length, partitions: loaded.length + created, recreatedPartitions: created, ms: Date.now() - started },
      'logs loaded',
    );
  }

  start(): void {
    this.logs.start();
  }

  /**
   * `listener` runs after a topic is created or deleted or gains partitions (the group coordinator
   * re-evaluates subscriptions). It must not throw; if it does, the error is logged and ignored.
   */
  onTopicsChanged(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  private notifyTopicsChanged(): void {
    for (const listener of this.changeListeners) {
      try {
        listener();
      } catch (err) {
        this.logger.error({ err }, 'topic change listener failed');
      }
    }
  }

  async shutdown(): Promise<void> {
    await this.logs.shutdown();
  }

  topic(name: string): TopicRecord | undefined {
    return this.catalog.get(name);
  }

  list(includeInternal: boolean): TopicRecord[] {
    return this.catalog.list().filter((t) => includeInternal || !isInternalTopic(t.name));
  }

  private get catalog(): { get(name: string): TopicRecord | undefined; list(): TopicRecord[] } {
    return (this.registry ?? this.cluster)!;
  }

  /** Leader, epoch, replicas and ISR of a partition (undefined: no such partition). */
  placement(topic: string, partition: number): PartitionPlacement | undefined {
    if (this.cluster) {
      const reg = this.cluster.placement(topic, partition);
      return reg ? { leader: reg.leader, leaderEpoch: reg.leaderEpoch, replicas: reg.replicas, isr: reg.isr } : undefined;
    }
    const record = this.registry!.get(topic);
    if (!record || partition < 0 || partition >= record.partitions) return undefined;
    return { leader: this.config.nodeId, leaderEpoch: SINGLE_NODE_LEADER_EPOCH, replicas: [this.config.nodeId], isr: [this.config.nodeId] };
  }

  /**
   * The log a consumer may read: this broker must lead the partition (in `currentLeaderEpoch` when
   * ≥ 0). Errors: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER (with a hint),
   * FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, LEADER_NOT_AVAILABLE.
   */
  leaderLog(topic: string, partition: number, currentLeaderEpoch: number): { log: PartitionLog; leaderEpoch: number } {
    if (this.cluster) {
      if (!this.replicas) throw new FerryError(ErrorCode.LEADER_NOT_AVAILABLE, 'this broker is still joining the cluster');
      return this.replicas.leaderLog(topic, partition, currentLeaderEpoch);
    }
    const log = this.partitionLog(topic, partition);
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch < SINGLE_NODE_LEADER_EPOCH) throw new FerryError(ErrorCode.FENCED_LEADER_EPOCH, `leader epoch ${currentLeaderEpoch} is stale`);
    if (currentLeaderEpoch > SINGLE_NODE_LEADER_EPOCH) {
      throw new FerryError(ErrorCode.UNKNOWN_LEADER_EPOCH, `leader epoch ${currentLeaderEpoch} is newer than this broker's ${SINGLE_NODE_LEADER_EPOCH}`);
    }
    return { log, leaderEpoch: SINGLE_NODE_LEADER_EPOCH };
  }

  /** Appends produce bytes as the partition's leader; acks=all waits for the ISR (cluster). */
  appendRecords(topic: string, partition: number, bytes: Buffer, validated: ValidatedBatches, acks: Acks, timeoutMs: number): Promise<AppendResult> {
    if (this.cluster) {
      if (!this.replicas) return Promise.reject(new FerryError(ErrorCode.LEADER_NOT_AVAILABLE, 'this broker is still joining the cluster'));
      return this.replicas.appendAsLeader(topic, partition, bytes, validated, acks, timeoutMs);
    }
    return this.partitionLog(topic, partition).appendAsLeader(bytes, validated, SINGLE_NODE_LEADER_EPOCH);
  }

  /** The local log of a partition (any role), or FerryError(UNKNOWN_TOPIC_OR_PARTITION / NOT_LEADER_OR_FOLLOWER). */
  partitionLog(topic: string, partition: number): PartitionLog {
    const record = this.catalog.get(topic);
    if (!record) throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${topic}`);
    if (!Number.isInteger(partition) || partition < 0 || partition >= record.partitions) {
      throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${topic} has no partition ${partition} (it has ${record.partitions})`);
    }
    const log = this.logs.get(topic, partition);
    if (!log && this.cluster) throw new FerryError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${this.config.nodeId} holds no replica of ${topic}-${partition}`);
    if (!log) throw new FerryError(ErrorCode.LEADER_NOT_AVAILABLE, `partition ${topic}-${partition} is not loaded yet`);
    return log;
  }

  /** Topic-level values in effect: defaults < broker settings < topic overrides. */
  effectiveValues(topic: string): Map<string, ConfigValue> {
    const values = this.config.topicDefaults();
    const record = this.catalog.get(topic);
    // In a cluster an unset min.insync.replicas means min(2, replication factor) (DESIGN §3).
    if (record && this.cluster) values.set('min.insync.replicas', this.cluster.minInsyncFor(topic, record.replicationFactor));
    if (record) for (const [k, v] of validateTopicConfigs(record.configs)) values.set(k, v);
    return values;
  }

  logConfigFor(topic: string): LogConfig {
    return toLogConfig(this.effectiveValues(topic));
  }

  describeConfigs(topic: string): EffectiveConfigEntry[] {
    const record = this.catalog.get(topic);
    const values = this.effectiveValues(topic);
    return TOPIC_CONFIGS.map((def) => {
      let source: ConfigSourceName = this.config.layerOf(def.name) === 'default' ? 'DEFAULT' : 'BROKER';
      if (record && Object.prototype.hasOwnProperty.call(record.configs, def.name)) source = 'TOPIC';
      return { name: def.name, value: String(values.get(def.name)), source };
    });
  }

  /** Auto-creates `name` when allowed; returns the topic or undefined. Validation errors throw. */
  async ensureTopic(name: string, allowAutoCreate: boolean): Promise<TopicRecord | undefined> {
    const existing = this.catalog.get(name);
    if (existing || !allowAutoCreate || !this.config.bool('auto.create.topics.enable')) return existing;
    validateUserTopicName(name);
    try {
      return await this.createTopic({ name }, { auto: true });
    } catch (err) {
      // Two requests auto-creating the same topic at once: the loser sees it exist.
      if (err instanceof FerryError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS) return this.catalog.get(name);
      throw err;
    }
  }

  /** Validates and (unless validateOnly) creates a topic and its partition logs. */
  createTopic(spec: NewTopicSpec, opts: { validateOnly?: boolean; auto?: boolean; internal?: boolean } = {}): Promise<TopicRecord> {
    if (this.cluster) {
      const cluster = this.cluster;
      return (async () => {
        if (opts.internal) validateTopicName(spec.name);
        else validateUserTopicName(spec.name);
        if (spec.configs) validateTopicConfigs(spec.configs);
        const record = await cluster.createTopic(spec, opts.validateOnly ?? false);
        if (!opts.validateOnly) this.logger.info({ topic: spec.name, partitions: record.partitions, replicationFactor: record.replicationFactor, auto: opts.auto ?? false }, 'topic created (through the controller)');
        return record;
      })();
    }
    const registry = this.registry!;
    return this.changes.run(async () => {
      if (opts.internal) validateTopicName(spec.name);
      else validateUserTopicName(spec.name);
      if (registry.get(spec.name)) throw new FerryError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${spec.name} already exists`);
      const partitions = spec.partitions && spec.partitions > 0 ? spec.partitions : this.config.int('num.partitions');
      this.checkPartitionCount(partitions);
      const replicationFactor = spec.replicationFactor && spec.replicationFactor > 0 ? spec.replicationFactor : this.config.int('default.replication.factor');
      if (replicationFactor !== 1) {
        throw new FerryError(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor ${replicationFactor} exceeds the 1 available broker`);
      }
      const configs = spec.configs ?? {};
      validateTopicConfigs(configs);
      if (opts.validateOnly) {
        return { name: spec.name, id: '', partitions, replicationFactor, configs, createdAtMs: Date.now() };
      }
      const record = await registry.create({ name: spec.name, partitions, replicationFactor, configs });
      const logConfig = this.logConfigFor(spec.name);
      for (let p = 0; p < partitions; p++) await this.logs.create(spec.name, p, logConfig);
      this.logger.info({ topic: spec.name, partitions, configs, auto: opts.auto ?? false }, 'topic created');
      this.notifyTopicsChanged();
      return record;
    });
  }

  deleteTopic(name: string): Promise<void> {
    if (this.cluster) {
      if (isInternalTopic(name)) return Promise.reject(new FerryError(ErrorCode.INVALID_TOPIC, `internal topic ${name} cannot be deleted`));
      return this.cluster.deleteTopic(name);
    }
    const registry = this.registry!;
    return this.changes.run(async () => {
      if (!this.config.bool('delete.topic.enable')) throw new FerryError(ErrorCode.POLICY_VIOLATION, 'topic deletion is disabled (delete.topic.enable=false)');
      if (!registry.get(name)) throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${name}`);
      if (isInternalTopic(name)) throw new FerryError(ErrorCode.INVALID_TOPIC, `internal topic ${name} cannot be deleted`);
      await registry.delete(name);
      await this.logs.deleteTopic(name);
      this.logger.info({ topic: name }, 'topic deleted');
      this.notifyTopicsChanged();
    });
  }

  createPartitions(name: string, totalCount: number, validateOnly: boolean): Promise<void> {
    if (this.cluster) return this.cluster.createPartitions(name, totalCount, validateOnly);
    const registry = this.registry!;
    return this.changes.run(async () => {
      const record = registry.get(name);
      if (!record) throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${name}`);
      if (totalCount <= record.partitions) {
        throw new FerryError(ErrorCode.INVALID_PARTITIONS, `topic ${name} has ${record.partitions} partitions; the new count ${totalCount} must be larger`);
      }
      this.checkPartitionCount(totalCount);
      if (validateOnly) return;
      const logConfig = this.logConfigFor(name);
      for (let p = record.partitions; p < totalCount; p++) await this.logs.create(name, p, logConfig);
      await registry.update(name, { partitions: totalCount });
      this.logger.info({ topic: name, from: record.partitions, to: totalCount }, 'partitions added');
      this.notifyTopicsChanged();
    });
  }

  alterConfigs(name: string, set: Record<string, string>, remove: string[], validateOnly: boolean): Promise<void> {
    if (this.cluster) {
      for (const key of remove) {
        if (!TOPIC_CONFIG_BY_NAME.has(key)) return Promise.reject(new FerryError(ErrorCode.INVALID_CONFIG, `unknown topic config ${key}`));
      }
      try {
        validateTopicConfigs(set);
      } catch (err) {
        return Promise.reject(err);
      }
      return this.cluster.alterConfigs(name, set, remove, validateOnly);
    }
    const registry = this.registry!;
    return this.changes.run(async () => {
      const record = registry.get(name);
      if (!record) throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${name}`);
      for (const key of remove) {
        if (!TOPIC_CONFIG_BY_NAME.has(key)) throw new FerryError(ErrorCode.INVALID_CONFIG, `unknown topic config ${key}`);
      }
      const next: Record<string, string> = { ...record.configs, ...set };
      for (const key of remove) delete next[key];
      validateTopicConfigs(next);
      if (validateOnly) return;
      await registry.update(name, { configs: next });
      const logConfig = this.logConfigFor(name);
      for (let p = 0; p < record.partitions; p++) this.logs.get(name, p)?.updateConfig(logConfig);
      this.logger.info({ topic: name, set, removed: remove }, 'topic configs altered');
    });
  }

  private checkPartitionCount(partitions: number): void {
    const max = this.config.int('max.partitions.per.topic');
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > max) {
      throw new FerryError(ErrorCode.INVALID_PARTITIONS, `partition count ${partitions} must be between 1 and ${max}`);
    }
  }
}
