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
import { ConnectionLimiter } from './connection-limits.js';
import { installLargeHttp2Windows, withHttp2ServerHook } from './http2-window.js';
import { ClusterNode } from './cluster/cluster-node.js';
import { ClusterTopics } from './cluster/cluster-topics.js';
import { sendAlterPartition } from './cluster/alter-partition-sender.js';
import { ReplicaManager } from './replication/replica-manager.js';
import { replicaService } from './replication/replica-service.js';
import { replicationSettings } from './replication/replication-settings.js';
import { initialClusterId, quorumSettings } from './cluster/quorum-config.js';
import { BrokerLifecycle } from './lifecycle.js';
import { metadataService, type ClusterMetadataView } from './metadata-service.js';
import { produceService } from './produce-service.js';
import { BlockProducerIds, BrokerEpochProducerIds } from './producer-ids.js';
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
    /** In a cluster: coordinates the groups of the __consumer_offsets partitions this broker leads. */
    private readonly groups: GroupCoordinatorRuntime,
    /** Null on a single node (controller.quorum.voters empty): nothing cluster-related runs. */
    private readonly cluster: ClusterNode | null,
    private readonly replicas: ReplicaManager | null,
  ) {}

  private stopping = false;

  static async start(config: BrokerConfig, logger: Logger): Promise<Broker> {
    const started = Date.now();
    logger.info({ config: config.describe() }, 'starting broker');
    const quorum = quorumSettings(config); // validates the voter list before anything is touched
    const claim = await claimDataDir(config.dataDir, config.nodeId, logger, initialClusterId(config, quorum));
    let topics: TopicManager | undefined;
    let cluster: ClusterNode | null = null;
    let replicas: ReplicaManager | null = null;
    try {
      let clusterTopics: ClusterTopics | null = null;
      if (quorum) {
        cluster = new ClusterNode(config, quorum, claim.clusterId, logger);
        clusterTopics = new ClusterTopics(cluster, config);
      }
      topics = await TopicManager.open(config, logger, clusterTopics);
      if (cluster && clusterTopics) {
        replicas = createReplicaManager(config, topics, cluster, clusterTopics, logger);
        topics.attachReplication(replicas);
      }
      // In a cluster __consumer_offsets is created through the controller once registered, and group
      // state follows its partitions' leadership (registered before the broker registers).
      const groups = cluster && replicas
        ? GroupCoordinatorRuntime.forCluster(topics, config, logger, { leadership: replicas, voterCount: cluster.voterIds.length, metadata: cluster })
        : await GroupCoordinatorRuntime.open(topics, config, logger);
      const lifecycle = new BrokerLifecycle();
      installLargeHttp2Windows();
      const server = new grpc.Server({
        'grpc.max_receive_message_length': config.int('max.request.bytes'),
        'grpc.max_send_message_length': Math.max(config.int('fetch.max.bytes'), 2 * config.int('replica.fetch.response.max.bytes')) + RESPONSE_OVERHEAD_BYTES,
        'grpc.keepalive_time_ms': 30_000,
        'grpc.keepalive_timeout_ms': 10_000,
        'grpc.keepalive_permit_without_calls': 1,
        'grpc.http2.min_ping_interval_without_data_ms': 5_000,
        'grpc.max_concurrent_streams': config.int('max.concurrent.streams.per.connection'),
      });
      const { packageDefinition, proto } = loadFerryProto();
      const v1 = proto.ferry.v1;
      let boundPort = config.port;
      const identity = () => ({ clusterId: claim.clusterId, nodeId: config.nodeId, host: config.advertisedHost, port: config.int('advertised.port') || boundPort });
      const clusterView = cluster ? clusterViewOf(cluster) : null;
      const c = cluster;
      const producerIds = c ? new BrokerEpochProducerIds(() => c.brokerEpoch) : new BlockProducerIds(config.dataDir);
      server.addService(v1.ProduceService.service, produceService(topics, config, lifecycle, logger, producerIds));
      server.addService(v1.FetchService.service, fetchService(topics, config, lifecycle, logger));
      server.addService(v1.MetadataService.service, metadataService(topics, identity, clusterView, lifecycle, logger));
      server.addService(v1.AdminService.service, adminService(topics, () => config.nodeId, lifecycle, logger));
      server.addService(v1.GroupService.service, groupService(groups, identity, lifecycle, logger));
      const health = new HealthImplementation(Object.fromEntries(HEALTH_SERVICES.map((s) => [s, 'NOT_SERVING' as const])));
      health.addToServer(server);
      new ReflectionService(packageDefinition).addToServer(server);
      if (cluster && replicas) {
        cluster.addToServer(server); // services must be added before bindAsync
        server.addService(v1.ReplicaService.service, replicaService(replicas, lifecycle, logger.child({ component: 'replica-service' })));
      }
      const connections = new ConnectionLimiter({ maxConnections: config.int('max.connections'), maxConnectionsPerIp: config.int('max.connections.per.ip') }, logger);
      boundPort = await withHttp2ServerHook(
        connections.attach,
        () =>
          new Promise<number>((resolve, reject) =>
            server.bindAsync(`${config.host}:${config.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
          ),
      );
      if (cluster && replicas) {
        const self = identity();
        const rm = replicas;
        await cluster.start({ host: self.host, port: self.port }, {
          onRegistered: (epoch) => {
            rm.onRegistered(epoch);
            groups.onRegistered(); // creates __consumer_offsets in the background if missing
          },
          onFatalError: (err) => {
            // Raft cannot go on with an unknown disk state; a restart recovers from the files.
            logger.fatal({ err }, 'controller quorum storage failed; exiting');
            logger.flush();
            process.exit(1);
          },
          leaderlessReplicas: () => rm.leaderlessReplicas(),
        });
      }
      topics.start();
      groups.start(); // loads __consumer_offsets (cluster: the led partitions) in the background; COORDINATOR_LOAD_IN_PROGRESS until then
      lifecycle.markRunning();
      for (const service of HEALTH_SERVICES) health.setStatus(service, 'SERVING');
      logger.info({ host: config.host, port: boundPort, nodeId: config.nodeId, clusterId: claim.clusterId, cluster: cluster !== null, startupMs: Date.now() - started }, 'broker started');
      return new Broker(config, logger, server, health, topics, lifecycle, claim, boundPort, groups, cluster, replicas);
    } catch (err) {
      await replicas?.shutdown().catch(() => undefined);
      await cluster?.close().catch(() => undefined);
      await topics?.shutdown().catch(() => undefined);
      await claim.release();
      throw err;
    }
  }

  /**
   * Clean shutdown; safe to call more than once. A cluster member first has the controller move its
   * leaderships away (controlled shutdown) while it still serves, then stops fetching, leaves the
   * quorum, closes its logs and records its broker epoch for a clean restart.
   */
  async stop(): Promise<void> {
    if (this.lifecycle.isStopping || this.stopping) return;
    this.stopping = true;
    const started = Date.now();
    this.logger.info('shutting down');
    await this.cluster?.controlledShutdown().catch((err: unknown) => this.logger.warn({ err }, 'controlled shutdown failed'));
    this.lifecycle.beginShutdown();
    for (const service of HEALTH_SERVICES) this.health.setStatus(service, 'NOT_SERVING');
    await this.replicas?.shutdown().catch((err: unknown) => this.logger.warn({ err }, 'stopping replication failed'));
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
    await this.cluster?.saveCleanShutdown().catch((err: unknown) => this.logger.warn({ err }, 'could not record the clean shutdown'));
    await this.claim.release();
    this.logger.info({ ms: Date.now() - started }, 'broker stopped cleanly');
  }
}

function createReplicaManager(config: BrokerConfig, topics: TopicManager, cluster: ClusterNode, clusterTopics: ClusterTopics, logger: Logger): ReplicaManager {
  const replicas = new ReplicaManager({
    brokerId: config.nodeId,
    logs: topics.logs,
    logConfigFor: (topic) => topics.logConfigFor(topic),
    minInsyncFor: (topic, rf) => clusterTopics.minInsyncFor(topic, rf),
    settings: replicationSettings(config),
    alterPartition: (replica, proposal, brokerEpoch) => sendAlterPartition(cluster, config.nodeId, replica, proposal, brokerEpoch),
    logger: logger.child({ component: 'replica-manager' }),
  });
  // Registered before the Raft host opens, so the replayed image reaches it too.
  cluster.stateMachine.onImage((_, next) => replicas.onImage(next));
  return replicas;
}

function clusterViewOf(cluster: ClusterNode): ClusterMetadataView {
  return {
    controllerId: () => cluster.controllerId,
    brokers: () => cluster.image.liveBrokers().map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port })),
  };
}
