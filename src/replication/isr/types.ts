/**
 * Shared vocabulary of the ISR data plane (Kafka's partition replication: leader epochs, ISR, high
 * watermark). Everything here is plain data; the state machines in this directory are sans-I/O and
 * read the local log only through the synchronous views below, which `PartitionLog` already
 * satisfies (`logStartOffset`, `logEndOffset`, `latestEpoch`, `endOffsetForEpoch`, `highWatermark`).
 *
 * Offsets follow docs/ARCHITECTURE.md: an end offset is "the next offset to assign", so a replica
 * whose log end offset (LEO) is 10 holds offsets 0..9.
 */

export type BrokerId = number;

/** No leader (offline partition) in a registration, and "no leader known" in hints. */
export const NO_LEADER: BrokerId = -1;
/** Kafka's UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET (storage/leader-epoch-cache.ts uses the same). */
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_OFFSET = -1;

/** An epoch and the offset where it ends (exclusive): the answer to OffsetForLeaderEpoch (KIP-101). */
export interface EpochEndOffset {
  epoch: number;
  endOffset: number;
}

export const UNDEFINED_EPOCH_END: Readonly<EpochEndOffset> = Object.freeze({ epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_OFFSET });

/** What the leader needs from its own log to answer followers (sync; PartitionLog fits). */
export interface EpochLookup {
  readonly logStartOffset: number;
  endOffsetForEpoch(epoch: number): EpochEndOffset;
}

/** What a follower needs from its own log to decide fetch offsets and truncation. */
export interface FollowerLogView extends EpochLookup {
  readonly logEndOffset: number;
  readonly latestEpoch: number;
  readonly highWatermark: number;
}

/** Produce acks: 0 = no reply, 1 = leader appended, -1 = all (the high watermark passed the batch). */
export type Acks = 0 | 1 | -1;
export const ACKS_ALL: Acks = -1;

/**
 * Timing limits of the data plane, Kafka's names with the unit last. Defaults are Kafka's; the
 * simulation scales them down.
 */
export interface ReplicationTimings {
  /** replica.lag.time.max.ms: an ISR follower not caught up for this long is shrunk out. */
  replicaLagTimeMaxMs: number;
  /** How long a leader waits for an AlterPartition answer before sending the same proposal again. */
  alterPartitionRetryMs: number;
  /** A follower re-sends a fetch / epoch query unanswered for this long (lost response). */
  replicaFetchTimeoutMs: number;
  /** replica.fetch.backoff.ms: pause after a retriable fetch error. */
  replicaFetchBackoffMs: number;
}

export const DEFAULT_TIMINGS: Readonly<ReplicationTimings> = Object.freeze({
  replicaLagTimeMaxMs: 30_000,
  alterPartitionRetryMs: 1_000,
  replicaFetchTimeoutMs: 30_000,
  replicaFetchBackoffMs: 1_000,
});

/** DESIGN §3: min.insync.replicas defaults to min(2, replication factor). */
export function defaultMinInsyncReplicas(replicationFactor: number): number {
  return Math.min(2, replicationFactor);
}

/** Sorts broker ids in replica-assignment order (preferred first), the order ISRs are kept in. */
export function inReplicaOrder(replicas: readonly BrokerId[], ids: Iterable<BrokerId>): BrokerId[] {
  const set = new Set(ids);
  return replicas.filter((r) => set.has(r));
}
