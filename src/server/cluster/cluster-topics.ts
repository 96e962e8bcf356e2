/**
 * Topics in a cluster: read from the committed metadata image (no topics.json), changed only by the
 * active controller. A topic change on any broker is forwarded through the ControllerChannel; the
 * answer names the metadata offset of the change, and the broker waits until its own image has
 * applied it, so the client's next request to the same broker sees what it just did.
 */
import type { BrokerConfig } from '../../config/broker-config.js';
import { defaultMinInsyncReplicas, type PartitionRegistration } from '../../replication/isr/index.js';
import type { MetadataImage, TopicImage } from '../../controller/index.js';
import { fromResponseError } from '../../client/errors.js';
import type { Error__Output } from '../../generated/ferry/v1/Error.js';
import { ErrorCode, FerryError } from '../../protocol/errors.js';
import type { TopicRecord } from '../topic-registry.js';
import type { ClusterNode } from './cluster-node.js';

/** How long a forwarded admin call (and waiting for its metadata) may take. */
const ADMIN_TIMEOUT_MS = 30_000;

interface Forwarded<R> {
  response: R;
  metadataOffset: number | string;
}

export class ClusterTopics {
  /** TopicRecords by image object; rebuilt when the topic's config map changed (it lives apart). */
  private readonly records = new WeakMap<TopicImage, { record: TopicRecord; configs: ReadonlyMap<string, string> }>();

  constructor(
    private readonly node: ClusterNode,
    private readonly config: BrokerConfig,
  ) {}

  get image(): MetadataImage {
    return this.node.image;
  }

  get(name: string): TopicRecord | undefined {
    const t = this.node.image.topicByName(name);
    return t ? this.record(t) : undefined;
  }

  list(): TopicRecord[] {
    return this.node.image.topicList().map((t) => this.record(t));
  }

  placement(topic: string, partition: number): PartitionRegistration | undefined {
    return this.node.image.partition(topic, partition);
  }

  /** DESIGN §3: the topic's override, else an explicitly set broker value, else min(2, RF). */
  minInsyncFor(topic: string, replicationFactor: number): number {
    const override = this.node.image.topicConfigs(topic).get('min.insync.replicas');
    if (override !== undefined) return Number(override);
    if (this.config.layerOf('min.insync.replicas') !== 'default') return this.config.int('min.insync.replicas');
    return defaultMinInsyncReplicas(replicationFactor);
  }

  /** Calls `listener` after every image whose set of topics or partitions changed. */
  onTopicsChanged(listener: () => void): void {
    this.node.stateMachine.onImage((prev, next) => {
      if (prev.topicsById !== next.topicsById) listener();
    });
  }

  async createTopic(spec: { name: string; partitions?: number; replicationFactor?: number; configs?: Record<string, string> }, validateOnly: boolean): Promise<TopicRecord> {
    const res = await this.forward<{ topics: Array<{ name: string; error: Error__Output | null }> }>('CreateTopics', {
      topics: [{ name: spec.name, numPartitions: spec.partitions ?? 0, replicationFactor: spec.replicationFactor ?? 0, configs: spec.configs ?? {} }],
      validateOnly,
    });
    throwIfFailed(res.topics[0]?.error);
    if (validateOnly) {
      return { name: spec.name, id: '', partitions: spec.partitions ?? 0, replicationFactor: spec.replicationFactor ?? 0, configs: spec.configs ?? {}, createdAtMs: Date.now() };
    }
    const created = this.get(spec.name);
    if (!created) throw new FerryError(ErrorCode.UNKNOWN_SERVER_ERROR, `topic ${spec.name} was created but is not in this broker's metadata`);
    return created;
  }

  async deleteTopic(name: string): Promise<void> {
    const res = await this.forward<{ topics: Array<{ name: string; error: Error__Output | null }> }>('DeleteTopics', { names: [name] });
    throwIfFailed(res.topics[0]?.error);
  }

  async createPartitions(name: string, totalCount: number, validateOnly: boolean): Promise<void> {
    const res = await this.forward<{ result: { error: Error__Output | null } | null }>('CreatePartitions', { topic: name, totalCount, validateOnly });
    throwIfFailed(res.result?.error);
  }

  async alterConfigs(name: string, set: Record<string, string>, remove: string[], validateOnly: boolean): Promise<void> {
    const res = await this.forward<{ result: { error: Error__Output | null } | null }>('AlterTopicConfigs', { topic: name, set, delete: remove, validateOnly });
    throwIfFailed(res.result?.error);
  }

  private async forward<R>(method: 'CreateTopics' | 'DeleteTopics' | 'CreatePartitions' | 'AlterTopicConfigs', req: unknown): Promise<R> {
    const started = Date.now();
    const answer = await this.node.channel.call<Forwarded<R>>(method, req, ADMIN_TIMEOUT_MS);
    const offset = Number(answer.metadataOffset);
    if (offset > 0) {
      await this.node.waitForOffset(offset, Math.max(1_000, ADMIN_TIMEOUT_MS - (Date.now() - started))).catch((err: Error) => {
        throw new FerryError(ErrorCode.REQUEST_TIMED_OUT, `the change committed, but this broker has not applied it yet: ${err.message}`);
      });
    }
    return answer.response;
  }

  private record(t: TopicImage): TopicRecord {
    const configs = this.node.image.topicConfigs(t.name);
    const cached = this.records.get(t);
    if (cached && cached.configs === configs) return cached.record;
    const record: TopicRecord = {
      name: t.name,
      id: t.id,
      partitions: t.partitions.length,
      replicationFactor: t.partitions[0]?.replicas.length ?? 0,
      configs: Object.fromEntries(configs),
      createdAtMs: 0,
    };
    this.records.set(t, { record, configs });
    return record;
  }
}

function throwIfFailed(wire: Error__Output | null | undefined): void {
  const err = fromResponseError(wire ?? null);
  if (err) throw err;
}
