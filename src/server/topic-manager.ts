/**
 * Topics on this broker: the registry (what exists, with which overrides) joined with the log
 * manager (the partition logs on disk) and the broker's config (topic defaults, limits).
 *
 * Every topic change goes through one SerialExecutor, so a create racing a delete of the same name
 * cannot leave the registry and the logs disagreeing. Start-up reconciles the two: the registry wins.
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
import { TopicRegistry, type TopicRecord } from './topic-registry.js';

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

  private constructor(
    private readonly config: BrokerConfig,
    private readonly registry: TopicRegistry,
    readonly logs: LogManager,
    private readonly logger: Logger,
  ) {}

  static async open(config: BrokerConfig, logger: Logger): Promise<TopicManager> {
    const registry = await TopicRegistry.open(config.dataDir);
    const logs = new LogManager({
      dataDir: config.dataDir,
      logger,
      retentionCheckIntervalMs: config.int('log.retention.check.interval.ms'),
      cleanerBackoffMs: config.int('log.cleaner.backoff.ms'),
      cleanerDedupeBufferBytes: config.int('log.cleaner.dedupe.buffer.size'),
    });
    const manager = new TopicManager(config, registry, logs, logger);
    await manager.reconcile();
    return manager;
  }

  /** Opens every log, creates logs the registry lists but the disk lacks, removes orphans. */
  private async reconcile(): Promise<void> {
    const started = Date.now();
    const loaded = await this.logs.loadAll((topic) => this.logConfigFor(topic));
    const orphanTopics = new Set<string>();
    for (const log of loaded) {
      const topic = this.registry.get(log.topic);
      if (!topic || log.partition >= topic.partitions) orphanTopics.add(log.topic);
    }
    for (const name of orphanTopics) {
      if (this.registry.get(name)) continue; // partitions beyond the count: left in place, unreachable
      this.logger.warn({ topic: name }, 'removing logs of a topic the registry does not list (deleted before a crash?)');
      await this.logs.deleteTopic(name);
    }
    let created = 0;
    for (const topic of this.registry.list()) {
      for (let p = 0; p < topic.partitions; p++) {
        if (!this.logs.get(topic.name, p)) {
          await this.logs.create(topic.name, p, this.logConfigFor(topic.name));
          created++;
        }
      }
    }
    this.logger.info(
      { topics: this.registry.list().length, partitions: loaded.length + created, recreatedPartitions: created, ms: Date.now() - started },
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
    return this.registry.get(name);
  }

  list(includeInternal: boolean): TopicRecord[] {
    return this.registry.list().filter((t) => includeInternal || !isInternalTopic(t.name));
  }

  /** The log for a partition, or FerryError(UNKNOWN_TOPIC_OR_PARTITION). */
  partitionLog(topic: string, partition: number): PartitionLog {
    const record = this.registry.get(topic);
    if (!record) throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${topic}`);
    if (!Number.isInteger(partition) || partition < 0 || partition >= record.partitions) {
      throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${topic} has no partition ${partition} (it has ${record.partitions})`);
    }
    const log = this.logs.get(topic, partition);
    if (!log) throw new FerryError(ErrorCode.LEADER_NOT_AVAILABLE, `partition ${topic}-${partition} is not loaded yet`);
    return log;
  }

  /** Topic-level values in effect: defaults < broker settings < topic overrides. */
  effectiveValues(topic: string): Map<string, ConfigValue> {
    const values = this.config.topicDefaults();
    const record = this.registry.get(topic);
    if (record) for (const [k, v] of validateTopicConfigs(record.configs)) values.set(k, v);
    return values;
  }

  logConfigFor(topic: string): LogConfig {
    return toLogConfig(this.effectiveValues(topic));
  }

  describeConfigs(topic: string): EffectiveConfigEntry[] {
    const record = this.registry.get(topic);
    const values = this.effectiveValues(topic);
    return TOPIC_CONFIGS.map((def) => {
      let source: ConfigSourceName = this.config.layerOf(def.name) === 'default' ? 'DEFAULT' : 'BROKER';
      if (record && Object.prototype.hasOwnProperty.call(record.configs, def.name)) source = 'TOPIC';
      return { name: def.name, value: String(values.get(def.name)), source };
    });
  }

  /** Auto-creates `name` when allowed; returns the topic or undefined. Validation errors throw. */
  async ensureTopic(name: string, allowAutoCreate: boolean): Promise<TopicRecord | undefined> {
    const existing = this.registry.get(name);
    if (existing || !allowAutoCreate || !this.config.bool('auto.create.topics.enable')) return existing;
    validateUserTopicName(name);
    try {
      return await this.createTopic({ name }, { auto: true });
    } catch (err) {
      // Two requests auto-creating the same topic at once: the loser sees it exist.
      if (err instanceof FerryError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS) return this.registry.get(name);
      throw err;
    }
  }

  /** Validates and (unless validateOnly) creates a topic and its partition logs. */
  createTopic(spec: NewTopicSpec, opts: { validateOnly?: boolean; auto?: boolean; internal?: boolean } = {}): Promise<TopicRecord> {
    return this.changes.run(async () => {
      if (opts.internal) validateTopicName(spec.name);
      else validateUserTopicName(spec.name);
      if (this.registry.get(spec.name)) throw new FerryError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${spec.name} already exists`);
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
      const record = await this.registry.create({ name: spec.name, partitions, replicationFactor, configs });
      const logConfig = this.logConfigFor(spec.name);
      for (let p = 0; p < partitions; p++) await this.logs.create(spec.name, p, logConfig);
      this.logger.info({ topic: spec.name, partitions, configs, auto: opts.auto ?? false }, 'topic created');
      this.notifyTopicsChanged();
      return record;
    });
  }

  deleteTopic(name: string): Promise<void> {
    return this.changes.run(async () => {
      if (!this.config.bool('delete.topic.enable')) throw new FerryError(ErrorCode.POLICY_VIOLATION, 'topic deletion is disabled (delete.topic.enable=false)');
      if (!this.registry.get(name)) throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${name}`);
      if (isInternalTopic(name)) throw new FerryError(ErrorCode.INVALID_TOPIC, `internal topic ${name} cannot be deleted`);
      await this.registry.delete(name);
      await this.logs.deleteTopic(name);
      this.logger.info({ topic: name }, 'topic deleted');
      this.notifyTopicsChanged();
    });
  }

  createPartitions(name: string, totalCount: number, validateOnly: boolean): Promise<void> {
    return this.changes.run(async () => {
      const record = this.registry.get(name);
      if (!record) throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${name}`);
      if (totalCount <= record.partitions) {
        throw new FerryError(ErrorCode.INVALID_PARTITIONS, `topic ${name} has ${record.partitions} partitions; the new count ${totalCount} must be larger`);
      }
      this.checkPartitionCount(totalCount);
      if (validateOnly) return;
      const logConfig = this.logConfigFor(name);
      for (let p = record.partitions; p < totalCount; p++) await this.logs.create(name, p, logConfig);
      await this.registry.update(name, { partitions: totalCount });
      this.logger.info({ topic: name, from: record.partitions, to: totalCount }, 'partitions added');
      this.notifyTopicsChanged();
    });
  }

  alterConfigs(name: string, set: Record<string, string>, remove: string[], validateOnly: boolean): Promise<void> {
    return this.changes.run(async () => {
      const record = this.registry.get(name);
      if (!record) throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${name}`);
      for (const key of remove) {
        if (!TOPIC_CONFIG_BY_NAME.has(key)) throw new FerryError(ErrorCode.INVALID_CONFIG, `unknown topic config ${key}`);
      }
      const next: Record<string, string> = { ...record.configs, ...set };
      for (const key of remove) delete next[key];
      validateTopicConfigs(next);
      if (validateOnly) return;
      await this.registry.update(name, { configs: next });
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
