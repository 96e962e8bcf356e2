/**
 * This broker as a member of a replicated cluster (controller.quorum.voters set): the gRPC Raft
 * transport, the Raft host over `<data.dir>/raft/` driving the metadata image, the active
 * controller (while this node leads) with its ControllerService, and the broker's
 * register/heartbeat loop. Produce/fetch/topics do not use any of it yet (later wiring steps).
 *
 * Order, as the broker calls it:
 *   create()       — transport + services, before the gRPC server binds (so peers can reach us)
 *   start()        — after bind: open the Raft host, watch leadership, begin heartbeating
 *   close()        — heartbeats, controller, Raft host, then transport; the server closes after
 */
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../../config/broker-config.js';
import { MetadataStateMachine, type ControllerResult, type QuorumController, type RequestContext } from '../../controller/index.js';
import { loadFerryProto } from '../../protocol/grpc-definitions.js';
import { GrpcRaftTransport, NotLeaderError, RaftHost } from '../../replication/raft-host/index.js';
import { ActiveController } from './active-controller.js';
import { BrokerHeartbeat } from './broker-heartbeat.js';
import { controllerService } from './controller-service.js';
import { controllerConfig, type QuorumSettings } from './quorum-config.js';

/** Not a `<topic>-<n>` name, so the partition-log scan of data.dir passes it by. */
export const RAFT_DIR_NAME = 'raft';

export class ClusterNode {
  private host: RaftHost | null = null;
  private active: ActiveController | null = null;
  private heartbeat: BrokerHeartbeat | null = null;
  private readonly stateMachine = new MetadataStateMachine();
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
  }

  /** Adds RaftService and ControllerService; call before the server binds. */
  addToServer(server: grpc.Server): void {
    this.transport.addToServer(server);
    // The service exists from the start; until start() it answers NOT_LEADER_OR_FOLLOWER.
    server.addService(loadFerryProto().proto.ferry.v1.ControllerService.service, controllerService(this, this.controllerLogger));
  }

  /** ControllerRunner for the service: the active controller, once the Raft host is open. */
  run<R>(handler: (c: QuorumController, ctx: RequestContext) => ControllerResult<R>): Promise<R> {
    if (!this.active) return Promise.reject(new NotLeaderError(null, 0, '', 'the controller quorum member is still starting'));
    return this.active.run(handler);
  }

  /** Opens the Raft host and starts the controller watch and the broker's heartbeats. */
  async start(advertised: { host: string; port: number }, onFatalError: (err: Error) => void): Promise<void> {
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
      voters: this.quorum.voters,
      intervalMs: this.quorum.brokerHeartbeatIntervalMs,
      knownLeader: () => host.leader().leaderId,
      metadataOffset: () => this.stateMachine.image.offset,
      logger: this.logger.child({ component: 'broker-lifecycle' }),
    });
    this.heartbeat.start();
  }

  /** Heartbeats, controller, Raft host, then the transport (its inbound streams would hold the server open). */
  async close(): Promise<void> {
    this.heartbeat?.stop();
    this.active?.stop();
    await this.host?.close();
    this.transport.close();
  }
}
