/**
 * Shared vocabulary of the active controller (KRaft's QuorumController and its control managers):
 * the request context, the `{ response, records }` result every handler returns, the controller's
 * named limits, and the batch a handler writes into.
 *
 * The host contract (see controller.ts): a handler runs against the controller's latest image
 * (committed + its own not-yet-committed batches, as KRaft's in-memory state), and if it returns
 * records the host proposes them to Raft as ONE entry, which must land at `ctx.offset`; the
 * response goes out only once that entry commits. An empty `records` proposes nothing.
 */
import { strict as assert } from 'node:assert';
import type { BrokerLiveness } from '../replication/isr/index.js';
import { MetadataDelta } from './metadata-delta.js';
import type { MetadataImage, MetadataView } from './metadata-image.js';
import type { MetadataRecord } from './metadata-records.js';

export interface RequestContext {
  /** The host's clock, ms. */
  now: number;
  /** The Raft index the entry holding this handler's records will get (raft log lastIndex + 1). */
  offset: number;
}

export interface ControllerResult<R> {
  response: R;
  /** Propose as one Raft entry (when non-empty); answer only after it commits. */
  records: MetadataRecord[];
}

export interface ControllerConfig {
  /** Every broker must register with this cluster id (from the formatted data dirs). */
  clusterId: string;
  /** broker.session.timeout.ms: an unfenced broker without a heartbeat for this long is fenced. */
  brokerSessionTimeoutMs: number;
  /** How often preferred leaders are restored (Kafka's leader.imbalance.check.interval, here ms). */
  leaderImbalanceCheckIntervalMs: number;
  /** Bound on partition changes one tick writes (fencing / preferred election): keeps an entry small. */
  partitionChangesPerTickMax: number;
  /** num.partitions: partitions of a topic created without a count. */
  defaultPartitions: number;
  /** default.replication.factor */
  defaultReplicationFactor: number;
  /** max.partitions.per.topic */
  maxPartitionsPerTopic: number;
  /** delete.topic.enable */
  deleteTopicEnable: boolean;
  /** Broker-level min.insync.replicas; null = DESIGN §3's min(2, replication factor). */
  minInsyncReplicas: number | null;
  /** Broker-level unclean.leader.election.enable (topics may override). */
  uncleanLeaderElectionEnable: boolean;
}

export const DEFAULT_CONTROLLER_CONFIG: Readonly<Omit<ControllerConfig, 'clusterId'>> = Object.freeze({
  brokerSessionTimeoutMs: 9_000, // Kafka's default: three missed 2 s heartbeats plus slack
  leaderImbalanceCheckIntervalMs: 5_000,
  partitionChangesPerTickMax: 10_000,
  defaultPartitions: 1,
  defaultReplicationFactor: 1,
  maxPartitionsPerTopic: 10_000,
  deleteTopicEnable: true,
  minInsyncReplicas: null,
  uncleanLeaderElectionEnable: false,
});

/** One handler's output in the making: records go into a delta, so later reads see earlier records. */
export class MetadataBatch {
  readonly records: MetadataRecord[] = [];
  private readonly delta: MetadataDelta;

  constructor(readonly base: MetadataImage, readonly offset: number) {
    assert.ok(offset > base.offset, `batch offset ${offset} must follow the image at ${base.offset}`);
    this.delta = new MetadataDelta(base);
    this.delta.advanceTo(offset);
  }

  get view(): MetadataView {
    return this.delta;
  }

  emit(record: MetadataRecord): void {
    this.delta.replay(record);
    this.records.push(record);
  }

  /** The image after this batch (the base when nothing was emitted). */
  finish(): MetadataImage {
    return this.records.length === 0 ? this.base : this.delta.apply();
  }
}

/**
 * Who may lead or join an ISR: registered, unfenced, not shutting down (KIP-841) and not
 * recovering from an unclean shutdown (DESIGN §3).
 */
export function eligibility(view: MetadataView): BrokerLiveness {
  return {
    isLive: (id) => {
      const b = view.broker(id);
      return b !== undefined && !b.fenced && !b.inControlledShutdown && !b.recovering;
    },
    brokerEpoch: (id) => view.broker(id)?.brokerEpoch,
  };
}
