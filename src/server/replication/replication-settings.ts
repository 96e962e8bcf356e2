/**
 * The data plane's timing and size limits, read once from the broker config (Kafka's replica.*
 * names; see src/config/broker-configs.ts for what each means and its default).
 */
import type { BrokerConfig } from '../../config/broker-config.js';

export interface ReplicationSettings {
  replicaLagTimeMaxMs: number;
  /** Resend an unanswered AlterPartition after this long. */
  alterPartitionRetryMs: number;
  fetchWaitMaxMs: number;
  fetchMaxBytes: number;
  fetchResponseMaxBytes: number;
  fetchBackoffMs: number;
  socketTimeoutMs: number;
}

export function replicationSettings(config: BrokerConfig): ReplicationSettings {
  return {
    replicaLagTimeMaxMs: config.int('replica.lag.time.max.ms'),
    alterPartitionRetryMs: 1_000,
    fetchWaitMaxMs: config.int('replica.fetch.wait.max.ms'),
    fetchMaxBytes: config.int('replica.fetch.max.bytes'),
    fetchResponseMaxBytes: config.int('replica.fetch.response.max.bytes'),
    fetchBackoffMs: config.int('replica.fetch.backoff.ms'),
    socketTimeoutMs: config.int('replica.socket.timeout.ms'),
  };
}
