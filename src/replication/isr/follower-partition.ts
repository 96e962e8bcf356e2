/**
 * FollowerPartition: a follower's fetch state for one partition under one leader epoch (Kafka's
 * ReplicaFetcherThread / AbstractFetcherThread per-partition state), sans-I/O.
 *
 * The loop, one request in flight at a time:
 *   poll() → a fetch (fetch offset = our LEO, last fetched epoch = our latest epoch, our view of the
 *   current leader epoch) or, with `truncateFirst`, an OffsetForLeaderEpoch query first (KIP-101
 *   style; otherwise KIP-320 detects divergence inside the fetch itself);
 *   onFetchResponse() → `append` (caller appends the batches, then onAppended()), `truncate`
 *   (caller truncates, then onTruncated()), `high-watermark` (empty answer), `backoff`, or
 *   `await-metadata` (fenced: FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH / NOT_LEADER_OR_FOLLOWER —
 *   our metadata or the leader's is stale; a new epoch brings a new instance).
 *
 * Invariants: nothing is appended while a divergent tail may remain (the leader only sends records
 * after validating our last epoch and offset); the follower HW is min(leader HW, our LEO), taken
 * only from answers that carried no divergence; after a
 * truncation the next fetch is re-validated by the leader (so a multi-round KIP-279 truncation
 * converges); responses to anything but the request in flight are ignored.
 */
import { strict as assert } from 'node:assert';
import { ErrorCode } from '../../protocol/errors.js';
import { truncationFor } from './divergence.js';
import type { BrokerId, EpochEndOffset, FollowerLogView } from './types.js';

export interface FollowerInit {
  brokerId: BrokerId;
  brokerEpoch: number;
  leaderId: BrokerId;
  leaderEpoch: number;
  /** Ask OffsetForLeaderEpoch before the first fetch (pre-KIP-320 flow); the fetch re-checks anyway. */
  truncateFirst: boolean;
  nowMs: number;
  /** replica.fetch.backoff.ms after a retriable error. */
  fetchBackoffMs: number;
  /** Resend a request unanswered for this long. */
  requestTimeoutMs: number;
}

export type FollowerRequest =
  | {
      kind: 'fetch';
      requestId: number;
      leaderId: BrokerId;
      replicaId: BrokerId;
      brokerEpoch: number;
      fetchOffset: number;
      lastFetchedEpoch: number;
      currentLeaderEpoch: number;
    }
  | { kind: 'offset-for-leader-epoch'; requestId: number; leaderId: BrokerId; replicaId: BrokerId; currentLeaderEpoch: number; requestedEpoch: number };

export interface FetchAnswer {
  requestId: number;
  error: ErrorCode | null;
  highWatermark: number;
  logStartOffset: number;
  logEndOffset: number;
  divergingEpoch: EpochEndOffset | null;
  /** Whether record batches came back (the caller holds them). */
  hasRecords: boolean;
}

export interface EpochAnswer {
  requestId: number;
  error: ErrorCode | null;
  epochEnd: EpochEndOffset;
}

export type FollowerAction =
  | { kind: 'ignored' }
  | { kind: 'append'; leaderHighWatermark: number }
  | { kind: 'truncate'; offset: number }
  /** Our log is below the leader's log start (retention): drop it all and restart at `offset`. */
  | { kind: 'truncate-fully'; offset: number }
  | { kind: 'high-watermark'; highWatermark: number }
  | { kind: 'backoff'; error: ErrorCode; untilMs: number }
  | { kind: 'await-metadata'; error: ErrorCode };

type Status = 'ready' | 'in-flight' | 'appending' | 'truncating' | 'backoff' | 'awaiting-metadata';

const FENCING: ReadonlySet<ErrorCode> = new Set<ErrorCode>([ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.UNKNOWN_LEADER_EPOCH, ErrorCode.NOT_LEADER_OR_FOLLOWER]);

export class FollowerPartition {
  readonly brokerId: BrokerId;
  readonly leaderId: BrokerId;
  readonly leaderEpoch: number;
  private readonly brokerEpoch: number;
  private readonly backoffMs: number;
  private readonly requestTimeoutMs: number;
  private status: Status = 'ready';
  private needsEpochQuery: boolean;
  private inFlight: { id: number; kind: FollowerRequest['kind']; sentAtMs: number } | null = null;
  private nextRequestId = 1;
  private backoffUntilMs = 0;
  private leaderHw = 0;

  constructor(init: FollowerInit) {
    assert.ok(init.leaderId !== init.brokerId, 'a follower cannot follow itself');
    this.brokerId = init.brokerId;
    this.brokerEpoch = init.brokerEpoch;
    this.leaderId = init.leaderId;
    this.leaderEpoch = init.leaderEpoch;
    this.needsEpochQuery = init.truncateFirst;
    this.backoffMs = init.fetchBackoffMs;
    this.requestTimeoutMs = init.requestTimeoutMs;
  }

  get state(): Status {
    return this.status;
  }

  /** When poll() may next return a request while backing off / waiting on a lost answer (null: none pending). */
  wakeAtMs(): number | null {
    if (this.status === 'backoff') return this.backoffUntilMs;
    if (this.status === 'in-flight') return this.inFlight!.sentAtMs + this.requestTimeoutMs;
    return null;
  }

  /** The next request to send, or null (one in flight, waiting on the caller, backing off, fenced). */
  poll(log: FollowerLogView, nowMs: number): FollowerRequest | null {
    if (this.status === 'in-flight' && nowMs - this.inFlight!.sentAtMs >= this.requestTimeoutMs) this.status = 'ready';
    if (this.status === 'backoff' && nowMs >= this.backoffUntilMs) this.status = 'ready';
    if (this.status !== 'ready') return null;
    const requestId = this.nextRequestId++;
    this.status = 'in-flight';
    if (this.needsEpochQuery && log.latestEpoch >= 0) {
      this.inFlight = { id: requestId, kind: 'offset-for-leader-epoch', sentAtMs: nowMs };
      return { kind: 'offset-for-leader-epoch', requestId, leaderId: this.leaderId, replicaId: this.brokerId, currentLeaderEpoch: this.leaderEpoch, requestedEpoch: log.latestEpoch };
    }
    this.inFlight = { id: requestId, kind: 'fetch', sentAtMs: nowMs };
    return {
      kind: 'fetch',
      requestId,
      leaderId: this.leaderId,
      replicaId: this.brokerId,
      brokerEpoch: this.brokerEpoch,
      fetchOffset: log.logEndOffset,
      lastFetchedEpoch: log.latestEpoch,
      currentLeaderEpoch: this.leaderEpoch,
    };
  }

  onFetchResponse(answer: FetchAnswer, log: FollowerLogView, nowMs: number): FollowerAction {
    if (!this.takeInFlight(answer.requestId, 'fetch')) return { kind: 'ignored' };
    if (answer.error) return this.onError(answer, log, nowMs);
    this.leaderHw = answer.highWatermark;
    if (answer.divergingEpoch) {
      // Always truncate, even to our own LEO: the divergence may be only in epoch-cache entries
      // without records (an epoch we led but never wrote in), which the truncation drops. And never
      // take the leader's HW from a diverging answer — our tail is not the leader's yet.
      this.status = 'truncating';
      return { kind: 'truncate', offset: Math.min(truncationFor(answer.divergingEpoch, log).offset, log.logEndOffset) };
    }
    if (answer.hasRecords) {
      this.status = 'appending';
      return { kind: 'append', leaderHighWatermark: answer.highWatermark };
    }
    this.status = 'ready';
    return { kind: 'high-watermark', highWatermark: Math.min(answer.highWatermark, log.logEndOffset) };
  }

  onOffsetForLeaderEpochResponse(answer: EpochAnswer, log: FollowerLogView, nowMs: number): FollowerAction {
    if (!this.takeInFlight(answer.requestId, 'offset-for-leader-epoch')) return { kind: 'ignored' };
    if (answer.error) return this.onError({ error: answer.error, logEndOffset: -1, logStartOffset: -1 }, log, nowMs);
    const t = truncationFor(answer.epochEnd, log);
    this.needsEpochQuery = !t.complete;
    this.status = 'truncating';
    return { kind: 'truncate', offset: Math.min(t.offset, log.logEndOffset) };
  }

  /** The caller appended the fetched batches; returns the follower HW to set. */
  onAppended(log: FollowerLogView): number {
    assert.equal(this.status, 'appending', 'onAppended without an append');
    this.status = 'ready';
    return Math.min(this.leaderHw, log.logEndOffset);
  }

  /** The caller finished the truncation it was asked for. */
  onTruncated(): void {
    assert.equal(this.status, 'truncating', 'onTruncated without a truncation');
    this.status = 'ready';
  }

  /** The caller could not deliver / complete a request (connection lost): retry after a backoff. */
  onRequestFailed(requestId: number, nowMs: number): void {
    if (this.inFlight?.id !== requestId || this.status !== 'in-flight') return;
    this.inFlight = null;
    this.status = 'backoff';
    this.backoffUntilMs = nowMs + this.backoffMs;
  }

  private takeInFlight(requestId: number, kind: FollowerRequest['kind']): boolean {
    if (this.status !== 'in-flight' || this.inFlight?.id !== requestId || this.inFlight.kind !== kind) return false;
    this.inFlight = null;
    return true;
  }

  private onError(answer: { error: ErrorCode | null; logEndOffset: number; logStartOffset: number }, log: FollowerLogView, nowMs: number): FollowerAction {
    const error = answer.error!;
    if (FENCING.has(error)) {
      this.status = 'awaiting-metadata';
      return { kind: 'await-metadata', error };
    }
    if (error === ErrorCode.OFFSET_OUT_OF_RANGE && answer.logEndOffset >= 0) {
      if (log.logEndOffset < answer.logStartOffset) {
        this.status = 'truncating';
        return { kind: 'truncate-fully', offset: answer.logStartOffset };
      }
      if (log.logEndOffset > answer.logEndOffset) {
        // The leader has no epoch history to compare with and is shorter: keep only what it has.
        this.status = 'truncating';
        return { kind: 'truncate', offset: answer.logEndOffset };
      }
    }
    this.status = 'backoff';
    this.backoffUntilMs = nowMs + this.backoffMs;
    return { kind: 'backoff', error, untilMs: this.backoffUntilMs };
  }
}
