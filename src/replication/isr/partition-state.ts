/**
 * PartitionRegistration and the controller's ISR bookkeeping for it, as pure functions (the data a
 * KRaft PartitionRecord / PartitionChangeRecord carries: replicas, ISR, ELR, leader, leader epoch,
 * partition epoch). Each function returns a new registration or null for "no change"; the caller
 * (the controller) turns a change into a metadata record.
 *
 * Versioning: every change bumps `partitionEpoch`; a change of leader also bumps `leaderEpoch`.
 * Brokers apply a registration only when its partition epoch is newer than theirs.
 *
 * ELR (KIP-966 eligible leader replicas), DESIGN §3: because a leader's HW only advances while its
 * ISR has ≥ min.insync.replicas members, a replica removed from an ISR that is (then) below that
 * size still holds every committed record, and stays electable:
 *  - a shrink that leaves the ISR below min.insync.replicas moves the removed replicas to the ELR;
 *  - once the ISR is back at ≥ min.insync.replicas the ELR is emptied (the HW moves on without it);
 *  - a broker that restarted after an unclean shutdown (it may have lost un-fsynced records) leaves
 *    both ISR and ELR, and becomes electable again only by rejoining the ISR through its leader,
 *    which requires it to have caught up.
 */
import { strict as assert } from 'node:assert';
import { NO_LEADER, inReplicaOrder, type BrokerId } from './types.js';

export interface PartitionRegistration {
  readonly replicas: readonly BrokerId[];
  readonly isr: readonly BrokerId[];
  /** Eligible leader replicas (KIP-966): not in the ISR, but hold every committed record. */
  readonly elr: readonly BrokerId[];
  readonly leader: BrokerId;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

/** Per-topic policy the controller applies. */
export interface PartitionPolicy {
  minInsyncReplicas: number;
  /** unclean.leader.election.enable: elect any live replica when no ISR/ELR member is live. */
  uncleanLeaderElection: boolean;
}

/** The controller's view of brokers: registered, unfenced (heartbeating), and their incarnation. */
export interface BrokerLiveness {
  isLive(id: BrokerId): boolean;
  /** The broker epoch of the current registration, or undefined when unregistered. */
  brokerEpoch(id: BrokerId): number | undefined;
}

export function checkRegistration(reg: PartitionRegistration): void {
  assert.ok(new Set(reg.replicas).size === reg.replicas.length, 'duplicate replicas');
  assert.ok(reg.isr.every((id) => reg.replicas.includes(id)), 'ISR ⊆ replicas');
  assert.ok(reg.elr.every((id) => reg.replicas.includes(id) && !reg.isr.includes(id)), 'ELR ⊆ replicas \\ ISR');
  assert.ok(reg.leader === NO_LEADER || reg.isr.includes(reg.leader), 'the leader is in the ISR');
}

/**
 * The ISR becomes `newIsr`. `uncleanlyRestarted` replicas may have lost records and never enter
 * the ELR. Does not touch the leader (callers elect separately).
 */
export function withIsr(
  reg: PartitionRegistration,
  newIsr: Iterable<BrokerId>,
  policy: PartitionPolicy,
  uncleanlyRestarted: ReadonlySet<BrokerId> = new Set(),
): PartitionRegistration {
  const isr = inReplicaOrder(reg.replicas, newIsr);
  let elr: BrokerId[] = [];
  if (isr.length < policy.minInsyncReplicas) {
    const removed = reg.isr.filter((id) => !isr.includes(id));
    elr = inReplicaOrder(reg.replicas, [...reg.elr, ...removed]).filter((id) => !isr.includes(id) && !uncleanlyRestarted.has(id));
  }
  return { ...reg, isr, elr, partitionEpoch: reg.partitionEpoch + 1 };
}

/** Removes a broker's unclean incarnation from ISR and ELR (it re-registered after an unclean shutdown). */
export function withoutUncleanReplica(reg: PartitionRegistration, id: BrokerId, policy: PartitionPolicy): PartitionRegistration | null {
  if (!reg.isr.includes(id) && !reg.elr.includes(id)) return null;
  const unclean = new Set([id]);
  const next = withIsr(reg, reg.isr.filter((r) => r !== id), policy, unclean);
  return { ...next, elr: next.elr.filter((r) => r !== id) };
}
