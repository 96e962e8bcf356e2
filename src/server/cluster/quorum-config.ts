/**
 * The cluster half of the broker configuration: is this node a controller-quorum voter, and with
 * which Raft / controller settings. `quorumSettings` returns null for the default single node
 * (empty controller.quorum.voters), so nothing cluster-related starts and behaviour is unchanged.
 */
import { createHash } from 'node:crypto';
import type { BrokerConfig } from '../../config/broker-config.js';
import { DEFAULT_CONTROLLER_CONFIG, type ControllerConfig } from '../../controller/index.js';
import { ErrorCode, FerryError } from '../../protocol/errors.js';
import { DEFAULT_LIMITS, parseQuorumVoters, type RaftConfig, type VoterAddress } from '../../replication/raft/index.js';

export interface QuorumSettings {
  voters: VoterAddress[];
  raft: RaftConfig;
  brokerSessionTimeoutMs: number;
  brokerHeartbeatIntervalMs: number;
}

export function quorumSettings(config: BrokerConfig): QuorumSettings | null {
  const raw = config.str('controller.quorum.voters').trim();
  if (raw === '') return null;
  let voters: VoterAddress[];
  try {
    voters = parseQuorumVoters(raw);
  } catch (err) {
    throw new FerryError(ErrorCode.INVALID_CONFIG, (err as Error).message);
  }
  const nodeId = config.nodeId;
  // Broker-only nodes need the metadata fetch path (a later step); every broker is a voter for now.
  if (!voters.some((v) => v.id === nodeId)) {
    throw new FerryError(ErrorCode.INVALID_CONFIG, `node.id ${nodeId} is not in controller.quorum.voters (${raw}); brokers that are not voters are not supported yet`);
  }
  const election = config.int('controller.quorum.election.timeout.ms');
  const raft: RaftConfig = {
    ...DEFAULT_LIMITS,
    id: nodeId,
    voters: voters.map((v) => v.id),
    electionTimeoutMinMs: election,
    electionTimeoutMaxMs: 2 * election,
    heartbeatIntervalMs: Math.max(5, Math.floor(election / 5)),
    requestRetryMs: config.int('controller.quorum.request.timeout.ms'),
  };
  return {
    voters,
    raft,
    brokerSessionTimeoutMs: config.int('broker.session.timeout.ms'),
    brokerHeartbeatIntervalMs: config.int('broker.heartbeat.interval.ms'),
  };
}

/**
 * cluster.id for a fresh data directory: the configured one, else (cluster) one derived from the
 * voter list — every voter is given the same list, so they agree without a format step — else ''
 * (a single node picks a random id, as before).
 */
export function initialClusterId(config: BrokerConfig, quorum: QuorumSettings | null): string {
  const configured = config.str('cluster.id').trim();
  if (configured !== '' || quorum === null) return configured;
  const canonical = [...quorum.voters].sort((a, b) => a.id - b.id).map((v) => `${v.id}@${v.host}:${v.port}`).join(',');
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 22);
}

export function controllerConfig(config: BrokerConfig, quorum: QuorumSettings, clusterId: string): ControllerConfig {
  return {
    ...DEFAULT_CONTROLLER_CONFIG,
    clusterId,
    brokerSessionTimeoutMs: quorum.brokerSessionTimeoutMs,
    defaultPartitions: config.int('num.partitions'),
    defaultReplicationFactor: config.int('default.replication.factor'),
    maxPartitionsPerTopic: config.int('max.partitions.per.topic'),
    deleteTopicEnable: config.bool('delete.topic.enable'),
    uncleanLeaderElectionEnable: config.bool('unclean.leader.election.enable'),
  };
}
