/**
 * The producer's I/O half: takes ready batches out of the accumulator and sends them, one produce
 * request per broker carrying every ready partition's batches (packed up to `maxRequestSize`
 * bytes), with at most `maxInFlightRequests` unanswered requests per broker. Requests travel over
 * one ProduceStream per broker (`transport: 'stream'`, the default) or as unary Produce calls
 * (`'unary'`, and for brokers without ProduceStream): produce-stream.ts, which gives both the unary
 * call's outcomes, so everything below holds for either.
 *
 * Outcomes, per partition of a response:
 *  - success: each record resolves with `baseOffset + its index` (batches of one partition are
 *    contiguous, in the order sent);
 *  - retriable error (FerryError.retriable, UNKNOWN_TOPIC_OR_PARTITION, gRPC UNAVAILABLE /
 *    DEADLINE_EXCEEDED): batches go back to the head of their partition's queue with an
 *    exponential backoff; until they are resent nothing newer of that partition is sent (see
 *    record-accumulator.ts). When the error says leadership moved or is unknown
 *    (NOT_LEADER_OR_FOLLOWER, FENCED/UNKNOWN_LEADER_EPOCH, LEADER_NOT_AVAILABLE, a broker that
 *    cannot be reached...), the error's leader hint is taken if it names a newer leader epoch,
 *    else metadata is refreshed; the retry goes to whoever leads then. A partition without a
 *    leader (-1, e.g. mid-election) waits, refreshing metadata, until it has one or its batches
 *    reach deliveryTimeoutMs. NOT_ENOUGH_REPLICAS(_AFTER_APPEND) and THROTTLED retry the same
 *    leader;
 *  - non-retriable error, `retries` spent, or `deliveryTimeoutMs` passed since the batch was created:
 *    its records reject with the FerryError.
 * acks=0: records resolve (offset -1) when the request is handed to gRPC; the broker's reply (an
 * empty one, at once) only frees the in-flight slot. A retried batch may have been written already
 * (a timeout hides the outcome): without idempotence, retries can duplicate, never reorder.
 *
 * Idempotence (`idempotent`, idempotence.ts): nothing is sent until the producer has an id; each
 * batch is numbered when first drained and keeps its numbers on retries, so the leader stores a
 * re-sent batch once. DUPLICATE_SEQUENCE_NUMBER (the leader had some of a request's batches but not
 * all, e.g. after a leader change that replicated only part of them) resends each batch alone at
 * once. A numbered batch that fails for good makes the producer bump its epoch (KIP-360).
 *
 * No per-record timers: one timer, armed for the earliest linger or backoff deadline.
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { RECORD_BATCH_PARTS, type PartitionProduceParts } from '../protocol/produce-request-encoder.js';
import type { ProduceResponse__Output } from '../generated/ferry/v1/ProduceResponse.js';
import type { TopicProduceData } from '../generated/ferry/v1/TopicProduceData.js';
import { createProduceTransport, type ProduceTransport } from './produce-stream.js';
import { DeadlineTimer } from './deadline-timer.js';
import type { ClientContext } from './context.js';
import { fromResponseError, isConnectionError, isRetriableForClient, needsMetadataRefresh, toFerryError } from './errors.js';
import type { PartitionQueue, ProducerBatch, RecordAccumulator } from './record-accumulator.js';
import { LeaderWatch } from './leader-watch.js';
import { backoffMs } from './retry.js';
import { ProducerIdentity } from './idempotence.js';
import type { ProducerTransport } from './types.js';

export interface SenderOptions {
  /** 0, 1 or -1. */
  acks: number;
  lingerMs: number;
  requestTimeoutMs: number;
  maxInFlightRequests: number;
  retries: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  deliveryTimeoutMs: number;
  maxRequestSize: number;
  idempotent: boolean;
  transport: ProducerTransport;
}

/** Requests of one partition an idempotent producer pipelines (the runs a leader remembers per producer: RUNS_RETAINED in producer-state.ts). */
const IDEMPOTENT_PARTITION_WINDOW = 5;

interface InFlightEntry {
  q: PartitionQueue;
  batches: ProducerBatch[];
}

export class Sender {
  private readonly inFlightByAddress = new Map<string, number>();
  inFlightTotal = 0;
  /** >0 while someone waits in flush(): batches go without waiting for linger. */
  flushing = 0;
  private wakeScheduled = false;
  private readonly timer = new DeadlineTimer(() => this.run());
  private closed = false;
  private readonly leaderWatch: LeaderWatch;
  /** Idempotence: producer id, epoch and sequences; null when not idempotent. */
  readonly identity: ProducerIdentity | null;
  /** ProduceStream per broker, or unary calls. */
  readonly transport: ProduceTransport;

  constructor(
    private readonly ctx: ClientContext,
    private readonly acc: RecordAccumulator,
    private readonly options: SenderOptions,
    /** Called after batches complete or fail (memory freed, maybe idle). */
    private readonly onProgress: () => void,
  ) {
    this.leaderWatch = new LeaderWatch(ctx, Math.max(20, Math.min(options.retryBackoffMs, 100)), () => this.wake());
    this.identity = options.idempotent ? new ProducerIdentity(ctx) : null;
    this.transport = createProduceTransport(ctx, options.transport);
  }

  /**
   * Requests of `q` that may be in flight at once: pipelined (Kafka's limit of 5 with idempotence)
   * once the leader acknowledged a batch of this producer id and epoch there; else one.
   */
  private readonly windowOf = (q: PartitionQueue): number => {
    const id = this.identity;
    if (!id || !id.hasId || q.ackedProducerId !== id.producerId || q.ackedEpoch !== id.epoch) return 1;
    return Math.min(IDEMPOTENT_PARTITION_WINDOW, this.options.maxInFlightRequests);
  };

  /** Called after each append; `closedFull` = a batch filled up and can go now. */
  onAppend(closedFull: boolean): void {
    if (closedFull || this.options.lingerMs === 0 || this.flushing > 0) this.wake();
    else if (!this.timer.armed && !this.wakeScheduled) this.arm(this.options.lingerMs);
  }

  /** Runs a send pass soon (coalesced: many wakes in one tick cost one pass). */
  wake(): void {
    if (this.wakeScheduled || this.closed) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.run();
    });
  }

  close(): void {
    this.closed = true;
    this.timer.clear();
    this.leaderWatch.close();
    this.transport.close();
  }

  private arm(delayMs: number): void {
    if (!this.closed) this.timer.arm(delayMs);
  }

  /** One send pass: expire, find ready partitions, group by leader, send what in-flight limits allow. */
  private run(): void {
    if (this.closed) return;
    const now = Date.now();
    const expired = this.acc.expire(now, this.options.deliveryTimeoutMs);
    if (expired.length > 0) {
      for (const b of expired) {
        const err = expiredError(b, now);
        b.fail(err);
        if (b.producerId >= 0) this.identity?.onUnresolved(b, err);
      }
      this.onProgress();
    }
    if (this.identity && !this.identity.hasId) {
      if (this.acc.hasUnsent()) this.initProducerId();
      return;
    }
    const { ready, lingering, nextReadyInMs } = this.acc.ready(now, this.flushing > 0, this.windowOf);
    const byAddress = new Map<string, PartitionQueue[]>();
    const leaderless = new Set<string>();
    for (const q of ready) {
      const address = this.ctx.metadata.leaderAddress(q.topic, q.partition);
      if (address === null) {
        leaderless.add(q.topic);
        continue;
      }
      let list = byAddress.get(address);
      if (!list) byAddress.set(address, (list = []));
      list.push(q);
    }
    // A request is going to these brokers anyway: partitions still lingering for the same broker ride
    // along (after the ready ones) rather than cost a request of their own a moment later.
    for (const q of lingering) {
      const address = this.ctx.metadata.leaderAddress(q.topic, q.partition);
      if (address !== null) byAddress.get(address)?.push(q);
    }
    for (const [address, queues] of byAddress) this.sendTo(address, queues);
    if (leaderless.size > 0) {
      this.ctx.metadata.markStale(leaderless);
      this.ctx.metadata.refresh(leaderless).then(
        () => this.wake(),
        (err: unknown) => {
          this.ctx.logger.warn({ err: toFerryError(err).message }, 'metadata refresh failed');
          this.arm(this.options.retryBackoffMs);
        },
      );
    }
    if (nextReadyInMs !== Infinity) this.arm(nextReadyInMs);
  }

  /**
   * Idempotence: gets the producer id, then runs a send pass. A retriable failure (no broker
   * reachable...) tries again after the backoff while batches wait (they still expire at
   * deliveryTimeoutMs); any other fails every unsent batch with it (e.g. a broker without the RPC).
   */
  private initProducerId(): void {
    this.identity!.ensureId().then(
      () => this.wake(),
      (err: unknown) => {
        const ferry = toFerryError(err);
        this.ctx.logger.warn({ code: ferry.code, err: ferry.message }, 'InitProducerId failed');
        if (ferry.retriable) {
          this.arm(this.options.retryBackoffMs);
          return;
        }
        for (const b of this.acc.abortAll()) b.fail(ferry);
        this.onProgress();
      },
    );
  }

  /** Packs `queues` into requests of at most maxRequestSize bytes, while in-flight slots remain. */
  private sendTo(address: string, queues: PartitionQueue[]): void {
    let i = 0;
    while (i < queues.length) {
      const inFlight = this.inFlightByAddress.get(address) ?? 0;
      if (inFlight >= this.options.maxInFlightRequests) return; // a response will wake us
      const entries: InFlightEntry[] = [];
      let bytes = 0;
      while (i < queues.length && bytes < this.options.maxRequestSize) {
        const q = queues[i++]!;
        const batches = this.acc.drain(q, this.options.maxRequestSize - bytes);
        for (const b of batches) {
          this.identity?.assign(b);
          b.attempts++;
          bytes += b.bytes!.length;
        }
        entries.push({ q, batches });
      }
      this.sendRequest(address, entries);
    }
  }

  private sendRequest(address: string, entries: InFlightEntry[]): void {
    const topics = new Map<string, PartitionProduceParts[]>();
    for (const { q, batches } of entries) {
      let parts = topics.get(q.topic);
      if (!parts) topics.set(q.topic, (parts = []));
      // The batches are copied once, straight into the request (produce-request-encoder.ts).
      parts.push({ partition: q.partition, [RECORD_BATCH_PARTS]: batches.map((b) => b.bytes!) });
    }
    const topicData: TopicProduceData[] = [];
    for (const [topic, partitions] of topics) topicData.push({ topic, partitions });
    const request = { acks: this.options.acks, timeoutMs: this.options.requestTimeoutMs, topics: topicData };

    this.inFlightByAddress.set(address, (this.inFlightByAddress.get(address) ?? 0) + 1);
    this.inFlightTotal++;
    const acks0 = this.options.acks === 0;
    let sent: Promise<ProduceResponse__Output>;
    try {
      sent = this.transport.send(address, request, this.options.requestTimeoutMs); // serialized now
    } catch (err) {
      this.finish(address, entries, null, toFerryError(err));
      return;
    }
    if (acks0) for (const e of entries) for (const b of e.batches) b.complete(-1, -1);
    sent.then(
      (res) => this.finish(address, entries, acks0 ? null : res, null),
      (err: unknown) => this.finish(address, entries, null, acks0 ? null : toFerryError(err)),
    );
  }

  /** Settles a request's batches from its response (or whole-request error) and frees its slot. */
  private finish(address: string, entries: InFlightEntry[], res: ProduceResponse__Output | null, requestError: FerryError | null): void {
    this.inFlightByAddress.set(address, (this.inFlightByAddress.get(address) ?? 1) - 1);
    this.inFlightTotal--;
    const acks0 = this.options.acks === 0;
    const results = new Map<string, ProduceResponse__Output['topics'][number]['partitions'][number]>();
    if (res) for (const t of res.topics) for (const p of t.partitions) results.set(`${t.topic}\u0000${p.partition}`, p);
    const stale = new Set<string>();
    for (const entry of entries) {
      const { q, batches } = entry;
      if (acks0 && requestError === null) {
        this.acc.release(q, batches);
        this.acc.recycle(batches); // answered: the request is long sent
        this.acc.requestDone(q, batches);
        continue;
      }
      let err = requestError;
      if (!err) {
        const r = results.get(`${q.topic}\u0000${q.partition}`);
        if (!r) err = new FerryError(ErrorCode.UNKNOWN_SERVER_ERROR, `no result for ${q.topic}-${q.partition} in the produce response`);
        else {
          err = fromResponseError(r.error);
          if (!err) {
            let offset = r.baseOffset;
            for (const b of batches) {
              b.complete(offset, r.logAppendTimeMs);
              offset += b.recordCount;
            }
            const lastBatch = batches[batches.length - 1]!;
            if (lastBatch.producerId >= 0) {
              q.ackedProducerId = lastBatch.producerId;
              q.ackedEpoch = lastBatch.producerEpoch;
            }
            this.acc.release(q, batches);
            this.acc.recycle(batches);
            this.acc.requestDone(q, batches);
            continue;
          }
        }
      }
      // A per-partition hint naming a newer leader: the retry goes there without a metadata round
      // trip. (A whole-request error's hint says nothing about any one partition.)
      const hinted = err !== requestError && err.leader !== undefined && this.ctx.metadata.applyLeaderHint(q.topic, q.partition, err.leader, address);
      const failedEpoch = this.ctx.metadata.leaderEpoch(q.topic, q.partition);
      if (!hinted && needsMetadataRefresh(err)) stale.add(q.topic);
      this.retryOrFail(entry, err);
      this.acc.requestDone(q, batches); // the partition's held batches go back once none of its requests is in flight
      // Leader gone or unknown: retry the moment metadata names a newer leader, not after the backoff.
      if (!hinted && needsMetadataRefresh(err) && !q.muted && q.retryAtMs > Date.now()) this.leaderWatch.watch(q, failedEpoch);
    }
    if (requestError !== null && isConnectionError(requestError)) this.ctx.metadata.brokerFailed(address);
    if (stale.size > 0) {
      this.ctx.metadata.markStale(stale);
      this.ctx.metadata.refresh(stale).catch(() => undefined);
    }
    this.onProgress();
    this.wake();
  }

  private retryOrFail({ q, batches }: InFlightEntry, err: FerryError): void {
    const now = Date.now();
    if (err.code === ErrorCode.DUPLICATE_SEQUENCE_NUMBER && batches.length > 1) {
      for (const b of batches) b.sendAlone = true;
      this.ctx.logger.debug({ topic: q.topic, partition: q.partition, batches: batches.length }, 'resending batches one per request');
      this.acc.reenqueue(q, batches, now);
      return;
    }
    const retriableError = isRetriableForClient(err);
    const retry: ProducerBatch[] = [];
    const failed: ProducerBatch[] = [];
    const expired = new Set<ProducerBatch>();
    for (const b of batches) {
      b.lastError = err;
      // Pipelined idempotent sends: refused as out of order because a batch sent before it has not
      // landed (yet): it goes again behind that one. Out of order with nothing earlier pending is
      // a real gap: fails for good (KIP-360 epoch bump below).
      const retriable = retriableError || (err.code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER && q.hasEarlierUnacked(b));
      if (retriable && now - b.createdMs >= this.options.deliveryTimeoutMs) expired.add(b);
      const canRetry = retriable && b.attempts <= this.options.retries && !expired.has(b);
      (canRetry ? retry : failed).push(b);
      if (!canRetry) q.unacked.delete(b); // later batches of this request are judged without it
    }
    if (failed.length > 0) {
      // Out of time rather than out of luck: the same error as a batch that expired while queued.
      for (const b of failed) {
        const failure = expired.has(b) ? expiredError(b, now) : err;
        b.fail(failure);
        if (b.producerId >= 0) this.identity?.onUnresolved(b, failure);
      }
      this.ctx.logger.debug({ topic: q.topic, partition: q.partition, code: err.code, batches: failed.length }, 'produce failed');
    }
    // release() frees memory of failed batches; retried ones stay charged.
    this.acc.release(q, failed);
    if (retry.length > 0) {
      const attempt = retry[0]!.attempts;
      const delay = backoffMs(attempt, this.options.retryBackoffMs, this.options.retryBackoffMaxMs);
      this.ctx.logger.debug({ topic: q.topic, partition: q.partition, code: err.code, attempt, delay }, 'retrying produce');
      this.acc.reenqueue(q, retry, now + delay);
      this.arm(delay);
    }
  }
}

/** REQUEST_TIMED_OUT for a batch whose deliveryTimeoutMs ran out, naming the last error it met. */
function expiredError(b: ProducerBatch, now: number): FerryError {
  return new FerryError(
    ErrorCode.REQUEST_TIMED_OUT,
    `${b.recordCount} record(s) for ${b.topic}-${b.partition} expired after ${now - b.createdMs} ms (deliveryTimeoutMs)` +
      (b.lastError ? `; last error: ${b.lastError.message}` : ''),
  );
}
