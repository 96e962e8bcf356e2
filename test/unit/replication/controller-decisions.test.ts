// Controller-side pure decisions: election order (ISR → ELR → unclean → none), ELR upkeep (KIP-966),
// fencing and unclean re-registration, AlterPartition validation (KIP-903 broker epochs), placement.
import { describe, expect, it } from 'vitest';
import {
  alterPartition, electLeader, electPreferred, electRecovered, onBrokerFenced, onBrokerRegistered, placeReplicas,
  type BrokerLiveness, type ReplicaLogState, type PartitionPolicy, type PartitionRegistration,
} from '../../../src/replication/isr/index.js';

const policy: PartitionPolicy = { minInsyncReplicas: 2, uncleanLeaderElection: false };

function live(ids: number[], epochs: Record<number, number> = {}): BrokerLiveness {
  return { isLive: (id) => ids.includes(id), brokerEpoch: (id) => epochs[id] ?? 100 + id };
}

function reg(over: Partial<PartitionRegistration> = {}): PartitionRegistration {
  return { replicas: [1, 2, 3], isr: [1, 2, 3], elr: [], leader: 1, leaderEpoch: 4, partitionEpoch: 9, ...over };
}

describe('election', () => {
  it('prefers the first live ISR replica in assignment order and bumps both epochs', () => {
    const e = electLeader(reg({ leader: -1, isr: [2, 3] }), live([2, 3]), policy);
    expect(e).toMatchObject({ kind: 'isr', registration: { leader: 2, leaderEpoch: 5, partitionEpoch: 10 } });
  });

  it('fencing the last ISR members moves them to the ELR; a live ELR member can then lead', () => {
    let r = reg({ isr: [1, 2], elr: [] });
    r = onBrokerFenced(r, 2, live([1, 3]), policy)!.registration;
    expect([r.isr, r.elr, r.leader]).toEqual([[1], [2], 1]);
    r = onBrokerFenced(r, 1, live([3]), policy)!.registration;
    expect([r.isr, r.elr, r.leader]).toEqual([[], [1, 2], -1]);
    // 2 comes back after a clean shutdown: electable from the ELR.
    const e = onBrokerRegistered(r, 2, true, live([2, 3]), policy)!;
    expect(e).toMatchObject({ kind: 'elr', registration: { leader: 2, isr: [2], elr: [1] } });
  });

  it('an unclean restart leaves ISR and ELR: the partition stays offline rather than lose acked data', () => {
    const r = reg({ isr: [], elr: [1], leader: -1, leaderEpoch: 6 });
    const e = onBrokerRegistered(r, 1, false, live([1, 2, 3]), policy)!;
    expect(e.registration).toMatchObject({ leader: -1, isr: [], elr: [] });
    // ...unless the topic allows unclean election.
    expect(electLeader(e.registration, live([1, 2, 3]), { ...policy, uncleanLeaderElection: true })).toMatchObject({ kind: 'unclean', registration: { leader: 1, isr: [1] } });
  });

  it('a re-registering leader always gets a new leader epoch', () => {
    const e = onBrokerRegistered(reg(), 1, true, live([1, 2, 3]), policy)!;
    expect(e.registration).toMatchObject({ leader: 1, leaderEpoch: 5 });
    const u = onBrokerRegistered(reg(), 1, false, live([1, 2, 3]), policy)!;
    expect(u.registration).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 5 });
  });

  it('recovery election (ISR and ELR empty): waits for every replica, then the newest epoch, then the longest log, leads', () => {
    const empty = reg({ isr: [], elr: [], leader: -1, leaderEpoch: 6, partitionEpoch: 20 });
    const logs: Record<number, ReplicaLogState> = { 1: { lastEpoch: 5, logEndOffset: 900 }, 2: { lastEpoch: 6, logEndOffset: 700 }, 3: { lastEpoch: 6, logEndOffset: 750 } };
    const reports = (ids: number[]) => (id: number) => (ids.includes(id) ? logs[id] : undefined);
    // A replica missing, not live, or not yet reported: nobody (a stale replica must not lead).
    expect(electRecovered(empty, live([1, 2]), reports([1, 2, 3]))).toBe(null);
    expect(electRecovered(empty, live([1, 2, 3]), reports([1, 2]))).toBe(null);
    // Broker 1 has the longest log but an older epoch: its tail past epoch 5 was never committed.
    const e = electRecovered(empty, live([1, 2, 3]), reports([1, 2, 3]))!;
    expect(e).toMatchObject({ kind: 'recovered', registration: { leader: 3, isr: [3], elr: [], leaderEpoch: 7, partitionEpoch: 21 } });
    // Ties go to replica order (the preferred replica).
    const tie = electRecovered(empty, live([1, 2, 3]), () => ({ lastEpoch: 6, logEndOffset: 10 }))!;
    expect(tie.registration.leader).toBe(1);
    // Not for partitions that still have an ISR/ELR member or a leader: the normal rules apply there.
    expect(electRecovered(reg({ isr: [], elr: [2], leader: -1 }), live([1, 2, 3]), reports([1, 2, 3]))).toBe(null);
    expect(electRecovered(reg(), live([1, 2, 3]), reports([1, 2, 3]))).toBe(null);
  });

  it('moves leadership back to the preferred replica when it is in the ISR', () => {
    expect(electPreferred(reg({ leader: 2 }), live([1, 2, 3]), policy)!.registration.leader).toBe(1);
    expect(electPreferred(reg({ leader: 2, isr: [2, 3] }), live([1, 2, 3]), policy)).toBe(null);
  });
});

describe('AlterPartition validation', () => {
  const req = { leaderId: 1, leaderBrokerEpoch: 101, leaderEpoch: 4, partitionEpoch: 9, newIsr: [{ brokerId: 1, brokerEpoch: -1 }, { brokerId: 2, brokerEpoch: 102 }] };

  it('accepts a shrink, bumps the partition epoch, fills the ELR only below min ISR', () => {
    const r = alterPartition(reg(), req, live([1, 2, 3]), policy);
    expect(r).toMatchObject({ accepted: true, registration: { isr: [1, 2], elr: [], partitionEpoch: 10 } });
    const r2 = alterPartition(reg({ isr: [1, 2] }), { ...req, newIsr: [req.newIsr[0]!] }, live([1, 2, 3]), policy);
    expect(r2).toMatchObject({ accepted: true, registration: { isr: [1], elr: [2] } });
    // Growing back to min ISR empties the ELR.
    const r3 = alterPartition(reg({ isr: [1], elr: [2], partitionEpoch: 9 }), req, live([1, 2, 3]), policy);
    expect(r3).toMatchObject({ accepted: true, registration: { isr: [1, 2], elr: [] } });
  });

  it('rejects stale epochs, non-leaders and ineligible new members', () => {
    const base = reg({ isr: [1, 3] });
    expect(alterPartition(base, { ...req, leaderEpoch: 3 }, live([1, 2, 3]), policy)).toMatchObject({ accepted: false, error: 'FENCED_LEADER_EPOCH' });
    expect(alterPartition(base, { ...req, partitionEpoch: 8 }, live([1, 2, 3]), policy)).toMatchObject({ accepted: false, error: 'INVALID_UPDATE_VERSION' });
    expect(alterPartition(base, { ...req, leaderBrokerEpoch: 5 }, live([1, 2, 3]), policy)).toMatchObject({ accepted: false, error: 'NOT_LEADER' });
    expect(alterPartition(base, req, live([1, 3]), policy)).toMatchObject({ accepted: false, error: 'INELIGIBLE_REPLICA' });
    // 2 restarted (new broker epoch) since the leader saw it catch up.
    expect(alterPartition(base, req, live([1, 2, 3], { 2: 555 }), policy)).toMatchObject({ accepted: false, error: 'INELIGIBLE_REPLICA' });
    expect(alterPartition(base, { ...req, newIsr: [{ brokerId: 2, brokerEpoch: 102 }] }, live([1, 2, 3]), policy)).toMatchObject({ accepted: false, error: 'INVALID_REQUEST' });
  });
});

describe('placement', () => {
  it('spreads replicas over distinct brokers with balanced preferred leaders', () => {
    const brokers = [1, 2, 3, 4, 5];
    const replicas = placeReplicas({ brokers, partitions: 20, replicationFactor: 3, start: 2, shift: 1 });
    const leaders = new Map<number, number>();
    for (const r of replicas) {
      expect(new Set(r).size).toBe(3);
      leaders.set(r[0]!, (leaders.get(r[0]!) ?? 0) + 1);
    }
    expect([...leaders.values()]).toEqual([4, 4, 4, 4, 4]);
    expect(() => placeReplicas({ brokers: [1, 2], partitions: 1, replicationFactor: 3, start: 0, shift: 0 })).toThrow(/replication factor/);
  });
});
