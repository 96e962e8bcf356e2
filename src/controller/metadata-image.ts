/**
 * MetadataImage: an immutable view of the cluster metadata as of one metadata log offset (KRaft's
 * MetadataImage with its ClusterImage / TopicsImage / ConfigurationsImage parts). Built only by
 * replaying committed records through a MetadataDelta (metadata-delta.ts), on every broker and on
 * the controller alike; never mutated afterwards, so a broker can hand the same image to request
 * handlers while the next one is being built, and `localChanges` (image-changes.ts) can compare two
 * images by reference: an unchanged topic or partition is the very same object in both.
 *
 * Offsets: `offset` is the Raft index of the last applied entry (no-ops included), 0 = empty. A
 * snapshot of the image is valid at exactly that index.
 *
 * `MetadataView` is the read interface the controller's handlers use; MetadataDelta implements it
 * too, so a handler sees the records it has already emitted in the same batch.
 */
import type { BrokerId, PartitionRegistration } from '../replication/isr/index.js';

export interface BrokerRegistration {
  readonly brokerId: BrokerId;
  readonly incarnationId: string;
  readonly brokerEpoch: number;
  readonly clusterId: string;
  readonly host: string;
  readonly port: number;
  /** Missed its session, or not caught up since registering: leads nothing, in no ISR. */
  readonly fenced: boolean;
  readonly inControlledShutdown: boolean;
  /** Restarted after an unclean shutdown and still recovering its logs (DESIGN §3). */
  readonly recovering: boolean;
}

export interface TopicImage {
  readonly id: string;
  readonly name: string;
  readonly createdAtMs: number;
  /** Dense: partitions[p] is partition p. */
  readonly partitions: readonly PartitionRegistration[];
}

/** A partition with its topic, as the broker-facing queries return it. */
export interface PartitionRef {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly registration: PartitionRegistration;
}

export interface MetadataView {
  readonly offset: number;
  feature(name: string): number | undefined;
  broker(id: BrokerId): BrokerRegistration | undefined;
  /** Sorted by id. */
  brokerList(): BrokerRegistration[];
  topicById(id: string): TopicImage | undefined;
  topicByName(name: string): TopicImage | undefined;
  /** Sorted by name (deterministic iteration for the controller). */
  topicList(): TopicImage[];
  /** The topic's overrides (empty when none). */
  topicConfigs(name: string): ReadonlyMap<string, string>;
}

const NO_CONFIGS: ReadonlyMap<string, string> = new Map();

export class MetadataImage implements MetadataView {
  static readonly EMPTY = new MetadataImage(0, new Map(), new Map(), new Map(), new Map(), new Map());

  constructor(
    readonly offset: number,
    readonly features: ReadonlyMap<string, number>,
    readonly brokers: ReadonlyMap<BrokerId, BrokerRegistration>,
    readonly topicsById: ReadonlyMap<string, TopicImage>,
    readonly topicsByName: ReadonlyMap<string, TopicImage>,
    /** topic name → overrides */
    readonly configs: ReadonlyMap<string, ReadonlyMap<string, string>>,
  ) {}

  /** The same state at a later offset (a Raft no-op entry). */
  withOffset(offset: number): MetadataImage {
    return new MetadataImage(offset, this.features, this.brokers, this.topicsById, this.topicsByName, this.configs);
  }

  feature(name: string): number | undefined {
    return this.features.get(name);
  }

  broker(id: BrokerId): BrokerRegistration | undefined {
    return this.brokers.get(id);
  }

  brokerList(): BrokerRegistration[] {
    return [...this.brokers.values()].sort((a, b) => a.brokerId - b.brokerId);
  }

  topicById(id: string): TopicImage | undefined {
    return this.topicsById.get(id);
  }

  topicByName(name: string): TopicImage | undefined {
    return this.topicsByName.get(name);
  }

  topicList(): TopicImage[] {
    return [...this.topicsByName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  topicConfigs(name: string): ReadonlyMap<string, string> {
    return this.configs.get(name) ?? NO_CONFIGS;
  }

  // ---- broker-facing queries ---------------------------------------------------------------

  partition(topic: string, partition: number): PartitionRegistration | undefined {
    return this.topicsByName.get(topic)?.partitions[partition];
  }

  /** "host:port" of a registered broker (fenced or not: a fenced broker may still be reachable). */
  brokerAddress(id: BrokerId): string | undefined {
    const b = this.brokers.get(id);
    return b ? `${b.host}:${b.port}` : undefined;
  }

  /** Registered, unfenced brokers (the ones metadata responses should list as serving). */
  liveBrokers(): BrokerRegistration[] {
    return this.brokerList().filter((b) => !b.fenced);
  }

  partitionsLedBy(id: BrokerId): PartitionRef[] {
    return this.partitionsWhere((reg) => reg.leader === id);
  }

  /** Partitions where `id` is an assigned replica but not the leader (an offline partition counts). */
  partitionsFollowedBy(id: BrokerId): PartitionRef[] {
    return this.partitionsWhere((reg) => reg.leader !== id && reg.replicas.includes(id));
  }

  private partitionsWhere(pred: (reg: PartitionRegistration) => boolean): PartitionRef[] {
    const out: PartitionRef[] = [];
    for (const t of this.topicList()) {
      t.partitions.forEach((registration, partition) => {
        if (pred(registration)) out.push({ topic: t.name, topicId: t.id, partition, registration });
      });
    }
    return out;
  }
}
