/**
 * MetadataService: the cluster as a client should see it. On a single node this broker is every
 * partition's leader and the controller; in a cluster the brokers, leaders, epochs, replicas and
 * ISRs come from this broker's metadata image. Missing topics are auto-created when the request
 * allows it and the broker has auto.create.topics.enable.
 */
import type { Logger } from 'pino';
import type { MetadataRequest__Output } from '../generated/ferry/v1/MetadataRequest.js';
import type { MetadataResponse } from '../generated/ferry/v1/MetadataResponse.js';
import type { MetadataServiceHandlers } from '../generated/ferry/v1/MetadataService.js';
import type { TopicMetadata } from '../generated/ferry/v1/TopicMetadata.js';
import { ErrorCode, FerryError, toWireError } from '../protocol/errors.js';
import { asFerryError } from './grpc-errors.js';
import type { BrokerLifecycle } from './lifecycle.js';
import { isInternalTopic } from '../config/topic-names.js';
import type { TopicManager } from './topic-manager.js';
import type { TopicRecord } from './topic-registry.js';
import { unary } from './unary.js';

export interface BrokerIdentity {
  clusterId: string;
  nodeId: number;
  host: string;
  port: number;
}

/** The cluster as this broker's metadata image shows it (null on a single node). */
export interface ClusterMetadataView {
  controllerId(): number;
  brokers(): Array<{ nodeId: number; host: string; port: number }>;
}

export function metadataService(topics: TopicManager, identity: () => BrokerIdentity, cluster: ClusterMetadataView | null, lifecycle: BrokerLifecycle, logger: Logger): MetadataServiceHandlers {
  return {
    Metadata: unary<MetadataRequest__Output, MetadataResponse>(logger, 'Metadata', async (req) => {
      lifecycle.checkAcceptingRequests();
      const self = identity();
      const out: TopicMetadata[] = [];
      if (req.topics.length === 0) {
        for (const t of topics.list(req.includeInternal)) out.push(describe(t, topics));
      } else {
        for (const name of new Set(req.topics)) {
          try {
            const t = await topics.ensureTopic(name, req.allowAutoTopicCreation);
            if (!t) throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${name}`);
            out.push(describe(t, topics));
          } catch (err) {
            out.push({ name, error: toWireError(asFerryError(err)), partitions: [] });
          }
        }
      }
      return {
        clusterId: self.clusterId,
        controllerId: cluster ? cluster.controllerId() : self.nodeId,
        brokers: cluster ? cluster.brokers().map((b) => ({ ...b, rack: '' })) : [{ nodeId: self.nodeId, host: self.host, port: self.port, rack: '' }],
        topics: out,
      };
    }),
  };
}

function describe(t: TopicRecord, topics: TopicManager): TopicMetadata {
  const partitions = [];
  for (let p = 0; p < t.partitions; p++) {
    const place = topics.placement(t.name, p);
    if (!place) continue;
    const partition = { partition: p, leaderId: place.leader, leaderEpoch: place.leaderEpoch, replicas: [...place.replicas], isr: [...place.isr], offlineReplicas: [] };
    if (place.leader < 0) {
      partitions.push({ ...partition, error: toWireError(new FerryError(ErrorCode.LEADER_NOT_AVAILABLE, `${t.name}-${p} has no leader`)) });
    } else {
      partitions.push(partition);
    }
  }
  return { name: t.name, isInternal: isInternalTopic(t.name), partitions, topicId: t.id };
}
