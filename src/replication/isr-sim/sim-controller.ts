/**
 * SimController: a linearizable, never-failing controller (the Raft simulation covers the
 * controller's own safety). It owns broker registrations and every PartitionRegistration, and
 * applies the pure decisions from src/replication/isr: registration (clean / unclean), session-
 * timeout fencing, AlterPartition, offline and preferred-leader elections. Every change is pushed to
 * the partition's replicas over the lossy network; heartbeat answers carry the full state again, so
 * a lost push is repaired within a heartbeat.
 */
import {
  alterPartition, electPreferred, maybeElectOffline, onBrokerFenced, onBrokerRegistered,
  type AlterPartitionRequest, type AlterPartitionResult, type BrokerLiveness, type Election, type PartitionPolicy, type PartitionRegistration,
} from '../isr/index.js';
import type { SimEnv } from './sim-env.js';

interface BrokerRecord {
  epoch: number;
  lastHeartbeatMs: number;
  fenced: boolean;
}

/** How often the controller moves leadership back to preferred replicas. */
const PREFERRED_ELECTION_INTERVAL_MS = 500;

export class SimController {
  readonly partitions: PartitionRegistration[];
  private readonly policies: PartitionPolicy[];
  private readonly brokers = new Map<number, BrokerRecord>();
  private nextBrokerEpoch = 100;
  private lastPreferredMs = 0;
  readonly liveness: BrokerLiveness = {
    isLive: (id) => {
      const b = this.brokers.get(id);
      return !!b && !b.fenced;
    },
    brokerEpoch: (id) => this.brokers.get(id)?.epoch,
  };

  constructor(
    private readonly env: SimEnv,
    assignments: number[][],
  ) {
    const cfg = env.cfg;
    this.policies = assignments.map((_, p) => ({ minInsyncReplicas: cfg.minInsyncReplicas, uncleanLeaderElection: cfg.uncleanPartitions.has(p) }));
    // Topics are created with every replica in the ISR and the preferred replica leading (empty logs).
    this.partitions = assignments.map((replicas) => ({ replicas, isr: replicas, elr: [], leader: replicas[0]!, leaderEpoch: 0, partitionEpoch: 0 }));
    for (let id = 1; id <= cfg.brokers; id++) this.brokers.set(id, { epoch: this.nextBrokerEpoch++, lastHeartbeatMs: 0, fenced: false });
  }

  brokerEpoch(id: number): number {
    return this.brokers.get(id)!.epoch;
  }

  /**
   * A broker (re)starts: new broker epoch; a partition it led gets a new leader epoch. Clean only
   * when it presents the broker epoch we hold for it (KIP-966: the incarnation we knew stopped
   * without loss); otherwise it may have lost un-fsynced records and leaves every ISR and ELR.
   */
  register(id: number, previousBrokerEpoch: number): number {
    const cleanShutdown = previousBrokerEpoch >= 0 && this.brokers.get(id)?.epoch === previousBrokerEpoch;
    const epoch = this.nextBrokerEpoch++;
    this.brokers.set(id, { epoch, lastHeartbeatMs: this.env.queue.now, fenced: false });
    this.env.trace.add(`C register b${id} epoch=${epoch} ${cleanShutdown ? 'clean' : 'UNCLEAN'}`);
    this.partitions.forEach((reg, p) => {
      if (reg.replicas.includes(id)) this.apply(p, onBrokerRegistered(reg, id, cleanShutdown, this.liveness, this.policies[p]!), `register b${id}`);
    });
    this.electOffline();
    return epoch;
  }

  /** Returns false for a stale incarnation (the broker must register again). */
  heartbeat(id: number, brokerEpoch: number): boolean {
    const b = this.brokers.get(id);
    if (!b || b.epoch !== brokerEpoch) return false;
    b.lastHeartbeatMs = this.env.queue.now;
    if (b.fenced) {
      b.fenced = false;
      this.env.trace.add(`C unfence b${id}`);
      this.electOffline();
    }
    return true;
  }

  alterPartition(p: number, req: AlterPartitionRequest): AlterPartitionResult {
    const result = alterPartition(this.partitions[p]!, req, this.liveness, this.policies[p]!);
    const isr = req.newIsr.map((m) => m.brokerId).join(',');
    if (result.accepted) this.apply(p, { registration: result.registration, kind: 'isr' }, `alter by b${req.leaderId} isr=[${isr}]`);
    else this.env.trace.add(`C p${p} alter by b${req.leaderId} isr=[${isr}] rejected ${result.error}`);
    return result;
  }

  tick(): void {
    const now = this.env.queue.now;
    for (const [id, b] of this.brokers) {
      if (b.fenced || now - b.lastHeartbeatMs <= this.env.cfg.brokerSessionTimeoutMs) continue;
      b.fenced = true;
      this.env.trace.add(`C fence b${id} (session timeout)`);
      this.partitions.forEach((reg, p) => this.apply(p, onBrokerFenced(reg, id, this.liveness, this.policies[p]!), `fence b${id}`));
    }
    if (now - this.lastPreferredMs >= PREFERRED_ELECTION_INTERVAL_MS) {
      this.lastPreferredMs = now;
      this.partitions.forEach((reg, p) => this.apply(p, electPreferred(reg, this.liveness, this.policies[p]!), 'preferred'));
    }
  }

  private electOffline(): void {
    this.partitions.forEach((reg, p) => this.apply(p, maybeElectOffline(reg, this.liveness, this.policies[p]!), 'offline'));
  }

  private apply(p: number, change: Election | null, why: string): void {
    if (!change) return;
    const reg = change.registration;
    this.partitions[p] = reg;
    if (change.kind === 'unclean') this.env.checker.onUncleanElection(p);
    this.env.trace.add(`C p${p} ${why}: leader=${reg.leader} le=${reg.leaderEpoch} pe=${reg.partitionEpoch} isr=[${reg.isr}] elr=[${reg.elr}] (${change.kind})`);
    for (const id of reg.replicas) this.env.pushState(id, p, reg);
  }
}
