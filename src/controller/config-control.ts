/**
 * Topic-level config overrides on the controller (KRaft's ConfigurationControlManager, topics only):
 * AlterTopicConfigs → Config records, and the per-partition policy the election code needs.
 *
 * Validation is the single-node broker's (src/config: each override parsed against its ConfigDef),
 * applied to the merged result, so a request cannot leave a topic with an invalid combination.
 * Overrides are stored as given (strings); brokers parse them when building a LogConfig.
 */
import { validateTopicConfigs } from '../config/broker-config.js';
import { TOPIC_CONFIG_BY_NAME } from '../config/topic-configs.js';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { defaultMinInsyncReplicas, type PartitionPolicy } from '../replication/isr/index.js';
import type { ControllerConfig, MetadataBatch } from './controller-types.js';
import type { MetadataView } from './metadata-image.js';

export const MIN_INSYNC_REPLICAS = 'min.insync.replicas';
export const UNCLEAN_LEADER_ELECTION_ENABLE = 'unclean.leader.election.enable';

export interface AlterTopicConfigsRequest {
  resources: Array<{ topic: string; set?: Record<string, string>; remove?: string[] }>;
  validateOnly?: boolean;
}

export interface AlterTopicConfigsResult {
  topic: string;
  error: FerryError | null;
}

export interface AlterTopicConfigsResponse {
  results: AlterTopicConfigsResult[];
}

/** Election policy of a partition of `topic` with `replicationFactor` replicas: topic override < broker default. */
export function partitionPolicy(view: MetadataView, topic: string, replicationFactor: number, config: ControllerConfig): PartitionPolicy {
  const overrides = view.topicConfigs(topic);
  const mir = overrides.get(MIN_INSYNC_REPLICAS);
  const unclean = overrides.get(UNCLEAN_LEADER_ELECTION_ENABLE);
  return {
    minInsyncReplicas: mir !== undefined ? Number(mir) : config.minInsyncReplicas ?? defaultMinInsyncReplicas(replicationFactor),
    uncleanLeaderElection: unclean !== undefined ? unclean === 'true' : config.uncleanLeaderElectionEnable,
  };
}

/** Throws FerryError(INVALID_CONFIG) for an unknown name or a bad value. */
export function validateTopicOverrides(configs: Record<string, string>): void {
  validateTopicConfigs(configs);
}

/** Emits Config records for each resource that validates; per-resource errors otherwise. */
export function alterTopicConfigs(batch: MetadataBatch, req: AlterTopicConfigsRequest): AlterTopicConfigsResponse {
  const results: AlterTopicConfigsResult[] = [];
  for (const res of req.resources) {
    try {
      const topic = batch.view.topicByName(res.topic);
      if (!topic) throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${res.topic}`);
      const current = batch.view.topicConfigs(res.topic);
      const set = res.set ?? {};
      const remove = res.remove ?? [];
      for (const key of remove) {
        if (!TOPIC_CONFIG_BY_NAME.has(key)) throw new FerryError(ErrorCode.INVALID_CONFIG, `unknown topic config ${key}`);
        if (Object.prototype.hasOwnProperty.call(set, key)) throw new FerryError(ErrorCode.INVALID_REQUEST, `config ${key} is both set and removed`);
      }
      const merged: Record<string, string> = Object.fromEntries(current);
      Object.assign(merged, set);
      for (const key of remove) delete merged[key];
      validateTopicOverrides(merged);
      if (!req.validateOnly) {
        for (const [name, value] of Object.entries(set)) {
          if (current.get(name) !== value) batch.emit({ type: 'Config', resourceType: 'topic', resourceName: res.topic, name, value });
        }
        for (const name of remove) {
          if (current.has(name)) batch.emit({ type: 'Config', resourceType: 'topic', resourceName: res.topic, name, value: null });
        }
      }
      results.push({ topic: res.topic, error: null });
    } catch (err) {
      if (!(err instanceof FerryError)) throw err;
      results.push({ topic: res.topic, error: err });
    }
  }
  return { results };
}
