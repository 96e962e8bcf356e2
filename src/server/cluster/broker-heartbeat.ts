/**
 * The broker half of the lifecycle (KRaft's BrokerLifecycleManager): register with the active
 * controller at start-up, then heartbeat every broker.heartbeat.interval.ms. The target is the
 * Raft leader this node knows of, else the leader hint of a NOT_LEADER_OR_FOLLOWER answer, else
 * the voters in turn. A heartbeat refused for a stale epoch or an unknown registration (the
 * controller lost it, or this broker was re-registered elsewhere) registers again.
 * Logs registration, fencing and unfencing, and every change of controller.
 *
 * Not yet: controlled shutdown (wantShutdown), the clean-shutdown epoch file, `recovering` while
 * log recovery runs — the later wiring steps.
 */
import * as grpc from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ControllerServiceClient } from '../../generated/ferry/v1/ControllerService.js';
import { loadFerryProto } from '../../protocol/grpc-definitions.js';
import type { VoterAddress } from '../../replication/raft/index.js';
import { voterAddress } from '../../replication/raft-host/index.js';

export interface BrokerHeartbeatOptions {
  brokerId: number;
  clusterId: string;
  host: string;
  port: number;
  voters: readonly VoterAddress[];
  intervalMs: number;
  /** The Raft leader this node knows of (null during an election). */
  knownLeader: () => number | null;
  /** The offset of the metadata this broker has applied. */
  metadataOffset: () => number;
  logger: Logger;
}

export class BrokerHeartbeat {
  private readonly incarnationId = randomUUID();
  private readonly clients = new Map<number, ControllerServiceClient>();
  private brokerEpoch: number | null = null;
  private fenced: boolean | null = null;
  private controllerId: number | null = null;
  private hint: number | null = null;
  private nextVoter = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly options: BrokerHeartbeatOptions) {}

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.beat().finally(() => {
        // Registration retries quickly; a registered broker beats at its interval.
        this.schedule(this.brokerEpoch === null ? Math.min(200, this.options.intervalMs) : this.options.intervalMs);
      });
    }, delayMs);
  }

  private target(): number {
    const leader = this.options.knownLeader() ?? this.hint;
    if (leader !== null && this.options.voters.some((v) => v.id === leader)) return leader;
    const v = this.options.voters[this.nextVoter++ % this.options.voters.length]!;
    return v.id;
  }

  private client(id: number): ControllerServiceClient {
    let c = this.clients.get(id);
    if (!c) {
      const voter = this.options.voters.find((v) => v.id === id)!;
      const v1 = loadFerryProto().proto.ferry.v1;
      c = new v1.ControllerService(voterAddress(voter), grpc.credentials.createInsecure()) as unknown as ControllerServiceClient;
      this.clients.set(id, c);
    }
    return c;
  }

  private async beat(): Promise<void> {
    const { logger } = this.options;
    const target = this.target();
    const client = this.client(target);
    const deadline = new Date(Date.now() + Math.max(1_000, 2 * this.options.intervalMs));
    try {
      if (this.brokerEpoch === null) {
        const res = await new Promise<{ brokerEpoch: number }>((resolve, reject) => {
          client.RegisterBroker({
            brokerId: this.options.brokerId, clusterId: this.options.clusterId, incarnationId: this.incarnationId,
            host: this.options.host, port: this.options.port, previousBrokerEpoch: -1,
          }, { deadline }, (err, r) => (err ? reject(err) : resolve({ brokerEpoch: Number(r!.brokerEpoch) })));
        });
        this.brokerEpoch = res.brokerEpoch;
        this.fenced = true;
        this.noteController(target);
        logger.info({ brokerEpoch: res.brokerEpoch, controllerId: target, incarnationId: this.incarnationId }, 'broker registered with the controller');
      }
      const res = await new Promise<{ isFenced: boolean; isCaughtUp: boolean }>((resolve, reject) => {
        client.BrokerHeartbeat({
          brokerId: this.options.brokerId, brokerEpoch: this.brokerEpoch!, metadataOffset: this.options.metadataOffset(),
          wantFence: false, wantShutdown: false, recovering: false,
        }, { deadline }, (err, r) => (err ? reject(err) : resolve({ isFenced: r!.isFenced, isCaughtUp: r!.isCaughtUp })));
      });
      this.noteController(target);
      if (res.isFenced !== this.fenced) {
        this.fenced = res.isFenced;
        if (res.isFenced) logger.warn({ brokerEpoch: this.brokerEpoch, controllerId: target, isCaughtUp: res.isCaughtUp }, 'broker fenced by the controller');
        else logger.info({ brokerEpoch: this.brokerEpoch, controllerId: target }, 'broker unfenced by the controller');
      }
    } catch (err) {
      this.failed(target, err as grpc.ServiceError);
    }
  }

  private noteController(id: number): void {
    if (this.controllerId === id) return;
    this.controllerId = id;
    this.options.logger.info({ controllerId: id, brokerEpoch: this.brokerEpoch, fenced: this.fenced }, 'broker heartbeats to a new active controller');
  }

  private failed(target: number, err: grpc.ServiceError): void {
    const code = err.metadata?.get('ferry-error-code')[0]?.toString() ?? '';
    const leader = Number(err.metadata?.get('ferry-leader-id')[0]?.toString() ?? NaN);
    this.hint = Number.isInteger(leader) && leader >= 0 ? leader : null;
    if (code === 'NOT_LEADER_OR_FOLLOWER') {
      this.options.logger.debug({ target, hint: this.hint }, 'controller request redirected');
      return;
    }
    if (this.brokerEpoch !== null && (code === 'INVALID_REQUEST' || code === 'BROKER_NOT_AVAILABLE')) {
      // Stale epoch or unknown registration: this incarnation registers again.
      this.options.logger.warn({ brokerEpoch: this.brokerEpoch, controllerId: target, err: err.details }, 'heartbeat refused; registering again');
      this.brokerEpoch = null;
      this.fenced = null;
      return;
    }
    this.options.logger.debug({ target, code, err: err.details ?? err.message }, 'controller request failed; retrying');
  }
}
