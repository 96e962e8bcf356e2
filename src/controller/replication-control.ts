/**
 * Partition leadership and ISR on the controller (KRaft's ReplicationControlManager, the
 * leader/ISR half; topic create/delete is topic-control.ts). Every decision is one of the pure
 * functions in src/replication/isr (election.ts, partition-state.ts, alter-partition.ts); this
 * file finds the partitions a broker event affects and turns each new registration into a
 * PartitionChange record.
 *
 *  - fenceBroker:      FenceBroker + out of every ISR (into the ELR when that leaves it short),
 *                      leaders re-elected from the ISR, then ELR, then (topic allowing) unclean.
 *  - beginControlledShutdown: the same moves for a broker that asked to stop (it is excluded from
 *                      election by its inControlledShutdown flag).
 *  - electOffline:     a broker became eligible (unfenced / recovered): leaderless partitions it
 *                      replicates get a leader if the rules allow one.
 *  - electPreferred:   leadership back to replicas[0] where it is live and in the ISR.
 *  - electRecoveredLeaders: partitions whose every replica restarted uncleanly (no ISR, no ELR):
 *                      once all replicas have reported their logs, the most complete one leads.
 *  - alterPartition:   a leader's ISR change, validated (epochs, KIP-903 broker epochs, eligibility).
 */
import { strict as assert } from 'node:assert';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import {
  alterPartition as validateAlterPartition, electPreferred as preferredElection, electRecovered, maybeElectOffline, NO_LEADER, onBrokerFenced,
  type AlterPartitionError, type BrokerId, type Election, type IsrMember, type PartitionRegistration, type ReplicaLogState,
} from '../replication/isr/index.js';
import { partitionPolicy } from './config-control.js';
import { eligibility, type ControllerConfig, type MetadataBatch } from './controller-types.js';
import type { MetadataView, TopicImage } from './metadata-image.js';
import type { PartitionChangeRecord } from './metadata-records.js';

/** Emits the record that turns `before` into `after` (only changed fields, plus both epochs). */
export function emitPartitionChange(batch: MetadataBatch, topicId: string, partition: number, before: PartitionRegistration, after: PartitionRegistration): void {
  assert.ok(after.partitionEpoch > before.partitionEpoch, 'a partition change bumps the partition epoch');
  const rec: PartitionChangeRecord = { type: 'PartitionChange', topicId, partition, leaderEpoch: after.leaderEpoch, partitionEpoch: after.partitionEpoch };
  if (!sameIds(before.replicas, after.replicas)) rec.replicas = [...after.replicas];
  if (!sameIds(before.isr, after.isr)) rec.isr = [...after.isr];
  if (!sameIds(before.elr, after.elr)) rec.elr = [...after.elr];
  if (before.leader !== after.leader) rec.leader = after.leader;
  batch.emit(rec);
}

function sameIds(a: readonly BrokerId[], b: readonly BrokerId[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

type Decide = (reg: PartitionRegistration, topic: TopicImage, partition: number) => Election | null;

/**
 * Applies `decide` to every partition of every topic that `filter` selects, emitting a change for
 * each decision; at most `max` changes. Returns how many were emitted. Reads the batch's view, so
 * each decision sees the brokers' state after the records emitted before it.
 */
function forEachPartition(batch: MetadataBatch, filter: (reg: PartitionRegistration) => boolean, decide: Decide, max = Infinity): number {
  let emitted = 0;
  for (const topic of batch.view.topicList()) {
    for (let p = 0; p < topic.partitions.length && emitted < max; p++) {
      const reg = batch.view.topicById(topic.id)!.partitions[p]!;
      if (!filter(reg)) continue;
      const e = decide(reg, topic, p);
      if (!e || e.registration === reg) continue;
      emitPartitionChange(batch, topic.id, p, reg, e.registration);
      emitted++;
    }
  }
  return emitted;
}

function policyOf(view: MetadataView, topic: TopicImage, reg: PartitionRegistration, config: ControllerConfig) {
  return partitionPolicy(view, topic.name, reg.replicas.length, config);
}

/** Moves ISR membership and leadership away from `id` (already ineligible in the batch's view). */
function moveAwayFrom(batch: MetadataBatch, id: BrokerId, config: ControllerConfig): number {
  return forEachPartition(batch, (reg) => reg.isr.includes(id), (reg, topic) => {
    return onBrokerFenced(reg, id, eligibility(batch.view), policyOf(batch.view, topic, reg, config));
  });
}

/** Fences `id` (missed session or asked to be fenced) and moves its ISR memberships and leaderships. */
export function fenceBroker(batch: MetadataBatch, id: BrokerId, config: ControllerConfig): void {
  const b = batch.view.broker(id);
  assert.ok(b && !b.fenced, `fencing broker ${id}: not registered or already fenced`);
  batch.emit({ type: 'FenceBroker', brokerId: id, brokerEpoch: b.brokerEpoch });
  moveAwayFrom(batch, id, config);
}

/** Controlled shutdown, step 1: mark the broker and move leadership away before it stops. */
export function beginControlledShutdown(batch: MetadataBatch, id: BrokerId, config: ControllerConfig): void {
  const b = batch.view.broker(id);
  assert.ok(b && !b.fenced && !b.inControlledShutdown, `controlled shutdown of broker ${id}: not an active broker`);
  batch.emit({ type: 'BrokerRegistrationChange', brokerId: id, brokerEpoch: b.brokerEpoch, inControlledShutdown: true });
  moveAwayFrom(batch, id, config);
}

/** Leaderless partitions that `id` replicates: elect where the rules now allow. */
export function electOffline(batch: MetadataBatch, id: BrokerId, config: ControllerConfig): void {
  forEachPartition(batch, (reg) => reg.leader === NO_LEADER && reg.replicas.includes(id), (reg, topic) => {
    return maybeElectOffline(reg, eligibility(batch.view), policyOf(batch.view, topic, reg, config));
  });
}

/** Leaderless partitions of one topic (after its unclean-election policy changed). */
export function electOfflineInTopic(batch: MetadataBatch, topicName: string, config: ControllerConfig): void {
  forEachPartition(batch, (reg) => reg.leader === NO_LEADER, (reg, topic) => {
    if (topic.name !== topicName) return null;
    return maybeElectOffline(reg, eligibility(batch.view), policyOf(batch.view, topic, reg, config));
  });
}

/** A recovery election the controller made (for its log). */
export interface RecoveredLeader {
  topic: string;
  partition: number;
  leader: BrokerId;
  leaderEpoch: number;
  /** Every replica's reported log, by broker id. */
  logs: Record<string, ReplicaLogState>;
}

/**
 * Leaderless partitions with empty ISR and ELR (every replica restarted uncleanly): elects the most
 * complete replica once every replica is live and has reported its log at the partition's current
 * partition epoch (election.ts `electRecovered`). `reportOf` answers from the brokers' heartbeats.
 */
export function electRecoveredLeaders(
  batch: MetadataBatch,
  reportOf: (broker: BrokerId, topicId: string, partition: number, partitionEpoch: number) => ReplicaLogState | undefined,
): RecoveredLeader[] {
  const elected: RecoveredLeader[] = [];
  forEachPartition(batch, (reg) => reg.leader === NO_LEADER && reg.isr.length === 0 && reg.elr.length === 0, (reg, topic, p) => {
    const e = electRecovered(reg, eligibility(batch.view), (id) => reportOf(id, topic.id, p, reg.partitionEpoch));
    if (e) {
      const logs: Record<string, ReplicaLogState> = {};
      for (const id of reg.replicas) logs[String(id)] = reportOf(id, topic.id, p, reg.partitionEpoch)!;
      elected.push({ topic: topic.name, partition: p, leader: e.registration.leader, leaderEpoch: e.registration.leaderEpoch, logs });
    }
    return e;
  });
  return elected;
}

/** Restores preferred leaders (replicas[0] live and in the ISR); at most `max` changes. */
export function electPreferredLeaders(batch: MetadataBatch, config: ControllerConfig, max: number): number {
  return forEachPartition(batch, (reg) => reg.leader !== reg.replicas[0] && reg.isr.includes(reg.replicas[0]!), (reg, topic) => {
    return preferredElection(reg, eligibility(batch.view), policyOf(batch.view, topic, reg, config));
  }, max);
}

/** True when `id` leads no partition in the view. */
export function leadsNothing(view: MetadataView, id: BrokerId): boolean {
  return view.topicList().every((t) => t.partitions.every((p) => p.leader !== id));
}

// ---- AlterPartition -----------------------------------------------------------------------------

export interface AlterPartitionRequest {
  brokerId: BrokerId;
  brokerEpoch: number;
  topics: Array<{
    topicId: string;
    partitions: Array<{ partition: number; leaderEpoch: number; partitionEpoch: number; newIsr: IsrMember[] }>;
  }>;
}

export interface AlterPartitionResult {
  topicId: string;
  partition: number;
  /** null = accepted; otherwise why not (the leader resyncs from `registration`). */
  error: AlterPartitionError | 'UNKNOWN_TOPIC_OR_PARTITION' | null;
  /** The registration after the change (accepted) or the current one (rejected); null if unknown. */
  registration: PartitionRegistration | null;
}

export interface AlterPartitionResponse {
  results: AlterPartitionResult[];
}

export function alterPartition(batch: MetadataBatch, req: AlterPartitionRequest, config: ControllerConfig): AlterPartitionResponse {
  const results: AlterPartitionResult[] = [];
  for (const t of req.topics) {
    for (const p of t.partitions) {
      const topic = batch.view.topicById(t.topicId);
      const reg = topic?.partitions[p.partition];
      if (!topic || !reg) {
        results.push({ topicId: t.topicId, partition: p.partition, error: 'UNKNOWN_TOPIC_OR_PARTITION', registration: null });
        continue;
      }
      const res = validateAlterPartition(reg, {
        leaderId: req.brokerId, leaderBrokerEpoch: req.brokerEpoch, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: p.newIsr,
      }, eligibility(batch.view), policyOf(batch.view, topic, reg, config));
      if (res.accepted) {
        emitPartitionChange(batch, topic.id, p.partition, reg, res.registration);
        results.push({ topicId: t.topicId, partition: p.partition, error: null, registration: res.registration });
        continue;
      }
      let current = res.registration;
      if (res.error === 'INELIGIBLE_REPLICA') {
        // The replica may become eligible again with the same broker epoch (fenced, then unfenced),
        // and then a late copy of this proposal would apply; until the partition epoch moves the
        // leader must keep counting the replica for its HW (isr-change.ts "maybe members"), which
        // stalls the HW once the replica is gone. Bumping the partition epoch voids every copy now.
        current = { ...reg, partitionEpoch: reg.partitionEpoch + 1 };
        emitPartitionChange(batch, topic.id, p.partition, reg, current);
      }
      results.push({ topicId: t.topicId, partition: p.partition, error: res.error, registration: current });
    }
  }
  return { results };
}

/** The FerryError a gRPC layer can send for an AlterPartition rejection (until the proto has its own codes). */
export function alterPartitionErrorCode(error: AlterPartitionResult['error']): FerryError | null {
  switch (error) {
    case null:
      return null;
    case 'FENCED_LEADER_EPOCH':
      return new FerryError(ErrorCode.FENCED_LEADER_EPOCH, 'stale leader epoch');
    case 'NOT_LEADER':
      return new FerryError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'not the leader (or a stale broker epoch)');
    case 'UNKNOWN_TOPIC_OR_PARTITION':
      return new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'unknown partition');
    case 'INVALID_UPDATE_VERSION':
    case 'INVALID_REQUEST':
    case 'INELIGIBLE_REPLICA':
      return new FerryError(ErrorCode.INVALID_REQUEST, error);
  }
}
