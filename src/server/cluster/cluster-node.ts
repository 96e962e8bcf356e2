/**
 * This broker as a member of a replicated cluster (controller.quorum.voters set): the gRPC Raft
 * transport, the Raft host over `<data.dir>/raft/` driving the metadata image, the active
 * controller (while this node leads) with its ControllerService, the channel to the active
 * controller, and the broker's register/heartbeat loop.
 *
 * Order, as the broker calls it:
 *   constructor / addToServer — transport + services, before the gRPC server binds
 *   start()                   — after bind: open the Raft host, watch leadership, begin heartbeating
 *   controlledShutdown()      — SIGTERM: leadership moves away while everything still runs
 *   close()                   — heartbeats, controller, Raft host, then transport
 *   saveCleanShutdown()       — after the logs closed cleanly: the epoch the next start registers with
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../../config/broker-config.js';
import {
  MetadataStateMachine, type ControllerResult, type LeaderlessReplicaReport, type MetadataImage, type QuorumController, type RequestContext,
} from '../../controller/index.js';
import { loadFerryProto } from '../../protocol/grpc-definitions.js';
import { GrpcRaftTransport, NotLeaderError, RaftHost } from '../../replication/raft-host/index.js';
import { fsyncDir, writeFileAtomically } from '../../util/atomic-file.js';
import { ActiveController } from './active-controller.js';
import { BrokerHeartbeat } from './broker-heartbeat.js';
import { ControllerChannel } from './controller-channel.js';
import { controllerService } from './controller-service.js';
import { controllerConfig, type QuorumSettings } from './quorum-config.js';

/** Not a `<topic>-<n>` name, so the partition-log scan of data.dir passes it by. */
export const RAFT_DIR_NAME = 'raft';
/** The broker epoch of the last clean shutdown (KRaft's clean-shutdown file); removed at start. */
const CLEAN_SHUTDOWN_FILE = 'clean-shutdown.json';

/** What the broker around a ClusterNode provides to it at start. */
export interface ClusterNodeHooks {
  /** A (new) registration was accepted. */
  onRegistered: (brokerEpoch: number) => void;
  /** The controller quorum's storage failed: the process must exit. */
  onFatalError: (err: Error) => void;
  /** Local replicas of partitions with no leader, ISR or ELR, with their logs (recovery election). */
  leaderlessReplicas: () => LeaderlessReplicaReport[];
}

export class ClusterNode {
  readonly stateMachine = new MetadataStateMachine();
  readonly channel: ControllerChannel;
  private host: RaftHost | null = null;
  private active: ActiveController | null = null;
  private heartbeat: BrokerHeartbeat | null = null;
  private readonly transport: GrpcRaftTransport;
  private readonly controllerLogger: Logger;

  constructor(
    private readonly config: BrokerConfig,
    private readonly quorum: QuorumSettings,
    private readonly clusterId: string,
    private readonly logger: Logger,
  ) {
    this.transport = new GrpcRaftTransport({ selfId: config.nodeId, voters: quorum.voters, logger });
    this.controllerLogger = logger.child({ component: 'controller' });
    this.channel = new ControllerChannel(quorum.voters, () => this.host?.leader().leaderId ?? null, logger.child({ component: 'controller-channel' }));
  }

  get image(): MetadataImage {
    return this.stateMachine.image;
  }

  /** The voter ids (the cluster's brokers). */
  get voterIds(): number[] {
    return this.quorum.voters.map((v) => v.id);
  }

  /** The active controller's id as this node knows it (-1 during an election). */
  get controllerId(): number {
    return this.host?.leader().leaderId ?? -1;
  }

  get brokerEpoch(): number | null {
    return this.heartbeat?.brokerEpoch ?? null;
  }

  /** Adds RaftService and ControllerService; call before the server binds. */
  addToServer(server: grpc.Server): void {
    this.transport.addToServer(server);
    // The service exists from the start; until start() it answers NOT_CONTROLLER.
    server.addService(loadFerryProto().proto.ferry.v1.ControllerService.service, controllerService(this, this.controllerLogger));
  }

  /** ControllerRunner for the service: the active controller, once the Raft host is open. */
  run<R>(handler: (c: QuorumController, ctx: RequestContext) => ControllerResult<R>): Promise<R> {
    if (!this.active) return Promise.reject(new NotLeaderError(null, 0, '', 'the controller quorum member is still starting'));
    return this.active.run(handler);
  }

  /** Opens the Raft host and starts the controller watch and the broker's heartbeats. */
  async start(advertised: { host: string; port: number }, hooks: ClusterNodeHooks): Promise<void> {
    const { onRegistered, onFatalError, leaderlessReplicas } = hooks;
    const previousBrokerEpoch = await this.takeCleanShutdownEpoch();
    const host = await RaftHost.open({
      config: this.quorum.raft,
      dir: join(this.config.dataDir, RAFT_DIR_NAME),
      stateMachine: this.stateMachine,
      transport: this.transport,
      logger: this.logger.child({ component: 'raft' }),
      addressOf: (id) => this.transport.addressOf(id),
      onFatalError,
    });
    this.host = host;
    this.active = new ActiveController(host, this.stateMachine, controllerConfig(this.config, this.quorum, this.clusterId), this.controllerLogger, (id) => this.transport.addressOf(id));
    this.active.start();
    this.heartbeat = new BrokerHeartbeat({
      brokerId: this.config.nodeId,
      clusterId: this.clusterId,
      host: advertised.host,
      port: advertised.port,
      previousBrokerEpoch,
      intervalMs: this.quorum.brokerHeartbeatIntervalMs,
      channel: this.channel,
      metadataOffset: () => this.stateMachine.image.offset,
      ledPartitions: () => this.stateMachine.image.partitionsLedBy(this.config.nodeId).length,
      leaderlessReplicas,
      onRegistered,
      logger: this.logger.child({ component: 'broker-lifecycle' }),
    });
    this.heartbeat.start();
  }

  /** Resolves once the local image has applied `offset` (or rejects after `timeoutMs`). */
  waitForOffset(offset: number, timeoutMs: number): Promise<void> {
    if (this.stateMachine.image.offset >= offset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        remove();
        reject(new Error(`metadata offset ${offset} not applied within ${timeoutMs} ms (at ${this.stateMachine.image.offset})`));
      }, timeoutMs);
      const remove = this.stateMachine.onImage((_, next) => {
        if (next.offset < offset) return;
        clearTimeout(timer);
        queueMicrotask(remove); // not while the state machine iterates its listeners
        resolve();
      });
    });
  }

  /** SIGTERM: ask the controller to move this broker's leaderships away first (KIP-841). */
  async controlledShutdown(): Promise<void> {
    const timeoutMs = this.config.int('controlled.shutdown.timeout.ms');
    if (!this.heartbeat || timeoutMs <= 0) return;
    await this.heartbeat.controlledShutdown(timeoutMs);
  }

  /** Heartbeats, controller, Raft host, then the transport (its inbound streams would hold the server open). */
  async close(): Promise<void> {
    this.heartbeat?.stop();
    this.active?.stop();
    this.channel.close();
    await this.host?.close();
    this.transport.close();
  }

  /** Records the broker epoch for the next start: it may keep its replicas in the ISR (clean). */
  async saveCleanShutdown(): Promise<void> {
    const epoch = this.heartbeat?.brokerEpoch;
    if (epoch === null || epoch === undefined) return;
    await writeFileAtomically(join(this.config.dataDir, CLEAN_SHUTDOWN_FILE), `${JSON.stringify({ brokerEpoch: epoch })}\n`);
  }

  /** Reads and removes the clean-shutdown record: a crash after this start must not look clean. */
  private async takeCleanShutdownEpoch(): Promise<number> {
    const path = join(this.config.dataDir, CLEAN_SHUTDOWN_FILE);
    let epoch = -1;
    try {
      const parsed = JSON.parse(await fsp.readFile(path, 'utf8')) as { brokerEpoch?: unknown };
      if (typeof parsed.brokerEpoch === 'number' && Number.isSafeInteger(parsed.brokerEpoch)) epoch = parsed.brokerEpoch;
      await fsp.rm(path, { force: true });
      await fsyncDir(this.config.dataDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.logger.warn({ err, path }, 'clean-shutdown record unreadable; registering as after a crash');
    }
    this.logger.info({ previousBrokerEpoch: epoch, clean: epoch >= 0 }, epoch >= 0 ? 'previous shutdown was clean' : 'no clean-shutdown record: registering as recovering');
    return epoch;
  }
}
