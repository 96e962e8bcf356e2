/**
 * AdminService: topic create / delete / list / describe, partition growth and config changes.
 * Batch calls answer per topic; one topic's failure does not fail the others.
 */
import type { Logger } from 'pino';
import type { AdminServiceHandlers } from '../generated/ferry/v1/AdminService.js';
import type { AlterTopicConfigsRequest__Output } from '../generated/ferry/v1/AlterTopicConfigsRequest.js';
import type { AlterTopicConfigsResponse } from '../generated/ferry/v1/AlterTopicConfigsResponse.js';
import type { CreatePartitionsRequest__Output } from '../generated/ferry/v1/CreatePartitionsRequest.js';
import type { CreatePartitionsResponse } from '../generated/ferry/v1/CreatePartitionsResponse.js';
import type { CreateTopicsRequest__Output } from '../generated/ferry/v1/CreateTopicsRequest.js';
import type { CreateTopicsResponse } from '../generated/ferry/v1/CreateTopicsResponse.js';
import type { DeleteTopicsRequest__Output } from '../generated/ferry/v1/DeleteTopicsRequest.js';
import type { DeleteTopicsResponse } from '../generated/ferry/v1/DeleteTopicsResponse.js';
import type { DescribeTopicsRequest__Output } from '../generated/ferry/v1/DescribeTopicsRequest.js';
import type { DescribeTopicsResponse } from '../generated/ferry/v1/DescribeTopicsResponse.js';
import type { ListTopicsRequest__Output } from '../generated/ferry/v1/ListTopicsRequest.js';
import type { ListTopicsResponse } from '../generated/ferry/v1/ListTopicsResponse.js';
import type { PartitionDescription } from '../generated/ferry/v1/PartitionDescription.js';
import type { TopicDescription } from '../generated/ferry/v1/TopicDescription.js';
import type { TopicResult } from '../generated/ferry/v1/TopicResult.js';
import { ErrorCode, FerryError, toWireError } from '../protocol/errors.js';
import { asFerryError } from './grpc-errors.js';
import type { BrokerLifecycle } from './lifecycle.js';
import { isInternalTopic } from '../config/topic-names.js';
import type { TopicManager } from './topic-manager.js';
import { unary } from './unary.js';

async function perTopic(name: string, action: () => Promise<unknown>): Promise<TopicResult> {
  try {
    await action();
    return { name };
  } catch (err) {
    return { name, error: toWireError(asFerryError(err)) };
  }
}

export function adminService(topics: TopicManager, nodeId: () => number, lifecycle: BrokerLifecycle, logger: Logger): AdminServiceHandlers {
  return {
    CreateTopics: unary<CreateTopicsRequest__Output, CreateTopicsResponse>(logger, 'CreateTopics', async (req) => {
      lifecycle.checkAcceptingRequests();
      const results: TopicResult[] = [];
      for (const t of req.topics) {
        results.push(
          await perTopic(t.name, () =>
            topics.createTopic(
              { name: t.name, partitions: t.numPartitions, replicationFactor: t.replicationFactor, configs: t.configs },
              { validateOnly: req.validateOnly },
            ),
          ),
        );
      }
      return { topics: results };
    }),

    DeleteTopics: unary<DeleteTopicsRequest__Output, DeleteTopicsResponse>(logger, 'DeleteTopics', async (req) => {
      lifecycle.checkAcceptingRequests();
      const results: TopicResult[] = [];
      for (const name of req.names) results.push(await perTopic(name, () => topics.deleteTopic(name)));
      return { topics: results };
    }),

    ListTopics: unary<ListTopicsRequest__Output, ListTopicsResponse>(logger, 'ListTopics', async (req) => {
      lifecycle.checkAcceptingRequests();
      return {
        topics: topics.list(req.includeInternal).map((t) => ({
          name: t.name,
          partitions: t.partitions,
          replicationFactor: t.replicationFactor,
          isInternal: isInternalTopic(t.name),
        })),
      };
    }),

    DescribeTopics: unary<DescribeTopicsRequest__Output, DescribeTopicsResponse>(logger, 'DescribeTopics', async (req) => {
      lifecycle.checkAcceptingRequests();
      const names = req.names.length > 0 ? req.names : topics.list(false).map((t) => t.name);
      const out: TopicDescription[] = [];
      for (const name of names) {
        const record = topics.topic(name);
        if (!record) {
          out.push({ name, error: toWireError(new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${name}`)) });
          continue;
        }
        const partitions: PartitionDescription[] = [];
        for (let p = 0; p < record.partitions; p++) {
          // Offsets are this broker's replica's (a follower's lag behind the leader shows here).
          const log = topics.logs.get(name, p);
          const place = topics.placement(name, p);
          partitions.push({
            partition: p,
            leaderId: place && (log || topics.cluster) ? place.leader : -1,
            leaderEpoch: place?.leaderEpoch ?? -1,
            replicas: place ? [...place.replicas] : [],
            isr: place && (log || topics.cluster) ? [...place.isr] : [],
            logStartOffset: log?.logStartOffset ?? -1,
            highWatermark: log?.highWatermark ?? -1,
            logEndOffset: log?.logEndOffset ?? -1,
            sizeBytes: log?.sizeInBytes ?? 0,
          });
        }
        out.push({
          name,
          isInternal: isInternalTopic(name),
          partitions,
          configs: topics.describeConfigs(name),
          topicId: record.id,
        });
      }
      return { topics: out };
    }),

    CreatePartitions: unary<CreatePartitionsRequest__Output, CreatePartitionsResponse>(logger, 'CreatePartitions', async (req) => {
      lifecycle.checkAcceptingRequests();
      return { result: await perTopic(req.topic, () => topics.createPartitions(req.topic, req.totalCount, req.validateOnly)) };
    }),

    AlterTopicConfigs: unary<AlterTopicConfigsRequest__Output, AlterTopicConfigsResponse>(logger, 'AlterTopicConfigs', async (req) => {
      lifecycle.checkAcceptingRequests();
      return { result: await perTopic(req.topic, () => topics.alterConfigs(req.topic, req.set, req.delete, req.validateOnly)) };
    }),
  };
}
