/**
 * Partition leader election on the controller, pure functions over a PartitionRegistration.
 *
 * Order (Kafka's, with KIP-966's ELR step, DESIGN §3):
 *  1. the first live ISR member in replica-assignment order (so the preferred replica wins when it
 *     can — this keeps leaders balanced as placement intended);
 *  2. else the first live ELR member: the ISR restarts as just that replica;
 *  3. else, only when the topic allows unclean election, the first live replica (may lose committed
 *     records: the new leader's log becomes the truth and followers truncate to it);
 *  4. else no leader (offline) until an eligible replica returns — or, when ISR and ELR are both
 *     empty because every replica restarted uncleanly, until all of them report their logs
 *     (`electRecovered`).
 * Any leader change — including to "none" — bumps the leader epoch, which fences the old leader's
 * fetches, AlterPartitions and followers.
 *
 * Fencing a broker (missed session timeout) removes it from every ISR, through `withIsr` so the ELR
 * rules apply, and re-elects where it led.
 */
import { NO_LEADER, type BrokerId } from './types.js';
import { checkRegistration, withIsr, withoutUncleanReplica, type BrokerLiveness, type PartitionPolicy, type PartitionRegistration } from './partition-state.js';

export type ElectionKind = 'isr' | 'elr' | 'unclean' | 'recovered' | 'none';

export interface Election {
  registration: PartitionRegistration;
  kind: ElectionKind;
}

/** Elects a leader for `reg` (whose current leader, if any, is being replaced). Always bumps the epochs. */
export function electLeader(reg: PartitionRegistration, brokers: BrokerLiveness, policy: PartitionPolicy): Election {
  const bump = (leader: BrokerId, isr: readonly BrokerId[], elr: readonly BrokerId[]): PartitionRegistration => ({
    ...reg,
    leader,
    isr,
    elr,
    leaderEpoch: reg.leaderEpoch + 1,
    partitionEpoch: reg.partitionEpoch + 1,
  });
  let result: Election;
  const fromIsr = reg.replicas.find((id) => reg.isr.includes(id) && brokers.isLive(id));
  const fromElr = reg.replicas.find((id) => reg.elr.includes(id) && brokers.isLive(id));
  if (fromIsr !== undefined) {
    result = { registration: bump(fromIsr, reg.isr, reg.elr), kind: 'isr' };
  } else if (fromElr !== undefined) {
    const isr = [fromElr];
    const elr = isr.length >= policy.minInsyncReplicas ? [] : reg.elr.filter((id) => id !== fromElr);
    result = { registration: bump(fromElr, isr, elr), kind: 'elr' };
  } else {
    const anyLive = policy.uncleanLeaderElection ? reg.replicas.find((id) => brokers.isLive(id)) : undefined;
    result =
      anyLive !== undefined
        ? { registration: bump(anyLive, [anyLive], []), kind: 'unclean' }
        : { registration: bump(NO_LEADER, reg.isr, reg.elr), kind: 'none' };
  }
  checkRegistration(result.registration);
  return result;
}

/** The broker missed its session: out of the ISR (into the ELR when that leaves it short), new leader if it led. */
export function onBrokerFenced(reg: PartitionRegistration, id: BrokerId, brokers: BrokerLiveness, policy: PartitionPolicy): Election | null {
  if (!reg.isr.includes(id)) return null;
  const shrunk = withIsr(reg, reg.isr.filter((r) => r !== id), policy);
  if (reg.leader !== id) return { registration: { ...shrunk, leader: reg.leader }, kind: 'isr' };
  return electLeader({ ...shrunk, leader: NO_LEADER }, brokers, policy);
}

/**
 * The broker registered again (a new incarnation). Unclean: it leaves ISR and ELR. Either way, a
 * partition it led gets a new leader epoch, so the new incarnation never continues an epoch whose
 * tail it may have lost.
 */
export function onBrokerRegistered(reg: PartitionRegistration, id: BrokerId, cleanShutdown: boolean, brokers: BrokerLiveness, policy: PartitionPolicy): Election | null {
  const trimmed = cleanShutdown ? null : withoutUncleanReplica(reg, id, policy);
  const current = trimmed ?? reg;
  if (reg.leader === id) return electLeader({ ...current, leader: NO_LEADER }, brokers, policy);
  if (reg.leader === NO_LEADER) return maybeElectOffline(current, brokers, policy) ?? (trimmed ? { registration: trimmed, kind: 'none' } : null);
  return trimmed ? { registration: trimmed, kind: 'isr' } : null;
}

/** An offline partition whose replica became live again (unfenced). */
export function maybeElectOffline(reg: PartitionRegistration, brokers: BrokerLiveness, policy: PartitionPolicy): Election | null {
  if (reg.leader !== NO_LEADER) return null;
  const e = electLeader(reg, brokers, policy);
  return e.kind === 'none' ? null : e;
}

/** Preferred leader election: move leadership back to the first assigned replica when it is in the ISR and live. */
export function electPreferred(reg: PartitionRegistration, brokers: BrokerLiveness, policy: PartitionPolicy): Election | null {
  const preferred = reg.replicas[0]!;
  if (reg.leader === preferred || !reg.isr.includes(preferred) || !brokers.isLive(preferred)) return null;
  return electLeader(reg, brokers, policy);
}

/** What a replica's log holds, as its broker reports it while the partition has no ISR and no ELR. */
export interface ReplicaLogState {
  /** The epoch of the last entry in its leader-epoch cache (-1 when empty). */
  lastEpoch: number;
  logEndOffset: number;
}

/**
 * Recovery election (KIP-966's unclean recovery, in its "balanced" form): every replica restarted
 * uncleanly — a whole-cluster power loss — so ISR and ELR are empty and the rules above elect
 * nobody. Once every replica is live and has reported its log, the one with the newest last epoch,
 * then the longest log, leads (replica order breaks ties). With flush.mode=always that replica holds
 * every acknowledged record: an acked record is fsynced on every ISR member, a log holding records of
 * the newest epoch is a prefix of that epoch's leader's log, which held everything committed before
 * it, and within one epoch a longer log contains a shorter one. Returns null while a replica is
 * missing, not live, or has not reported (waiting for all is what keeps a stale replica from leading).
 */
export function electRecovered(reg: PartitionRegistration, brokers: BrokerLiveness, reports: (id: BrokerId) => ReplicaLogState | undefined): Election | null {
  if (reg.leader !== NO_LEADER || reg.isr.length > 0 || reg.elr.length > 0) return null;
  let best: { id: BrokerId; state: ReplicaLogState } | null = null;
  for (const id of reg.replicas) {
    const state = reports(id);
    if (!brokers.isLive(id) || state === undefined) return null;
    const newer = best === null || state.lastEpoch > best.state.lastEpoch || (state.lastEpoch === best.state.lastEpoch && state.logEndOffset > best.state.logEndOffset);
    if (newer) best = { id, state };
  }
  if (best === null) return null;
  const registration: PartitionRegistration = {
    ...reg, leader: best.id, isr: [best.id], elr: [], leaderEpoch: reg.leaderEpoch + 1, partitionEpoch: reg.partitionEpoch + 1,
  };
  checkRegistration(registration);
  return { registration, kind: 'recovered' };
}
