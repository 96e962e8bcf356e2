/**
 * Broker lifecycle on the controller (KRaft's ClusterControlManager + BrokerHeartbeatManager):
 * registration, heartbeats, fencing, unfencing, controlled shutdown.
 *
 * States of a registration (all in the metadata log, so every node agrees):
 *   registered fenced ──heartbeat, caught up to its own registration──▶ unfenced
 *   unfenced ──missed broker.session.timeout.ms, or asks to be fenced──▶ fenced (ISR/leaders moved)
 *   unfenced ──heartbeat wantShutdown──▶ inControlledShutdown (leaders moved) ──▶ told to stop once
 *            it has seen those changes; its session then lapses and it is fenced
 *   any ──RegisterBroker with a new incarnation──▶ the new incarnation, fenced (old epoch fenced out)
 *
 * Clean vs unclean restart (KIP-966, DESIGN §3): a broker that finished a controlled shutdown keeps
 * its broker epoch on disk and sends it back as `previousBrokerEpoch`; any other restart of a known
 * broker is unclean — it may have lost un-fsynced records — so it leaves every ISR and ELR and is
 * `recovering` (not electable, not an ISR candidate) until its heartbeat says its log recovery is
 * done; after that it rejoins ISRs only through its leaders' AlterPartition, i.e. once caught up.
 *
 * When every replica of a partition restarted uncleanly (a whole-cluster power loss), ISR and ELR
 * are empty and no rule elects anyone; brokers then report those replicas' logs (last epoch, end
 * offset) in their heartbeats, and once all replicas have, the most complete one leads
 * (replication-control.ts `electRecoveredLeaders`, KIP-966's unclean recovery).
 *
 * Sessions (last heartbeat per broker) are volatile, like KRaft's: a newly active controller gives
 * every registered broker a fresh session, so a failover never fences a healthy broker.
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { onBrokerRegistered, type BrokerId, type ReplicaLogState } from '../replication/isr/index.js';
import { partitionPolicy } from './config-control.js';
import { eligibility, type ControllerConfig, type MetadataBatch } from './controller-types.js';
import {
  beginControlledShutdown, electOffline, electRecoveredLeaders, emitPartitionChange, fenceBroker, leadsNothing, type RecoveredLeader,
} from './replication-control.js';

/** Largest accepted listener port. */
const PORT_MAX = 65_535;

export interface RegisterBrokerRequest {
  brokerId: BrokerId;
  clusterId: string;
  incarnationId: string;
  host: string;
  port: number;
  /** The broker epoch saved at its last clean shutdown; -1 when it has none (crash, first start). */
  previousBrokerEpoch: number;
}

export interface RegisterBrokerResponse {
  brokerEpoch: number;
}

export interface BrokerHeartbeatRequest {
  brokerId: BrokerId;
  brokerEpoch: number;
  /** The offset of the last metadata entry this broker has applied to its image. */
  metadataOffset: number;
  /** The broker wants to be fenced (e.g. it lost its log directory). */
  wantFence: boolean;
  /** Controlled shutdown (SIGTERM): move my leaderships away, then tell me to stop. */
  wantShutdown: boolean;
  /** Still recovering its logs after an unclean shutdown. */
  recovering: boolean;
  /**
   * The broker's logs of its partitions that have no leader, no ISR and no ELR in its image (every
   * replica restarted uncleanly): input to the recovery election. Sent in full on every heartbeat.
   */
  leaderlessReplicas?: LeaderlessReplicaReport[];
}

export interface LeaderlessReplicaReport extends ReplicaLogState {
  topicId: string;
  partition: number;
  /** The partition epoch of the registration the broker saw; a report for another epoch is stale. */
  partitionEpoch: number;
}

export interface BrokerHeartbeatResponse {
  isFenced: boolean;
  /** The broker has applied metadata up to its own registration. */
  isCaughtUp: boolean;
  /** Controlled shutdown is complete: the broker leads nothing and has seen that. */
  shouldShutDown: boolean;
  /** Recovery elections this heartbeat completed (for the controller's log). */
  recoveredLeaders: RecoveredLeader[];
}

interface Session {
  lastHeartbeatMs: number;
  /** Set once controlled shutdown has begun: the broker may stop after applying this offset. */
  shutdownOffset: number | null;
  /** Its latest leaderless-replica reports, by `topicId:partition`. */
  leaderless: Map<string, LeaderlessReplicaReport>;
}

/** Volatile per-broker heartbeat state of the active controller. */
export class BrokerSessions {
  private readonly sessions = new Map<BrokerId, Session>();

  touch(id: BrokerId, now: number): Session {
    let s = this.sessions.get(id);
    if (!s) {
      s = { lastHeartbeatMs: now, shutdownOffset: null, leaderless: new Map() };
      this.sessions.set(id, s);
    }
    s.lastHeartbeatMs = now;
    return s;
  }

  reset(id: BrokerId, now: number): void {
    this.sessions.set(id, { lastHeartbeatMs: now, shutdownOffset: null, leaderless: new Map() });
  }

  /** Replaces a broker's leaderless-replica reports with those of its latest heartbeat. */
  setLeaderless(id: BrokerId, reports: readonly LeaderlessReplicaReport[]): void {
    const s = this.sessions.get(id);
    if (!s) return;
    s.leaderless = new Map(reports.map((r) => [`${r.topicId}:${r.partition}`, r]));
  }

  /** `broker`'s report of a partition at `partitionEpoch`, if its latest heartbeat had one. */
  leaderlessReport(broker: BrokerId, topicId: string, partition: number, partitionEpoch: number): ReplicaLogState | undefined {
    const r = this.sessions.get(broker)?.leaderless.get(`${topicId}:${partition}`);
    return r && r.partitionEpoch === partitionEpoch ? { lastEpoch: r.lastEpoch, logEndOffset: r.logEndOffset } : undefined;
  }

  /** When the earliest watched session expires (Infinity when none is watched). */
  nextExpiryMs(timeoutMs: number, watched: (id: BrokerId) => boolean): number {
    let next = Infinity;
    for (const [id, s] of this.sessions) if (watched(id)) next = Math.min(next, s.lastHeartbeatMs + timeoutMs + 1);
    return next;
  }

  /** Brokers whose last heartbeat is older than `timeoutMs`, sorted by id. */
  expired(now: number, timeoutMs: number): BrokerId[] {
    return [...this.sessions].filter(([, s]) => now - s.lastHeartbeatMs > timeoutMs).map(([id]) => id).sort((a, b) => a - b);
  }
}

export function registerBroker(batch: MetadataBatch, req: RegisterBrokerRequest, config: ControllerConfig): RegisterBrokerResponse {
  if (req.clusterId !== config.clusterId) {
    throw new FerryError(ErrorCode.INCONSISTENT_CLUSTER_ID, `broker ${req.brokerId} belongs to cluster ${req.clusterId}, this is ${config.clusterId}`);
  }
  if (!Number.isInteger(req.brokerId) || req.brokerId < 0) throw new FerryError(ErrorCode.INVALID_REQUEST, `invalid broker id ${req.brokerId}`);
  if (!req.incarnationId) throw new FerryError(ErrorCode.INVALID_REQUEST, 'missing incarnation id');
  if (!req.host || !Number.isInteger(req.port) || req.port < 1 || req.port > PORT_MAX) {
    throw new FerryError(ErrorCode.INVALID_REQUEST, `invalid listener ${req.host}:${req.port}`);
  }
  const existing = batch.view.broker(req.brokerId);
  // A retry of a registration that went through (its answer was lost): same epoch, nothing new.
  if (existing && existing.incarnationId === req.incarnationId) return { brokerEpoch: existing.brokerEpoch };
  const clean = !existing || req.previousBrokerEpoch === existing.brokerEpoch;
  batch.emit({
    type: 'RegisterBroker', brokerId: req.brokerId, incarnationId: req.incarnationId, brokerEpoch: batch.offset, clusterId: req.clusterId,
    host: req.host, port: req.port, fenced: true, inControlledShutdown: false, recovering: !clean,
  });
  if (existing) {
    // The previous incarnation's partitions: unclean → out of ISR/ELR; led → new leader epoch.
    for (const topic of batch.view.topicList()) {
      topic.partitions.forEach((_, p) => {
        const reg = batch.view.topicById(topic.id)!.partitions[p]!;
        if (!reg.replicas.includes(req.brokerId)) return;
        const policy = partitionPolicy(batch.view, topic.name, reg.replicas.length, config);
        const e = onBrokerRegistered(reg, req.brokerId, clean, eligibility(batch.view), policy);
        if (e && e.registration !== reg) emitPartitionChange(batch, topic.id, p, reg, e.registration);
      });
    }
  }
  return { brokerEpoch: batch.offset };
}

export function brokerHeartbeat(batch: MetadataBatch, req: BrokerHeartbeatRequest, config: ControllerConfig, sessions: BrokerSessions, now: number): BrokerHeartbeatResponse {
  const reg = batch.view.broker(req.brokerId);
  if (!reg) throw new FerryError(ErrorCode.STALE_BROKER_EPOCH, `broker ${req.brokerId} is not registered: register first`);
  if (reg.brokerEpoch !== req.brokerEpoch) {
    throw new FerryError(ErrorCode.STALE_BROKER_EPOCH, `broker ${req.brokerId}: stale broker epoch ${req.brokerEpoch} (registered ${reg.brokerEpoch}): re-register`);
  }
  const session = sessions.touch(req.brokerId, now);
  const isCaughtUp = req.metadataOffset >= reg.brokerEpoch;
  if (reg.recovering && !req.recovering) {
    batch.emit({ type: 'BrokerRegistrationChange', brokerId: reg.brokerId, brokerEpoch: reg.brokerEpoch, recovering: false });
    if (!reg.fenced && !reg.inControlledShutdown) electOffline(batch, reg.brokerId, config);
  }
  let current = batch.view.broker(req.brokerId)!;
  if (req.wantShutdown) {
    if (!current.fenced && !current.inControlledShutdown) {
      beginControlledShutdown(batch, current.brokerId, config);
      session.shutdownOffset = batch.offset;
    } else if (current.inControlledShutdown && session.shutdownOffset === null) {
      // Began under a previous active controller: everything it wrote is in our image.
      session.shutdownOffset = batch.base.offset;
    }
  } else if (req.wantFence) {
    if (!current.fenced) fenceBroker(batch, current.brokerId, config);
  } else if (current.fenced && isCaughtUp && !current.inControlledShutdown) {
    batch.emit({ type: 'UnfenceBroker', brokerId: current.brokerId, brokerEpoch: current.brokerEpoch });
    electOffline(batch, current.brokerId, config);
  }
  // Whole-cluster crash: partitions whose every replica restarted uncleanly lead again once all
  // replicas have reported their logs (this heartbeat may bring the last report).
  sessions.setLeaderless(req.brokerId, req.leaderlessReplicas ?? []);
  const recoveredLeaders = (req.leaderlessReplicas?.length ?? 0) > 0
    ? electRecoveredLeaders(batch, (broker, topicId, partition, epoch) => sessions.leaderlessReport(broker, topicId, partition, epoch))
    : [];
  current = batch.view.broker(req.brokerId)!;
  const shouldShutDown = req.wantShutdown && (current.fenced ||
    (session.shutdownOffset !== null && req.metadataOffset >= session.shutdownOffset && leadsNothing(batch.view, current.brokerId)));
  return { isFenced: current.fenced, isCaughtUp, shouldShutDown, recoveredLeaders };
}
