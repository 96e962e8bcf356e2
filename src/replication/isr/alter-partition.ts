/**
 * AlterPartition validation on the controller (Kafka's ReplicationControlManager.alterPartition,
 * with KIP-903 broker epochs and KIP-966 ELR), a pure function: a leader's proposed ISR against the
 * current registration.
 *
 * Rejections, each with the current registration so the leader can resync:
 *  - FENCED_LEADER_EPOCH: the proposal's leader epoch is older than the partition's;
 *  - NOT_LEADER: the requester is not the current leader (or its broker epoch is not the registered one);
 *  - INVALID_UPDATE_VERSION: built on another partition epoch (something changed meanwhile);
 *  - INVALID_REQUEST: malformed (leader not in its ISR, unknown replica, duplicates, future epoch);
 *  - INELIGIBLE_REPLICA: an added member is not live, or its broker epoch is not its current
 *    registration — the leader saw it catch up in an earlier incarnation, which may since have lost
 *    un-fsynced records in an unclean shutdown (DESIGN §3: not electable until it has caught up again).
 * Shrinks are always allowed (the leader decides who lags). Acceptance bumps the partition epoch and
 * applies the ELR rules of partition-state.ts.
 */
import { checkRegistration, withIsr, type BrokerLiveness, type PartitionPolicy, type PartitionRegistration } from './partition-state.js';
import type { IsrMember } from './isr-change.js';
import type { BrokerId } from './types.js';

export type AlterPartitionError = 'FENCED_LEADER_EPOCH' | 'NOT_LEADER' | 'INVALID_UPDATE_VERSION' | 'INVALID_REQUEST' | 'INELIGIBLE_REPLICA';

export interface AlterPartitionRequest {
  leaderId: BrokerId;
  leaderBrokerEpoch: number;
  leaderEpoch: number;
  partitionEpoch: number;
  newIsr: readonly IsrMember[];
}

export type AlterPartitionResult =
  | { accepted: true; registration: PartitionRegistration }
  | { accepted: false; error: AlterPartitionError; registration: PartitionRegistration };

export function alterPartition(reg: PartitionRegistration, req: AlterPartitionRequest, brokers: BrokerLiveness, policy: PartitionPolicy): AlterPartitionResult {
  const reject = (error: AlterPartitionError): AlterPartitionResult => ({ accepted: false, error, registration: reg });
  if (req.leaderEpoch < reg.leaderEpoch) return reject('FENCED_LEADER_EPOCH');
  if (req.leaderEpoch > reg.leaderEpoch) return reject('INVALID_REQUEST');
  if (reg.leader !== req.leaderId || brokers.brokerEpoch(req.leaderId) !== req.leaderBrokerEpoch) return reject('NOT_LEADER');
  if (req.partitionEpoch !== reg.partitionEpoch) return reject('INVALID_UPDATE_VERSION');
  const ids = req.newIsr.map((m) => m.brokerId);
  if (new Set(ids).size !== ids.length || !ids.includes(req.leaderId) || !ids.every((id) => reg.replicas.includes(id))) return reject('INVALID_REQUEST');
  for (const m of req.newIsr) {
    if (reg.isr.includes(m.brokerId)) continue;
    if (!brokers.isLive(m.brokerId) || brokers.brokerEpoch(m.brokerId) !== m.brokerEpoch) return reject('INELIGIBLE_REPLICA');
  }
  const next = withIsr(reg, ids, policy);
  checkRegistration(next);
  return { accepted: true, registration: next };
}
