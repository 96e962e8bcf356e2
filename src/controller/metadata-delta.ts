/**
 * MetadataDelta: the changes of one or more record batches on top of a base MetadataImage (KRaft's
 * MetadataDelta), and the only code that interprets records. `replay` applies one record; `apply`
 * returns the new immutable image, sharing every unchanged broker, topic and partition object with
 * the base (so image comparisons can go by reference).
 *
 * Reads go through the delta (it implements MetadataView), which is how a controller handler that
 * emits several records in one batch sees its own earlier records.
 *
 * Replay asserts instead of validating: records were validated when the controller wrote them, and
 * every node must reach the same image from the same records, so a record that does not fit is a
 * bug and crashes loudly. After `apply` the delta is spent (the image shares its objects).
 */
import { strict as assert } from 'node:assert';
import { checkRegistration, type BrokerId, type PartitionRegistration } from '../replication/isr/index.js';
import { MetadataImage, type BrokerRegistration, type MetadataView, type TopicImage } from './metadata-image.js';
import type { MetadataRecord, PartitionChangeRecord, PartitionRecord } from './metadata-records.js';

/** A topic this delta created or copied: safe to mutate until `apply`. */
interface OwnedTopic {
  id: string;
  name: string;
  createdAtMs: number;
  partitions: PartitionRegistration[];
}

const NO_CONFIGS: ReadonlyMap<string, string> = new Map();

export class MetadataDelta implements MetadataView {
  private offsetValue: number;
  private readonly features = new Map<string, number>();
  private readonly brokers = new Map<BrokerId, BrokerRegistration>();
  /** topic id → owned copy, or null when removed */
  private readonly topics = new Map<string, OwnedTopic | null>();
  /** topic name → topic id, or null when removed */
  private readonly names = new Map<string, string | null>();
  /** topic name → full overrides after this delta, or null when cleared */
  private readonly configs = new Map<string, Map<string, string> | null>();
  private spent = false;

  constructor(readonly base: MetadataImage) {
    this.offsetValue = base.offset;
  }

  get offset(): number {
    return this.offsetValue;
  }

  /** Records replayed from now on belong to the entry at `offset` (a Raft index). */
  advanceTo(offset: number): void {
    assert.ok(offset > this.offsetValue, `metadata offset must grow: ${offset} after ${this.offsetValue}`);
    this.offsetValue = offset;
  }

  // ---- MetadataView ---------------------------------------------------------------------------

  feature(name: string): number | undefined {
    return this.features.get(name) ?? this.base.feature(name);
  }

  broker(id: BrokerId): BrokerRegistration | undefined {
    return this.brokers.get(id) ?? this.base.broker(id);
  }

  brokerList(): BrokerRegistration[] {
    const ids = new Set<BrokerId>([...this.base.brokers.keys(), ...this.brokers.keys()]);
    return [...ids].sort((a, b) => a - b).map((id) => this.broker(id)!);
  }

  topicById(id: string): TopicImage | undefined {
    const changed = this.topics.get(id);
    if (changed === null) return undefined;
    return changed ?? this.base.topicById(id);
  }

  topicByName(name: string): TopicImage | undefined {
    if (!this.names.has(name)) return this.base.topicByName(name);
    const id = this.names.get(name);
    return id ? this.topicById(id) : undefined;
  }

  topicList(): TopicImage[] {
    const names = new Set<string>([...this.base.topicsByName.keys(), ...this.names.keys()]);
    const out: TopicImage[] = [];
    for (const name of [...names].sort()) {
      const t = this.topicByName(name);
      if (t) out.push(t);
    }
    return out;
  }

  topicConfigs(name: string): ReadonlyMap<string, string> {
    if (!this.configs.has(name)) return this.base.topicConfigs(name);
    return this.configs.get(name) ?? NO_CONFIGS;
  }

  // ---- replay ---------------------------------------------------------------------------------

  replay(record: MetadataRecord): void {
    assert.ok(!this.spent, 'delta already applied');
    switch (record.type) {
      case 'FeatureLevel':
        this.features.set(record.name, record.level);
        return;
      case 'RegisterBroker': {
        const { type: _type, ...reg } = record;
        this.brokers.set(record.brokerId, { ...reg });
        return;
      }
      case 'FenceBroker':
        this.changeBroker(record.brokerId, record.brokerEpoch, { fenced: true, inControlledShutdown: false });
        return;
      case 'UnfenceBroker':
        this.changeBroker(record.brokerId, record.brokerEpoch, { fenced: false });
        return;
      case 'BrokerRegistrationChange': {
        const change: { inControlledShutdown?: boolean; recovering?: boolean } = {};
        if (record.inControlledShutdown !== undefined) change.inControlledShutdown = record.inControlledShutdown;
        if (record.recovering !== undefined) change.recovering = record.recovering;
        this.changeBroker(record.brokerId, record.brokerEpoch, change);
        return;
      }
      case 'Topic':
        assert.ok(!this.topicByName(record.name), `Topic record: ${record.name} exists`);
        assert.ok(!this.topicById(record.topicId), `Topic record: id ${record.topicId} exists`);
        this.topics.set(record.topicId, { id: record.topicId, name: record.name, createdAtMs: record.createdAtMs, partitions: [] });
        this.names.set(record.name, record.topicId);
        return;
      case 'RemoveTopic': {
        const t = this.topicById(record.topicId);
        assert.ok(t, `RemoveTopic: unknown topic id ${record.topicId}`);
        this.topics.set(t.id, null);
        this.names.set(t.name, null);
        this.configs.set(t.name, null);
        return;
      }
      case 'Partition':
        this.replayPartition(record);
        return;
      case 'PartitionChange':
        this.replayPartitionChange(record);
        return;
      case 'Config': {
        assert.ok(this.topicByName(record.resourceName), `Config record for unknown topic ${record.resourceName}`);
        const next = new Map(this.topicConfigs(record.resourceName));
        if (record.value === null) next.delete(record.name);
        else next.set(record.name, record.value);
        this.configs.set(record.resourceName, next);
        return;
      }
      case 'NoOp':
        return;
    }
  }

  private changeBroker(id: BrokerId, epoch: number, change: Partial<BrokerRegistration>): void {
    const current = this.broker(id);
    assert.ok(current, `broker ${id} is not registered`);
    assert.equal(current.brokerEpoch, epoch, `broker ${id}: record for epoch ${epoch}, registered ${current.brokerEpoch}`);
    this.brokers.set(id, { ...current, ...change });
  }

  private ownTopic(id: string): OwnedTopic {
    const changed = this.topics.get(id);
    if (changed) return changed;
    assert.ok(changed !== null, `topic id ${id} was removed`);
    const base = this.base.topicById(id);
    assert.ok(base, `unknown topic id ${id}`);
    const owned: OwnedTopic = { id, name: base.name, createdAtMs: base.createdAtMs, partitions: [...base.partitions] };
    this.topics.set(id, owned);
    return owned;
  }

  private replayPartition(r: PartitionRecord): void {
    const topic = this.ownTopic(r.topicId);
    assert.ok(r.partition >= 0 && r.partition <= topic.partitions.length, `Partition record ${topic.name}-${r.partition}: partitions are dense`);
    const reg: PartitionRegistration = {
      replicas: [...r.replicas], isr: [...r.isr], elr: [...r.elr], leader: r.leader, leaderEpoch: r.leaderEpoch, partitionEpoch: r.partitionEpoch,
    };
    checkRegistration(reg);
    assert.ok(reg.replicas.length > 0, 'a partition has replicas');
    topic.partitions[r.partition] = reg;
  }

  private replayPartitionChange(r: PartitionChangeRecord): void {
    const topic = this.ownTopic(r.topicId);
    const prev = topic.partitions[r.partition];
    assert.ok(prev, `PartitionChange for unknown partition ${topic.name}-${r.partition}`);
    assert.ok(r.partitionEpoch > prev.partitionEpoch, `${topic.name}-${r.partition}: partition epoch ${r.partitionEpoch} after ${prev.partitionEpoch}`);
    assert.ok(r.leaderEpoch >= prev.leaderEpoch, `${topic.name}-${r.partition}: leader epoch ${r.leaderEpoch} after ${prev.leaderEpoch}`);
    const next: PartitionRegistration = {
      replicas: r.replicas ? [...r.replicas] : prev.replicas,
      isr: r.isr ? [...r.isr] : prev.isr,
      elr: r.elr ? [...r.elr] : prev.elr,
      leader: r.leader ?? prev.leader,
      leaderEpoch: r.leaderEpoch,
      partitionEpoch: r.partitionEpoch,
    };
    assert.ok(next.leader === prev.leader || next.leaderEpoch > prev.leaderEpoch, `${topic.name}-${r.partition}: a new leader needs a new leader epoch`);
    checkRegistration(next);
    topic.partitions[r.partition] = next;
  }

  // ---- apply ----------------------------------------------------------------------------------

  /** The new image. The delta is spent afterwards. */
  apply(): MetadataImage {
    assert.ok(!this.spent, 'delta already applied');
    this.spent = true;
    const base = this.base;
    const features = this.features.size === 0 ? base.features : new Map([...base.features, ...this.features]);
    const brokers = this.brokers.size === 0 ? base.brokers : new Map([...base.brokers, ...this.brokers]);
    let byId: ReadonlyMap<string, TopicImage> = base.topicsById;
    let byName: ReadonlyMap<string, TopicImage> = base.topicsByName;
    if (this.topics.size > 0 || this.names.size > 0) {
      const ids = new Map(base.topicsById);
      const names = new Map(base.topicsByName);
      for (const [id, t] of this.topics) {
        const old = base.topicById(id);
        if (old && names.get(old.name) === old) names.delete(old.name);
        if (t === null) ids.delete(id);
        else {
          const frozen: TopicImage = Object.freeze({ ...t, partitions: Object.freeze(t.partitions) });
          ids.set(id, frozen);
          names.set(t.name, frozen);
        }
      }
      byId = ids;
      byName = names;
    }
    let configs = base.configs;
    if (this.configs.size > 0) {
      const next = new Map(base.configs);
      for (const [name, c] of this.configs) {
        if (c === null || c.size === 0) next.delete(name);
        else next.set(name, c);
      }
      configs = next;
    }
    return new MetadataImage(this.offsetValue, features, brokers, byId, byName, configs);
  }
}

/** Replays one batch (one Raft entry at `offset`) onto `image`. */
export function applyBatch(image: MetadataImage, offset: number, records: readonly MetadataRecord[]): MetadataImage {
  const delta = new MetadataDelta(image);
  delta.advanceTo(offset);
  for (const r of records) delta.replay(r);
  return delta.apply();
}
