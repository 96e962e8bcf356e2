/**
 * One broker process: claims its data directory, opens the topic catalogue and every partition log
 * (running crash recovery), serves gRPC (Ferry's services + health + reflection), and shuts down
 * cleanly: stop taking requests, let in-flight ones finish (bounded by shutdown.timeout.ms), flush and
 * checkpoint every log, release the directory.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/broker-config.js';
import { loadFerryProto } from '../protocol/grpc-definitions.js';
import { adminService } from './admin-service.js';
import { claimDataDir, type DataDirClaim } from './data-dir.js';
import { fetchService } from './fetch-service.js';
import { GroupCoordinatorRuntime } from './group-coordinator-runtime.js';
import { groupService } from './group-service.js';
import { installLargeHttp2Windows } from './http2-window.js';
import { ClusterNode } from './cluster/cluster-node.js';
import { initialClusterId, quorumSettings } from './cluster/quorum-config.js';
import { BrokerLifecycle } from './lifecycle.js';
import { metadataService } from './metadata-service.js';
import { produceService } from './produce-service.js';
import { TopicManager } from './topic-manager.js';

/** Services reported by gRPC health checking ('' = the broker as a whole). */
const HEALTH_SERVICES = ['', 'ferry.v1.ProduceService', 'ferry.v1.FetchService', 'ferry.v1.MetadataService', 'ferry.v1.AdminService', 'ferry.v1.GroupService'];

/** Room for the protobuf framing around the largest fetch payload. */
const RESPONSE_OVERHEAD_BYTES = 1024 * 1024;

export class Broker {
  private constructor(
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
    private readonly server: grpc.Server,
    private readonly health: HealthImplementation,
    private readonly topics: TopicManager,
    private readonly lifecycle: BrokerLifecycle,
    private readonly claim: DataDirClaim,
    readonly port: number,
    private readonly groups: GroupCoordinatorRuntime,
    /** Null on a single node (controller.quorum.voters empty): nothing cluster-related runs. */
    private readonly cluster: ClusterNode | null,
  ) {}

  static async start(config: BrokerConfig, logger: Logger): Promise<Broker> {
    const started = Date.now();
    logger.info({ config: config.describe() }, 'starting broker');
    const quorum = quorumSettings(config); // validates the voter list before anything is touched
    const claim = await claimDataDir(config.dataDir, config.nodeId, logger, initialClusterId(config, quorum));
    let topics: TopicManager | undefined;
    let cluster: ClusterNode | null = null;
    try {
      topics = await TopicManager.open(config, logger);
      const groups = await GroupCoordinatorRuntime.open(topics, config, logger);
      const lifecycle = new BrokerLifecycle();
      installLargeHttp2Windows();
      const server = new grpc.Server({
        'grpc.max_receive_message_length': config.int('max.request.bytes'),
        'grpc.max_send_message_length': config.int('fetch.max.bytes') + RESPONSE_OVERHEAD_BYTES,
        'grpc.keepalive_time_ms': 30_000,
        'grpc.keepalive_timeout_ms': 10_000,
        'grpc.keepalive_permit_without_calls': 1,
        'grpc.http2.min_ping_interval_without_data_ms': 5_000,
      });
      const { packageDefinition, proto } = loadFerryProto();
      const v1 = proto.ferry.v1;
      let boundPort = config.port;
      const identity = () => ({ clusterId: claim.clusterId, nodeId: config.nodeId, host: config.advertisedHost, port: config.int('advertised.port') || boundPort });
      server.addService(v1.ProduceService.service, produceService(topics, lifecycle, logger));
      server.addService(v1.FetchService.service, fetchService(topics, config, lifecycle, logger));
      server.addService(v1.MetadataService.service, metadataService(topics, identity, lifecycle, logger));
      server.addService(v1.AdminService.service, adminService(topics, () => config.nodeId, lifecycle, logger));
      server.addService(v1.GroupService.service, groupService(groups, identity, lifecycle, logger));
      const health = new HealthImplementation(Object.fromEntries(HEALTH_SERVICES.map((s) => [s, 'NOT_SERVING' as const])));
      health.addToServer(server);
      new ReflectionService(packageDefinition).addToServer(server);
      if (quorum) {
        cluster = new ClusterNode(config, quorum, claim.clusterId, logger);
        cluster.addToServer(server); // services must be added before bindAsync
      }
      boundPort = await new Promise<number>((resolve, reject) => {
        server.bindAsync(`${config.host}:${config.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
      });
      if (cluster) {
        const self = identity();
        await cluster.start({ host: self.host, port: self.port }, (err) => {
          // Raft cannot go on with an unknown disk state; a restart recovers from the files.
          logger.fatal({ err }, 'controller quorum storage failed; exiting');
          logger.flush();
          process.exit(1);
        });
      }
      topics.start();
      groups.start(); // loads __consumer_offsets in the background; GroupService answers COORDINATOR_LOAD_IN_PROGRESS until then
      lifecycle.markRunning();
      for (const service of HEALTH_SERVICES) health.setStatus(service, 'SERVING');
      logger.info({ host: config.host, port: boundPort, nodeId: config.nodeId, clusterId: claim.clusterId, startupMs: Date.now() - started }, 'broker started');
      return new Broker(config, logger, server, health, topics, lifecycle, claim, boundPort, groups, cluster);
    } catch (err) {
      await cluster?.close().catch(() => undefined);
      await topics?.shutdown().catch(() => undefined);
      await claim.release();
      throw err;
    }
  }

  /** Clean shutdown; safe to call more than once. */
  async stop(): Promise<void> {
    if (this.lifecycle.isStopping) return;
    const started = Date.now();
    this.logger.info('shutting down');
    this.lifecycle.beginShutdown();
    for (const service of HEALTH_SERVICES) this.health.setStatus(service, 'NOT_SERVING');
    // Raft host, then transport (its inbound streams would keep tryShutdown waiting), then the server.
    await this.cluster?.close().catch((err: unknown) => this.logger.warn({ err }, 'closing the cluster member failed'));
    const timeoutMs = this.config.int('shutdown.timeout.ms');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.logger.warn({ timeoutMs }, 'in-flight requests did not finish in time; closing connections');
        this.server.forceShutdown();
        resolve();
      }, timeoutMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await this.groups.stop();
    await this.topics.shutdown();
    await this.claim.release();
    this.logger.info({ ms: Date.now() - started }, 'broker stopped cleanly');
  }
}
