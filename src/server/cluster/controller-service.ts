/**
 * ControllerService (proto/ferry/v1/controller.proto) on a voter. Every call runs on the active
 * controller and answers after its records commit; on any other voter it fails with NOT_CONTROLLER
 * carrying the active controller's id and address (gRPC error metadata), so the caller redirects.
 *
 *  - RegisterBroker / BrokerHeartbeat: the broker lifecycle;
 *  - AlterPartition: a partition leader's ISR change;
 *  - CreateTopics / DeleteTopics / CreatePartitions / AlterTopicConfigs: AdminService requests any
 *    broker forwards; each answer carries the metadata offset of its change, so the forwarding
 *    broker answers its client only once its own image has it.
 */
import type { Logger } from 'pino';
import { CONSUMER_OFFSETS_TOPIC } from '../../coordinator/index.js';
import type { ControllerResult, QuorumController, RequestContext } from '../../controller/index.js';
import type { AlterPartitionResult } from '../../controller/replication-control.js';
import type { ControllerServiceHandlers } from '../../generated/ferry/v1/ControllerService.js';
import type { AlterPartitionTopicResult } from '../../generated/ferry/v1/AlterPartitionTopicResult.js';
import { toWireError, type FerryError } from '../../protocol/errors.js';
import { unary } from '../unary.js';

/** What the service needs of the active controller (ClusterNode delegates to its ActiveController). */
export interface ControllerRunner {
  run<R>(handler: (c: QuorumController, ctx: RequestContext) => ControllerResult<R>): Promise<R>;
}

/** Runs a handler and reports the offset its entry got (0 when it wrote nothing). */
async function runWithOffset<R>(active: ControllerRunner, handler: (c: QuorumController, ctx: RequestContext) => ControllerResult<R>): Promise<{ response: R; offset: number }> {
  let offset = 0;
  const response = await active.run((c, ctx) => {
    const out = handler(c, ctx);
    if (out.records.length > 0) offset = ctx.offset;
    return out;
  });
  return { response, offset };
}

function wireError(err: FerryError | null): ReturnType<typeof toWireError> | undefined {
  return err ? toWireError(err) : undefined;
}

export function controllerService(active: ControllerRunner, logger: Logger): ControllerServiceHandlers {
  return {
    RegisterBroker: unary(logger, 'RegisterBroker', async (req) => {
      const res = await active.run((c, ctx) => c.registerBroker({
        brokerId: req.brokerId, clusterId: req.clusterId, incarnationId: req.incarnationId, host: req.host, port: req.port,
        previousBrokerEpoch: Number(req.previousBrokerEpoch),
      }, ctx));
      logger.info({ brokerId: req.brokerId, brokerEpoch: res.brokerEpoch, address: `${req.host}:${req.port}`, previousBrokerEpoch: Number(req.previousBrokerEpoch) }, 'controller: broker registered');
      return { brokerEpoch: res.brokerEpoch };
    }),
    BrokerHeartbeat: unary(logger, 'BrokerHeartbeat', async (req) => {
      const res = await active.run((c, ctx) => c.brokerHeartbeat({
        brokerId: req.brokerId, brokerEpoch: Number(req.brokerEpoch), metadataOffset: Number(req.metadataOffset),
        wantFence: req.wantFence, wantShutdown: req.wantShutdown, recovering: req.recovering,
        leaderlessReplicas: req.leaderlessReplicas.map((r) => ({
          topicId: r.topicId, partition: r.partition, partitionEpoch: r.partitionEpoch, lastEpoch: r.lastEpoch, logEndOffset: Number(r.logEndOffset),
        })),
      }, ctx));
      for (const r of res.recoveredLeaders) {
        logger.warn(r, 'controller: every replica had restarted uncleanly; elected the most complete replica (recovery election)');
      }
      return { isFenced: res.isFenced, isCaughtUp: res.isCaughtUp, shouldShutDown: res.shouldShutDown };
    }),
    AlterPartition: unary(logger, 'AlterPartition', async (req) => {
      const res = await active.run((c, ctx) => c.alterPartition({
        brokerId: req.brokerId,
        brokerEpoch: Number(req.brokerEpoch),
        topics: req.topics.map((t) => ({
          topicId: t.topicId,
          partitions: t.partitions.map((p) => ({
            partition: p.partition, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch,
            newIsr: p.newIsr.map((m) => ({ brokerId: m.brokerId, brokerEpoch: Number(m.brokerEpoch) })),
          })),
        })),
      }, ctx));
      const byTopic = new Map<string, AlterPartitionTopicResult>();
      for (const r of res.results) {
        let t = byTopic.get(r.topicId);
        if (!t) byTopic.set(r.topicId, (t = { topicId: r.topicId, topic: req.topics.find((x) => x.topicId === r.topicId)?.topic ?? '', partitions: [] }));
        t.partitions!.push(alterResult(r));
      }
      return { topics: [...byTopic.values()] };
    }),
    CreateTopics: unary(logger, 'CreateTopics', async (req) => {
      const { response, offset } = await runWithOffset(active, (c, ctx) => c.createTopics({
        topics: req.topics.map((t) => ({
          name: t.name, partitions: t.numPartitions, replicationFactor: t.replicationFactor, configs: t.configs,
          internal: t.name === CONSUMER_OFFSETS_TOPIC,
        })),
        validateOnly: req.validateOnly,
      }, ctx));
      for (const t of response.topics) {
        if (!t.error && !req.validateOnly) logger.info({ topic: t.name, topicId: t.topicId, partitions: t.partitions, replicationFactor: t.replicationFactor }, 'controller: topic created');
      }
      return { response: { topics: response.topics.map((t) => ({ name: t.name, error: wireError(t.error) })) }, metadataOffset: offset };
    }),
    DeleteTopics: unary(logger, 'DeleteTopics', async (req) => {
      const { response, offset } = await runWithOffset(active, (c, ctx) => c.deleteTopics({ names: req.names }, ctx));
      for (const t of response.topics) if (!t.error) logger.info({ topic: t.name }, 'controller: topic deleted');
      return { response: { topics: response.topics.map((t) => ({ name: t.name, error: wireError(t.error) })) }, metadataOffset: offset };
    }),
    CreatePartitions: unary(logger, 'CreatePartitions', async (req) => {
      const { response, offset } = await runWithOffset(active, (c, ctx) => c.createPartitions({ topics: [{ name: req.topic, count: req.totalCount }], validateOnly: req.validateOnly }, ctx));
      const r = response.topics[0];
      return { response: { result: { name: req.topic, error: wireError(r?.error ?? null) } }, metadataOffset: offset };
    }),
    AlterTopicConfigs: unary(logger, 'AlterTopicConfigs', async (req) => {
      const { response, offset } = await runWithOffset(active, (c, ctx) => c.alterTopicConfigs({ resources: [{ topic: req.topic, set: req.set, remove: req.delete }], validateOnly: req.validateOnly }, ctx));
      const r = response.results[0];
      if (r && !r.error && !req.validateOnly) logger.info({ topic: req.topic, set: req.set, removed: req.delete }, 'controller: topic configs altered');
      return { response: { result: { name: req.topic, error: wireError(r?.error ?? null) } }, metadataOffset: offset };
    }),
  };
}

function alterResult(r: AlterPartitionResult): NonNullable<AlterPartitionTopicResult['partitions']>[number] {
  const reg = r.registration;
  return {
    partition: r.partition,
    error: r.error === null ? 'ALTER_PARTITION_NONE' : r.error === 'UNKNOWN_TOPIC_OR_PARTITION' ? 'ALTER_PARTITION_UNKNOWN_PARTITION' : `ALTER_PARTITION_${r.error}`,
    state: reg ? { leaderId: reg.leader, leaderEpoch: reg.leaderEpoch, partitionEpoch: reg.partitionEpoch, replicas: [...reg.replicas], isr: [...reg.isr], elr: [...reg.elr] } : undefined,
  };
}
