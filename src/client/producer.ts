/**
 * Producer: `send()` / `sendBatch()` append records to per-partition batches (record-accumulator.ts)
 * and the sender ships them (sender.ts). Each `send()` promise resolves with the record's partition
 * and offset once the broker acknowledged it per `acks`, or rejects with a FerryError.
 *
 * Hot path (topic metadata cached, buffer below bufferMemory, nobody waiting): synchronous append
 * into the open batch; no timer, no extra promise, no Buffer per record (strings are encoded straight
 * into the batch). `sendBatch()` returns one promise for the whole call.
 *
 * Cold path: when the topic's metadata is unknown or `bufferMemory` bytes are buffered or in flight,
 * the call joins one FIFO (`waiting`) served in order, so records are appended in call order even
 * across that wait. That is the back-pressure: the returned promise settles later. Callers that
 * fire without awaiting should bound their outstanding sends (or await `producer.waitForBuffer()`).
 * A topic whose metadata answers with a retriable error (no leader yet, no broker reachable) keeps
 * its calls waiting until `deliveryTimeoutMs` after they parked; an unknown topic fails once the
 * Ferry retry policy is spent.
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';
import type { RecordInput } from '../protocol/record-builder.js';
import type { ClientContext } from './context.js';
import { BatchDelivery, SingleDelivery, type DeliveryTarget } from './delivery.js';
import { closedError, toFerryError } from './errors.js';
import type { TopicInfo } from './metadata-cache.js';
import { resolveProducerOptions, type ResolvedProducerOptions } from './options.js';
import { createPartitioner, type Partitioner } from './partitioner.js';
import { RecordAccumulator } from './record-accumulator.js';
import { sleep } from './retry.js';
import { Sender } from './sender.js';
import type { BatchRecord, ProducerOptions, ProducerRecord, RecordMetadata } from './types.js';

/** A call parked until metadata or buffer memory allows its records in. */
interface Waiting {
  topic: string;
  records: readonly BatchRecord[];
  /** Next record of `records` to append. */
  index: number;
  target: DeliveryTarget;
  /** When the call parked (ms): it may wait for metadata until deliveryTimeoutMs after this. */
  parkedAtMs: number;
}

export class Producer {
  readonly options: ResolvedProducerOptions;
  private readonly partitioner: Partitioner;
  private readonly acc: RecordAccumulator;
  private readonly sender: Sender;
  /** FIFO of parked calls; `waiting[waitingHead]` is the oldest (index queue: shift() is O(n)). */
  private waiting: Waiting[] = [];
  private waitingHead = 0;
  private processingWaiting = false;
  private memoryWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private closing = false;
  /** Reused for every append, so the hot path allocates no RecordInput. */
  private readonly scratch: RecordInput = { key: null, value: null, headers: undefined, timestamp: 0 };

  constructor(
    private readonly ctx: ClientContext,
    options: ProducerOptions = {},
    private readonly onClose: (p: Producer) => void = () => {},
  ) {
    this.options = resolveProducerOptions(options, ctx.requestTimeoutMs);
    const o = this.options;
    this.partitioner = createPartitioner(o.partitioner);
    this.acc = new RecordAccumulator(
      {
        batchSizeBytes: o.batchSize,
        lingerMs: o.lingerMs,
        batchOptions: { compression: o.compression },
        recycledBuffersMax: Math.max(16, Math.floor(o.maxRequestSize / o.batchSize)),
        maxRequestBytes: o.maxRequestSize,
      },
      this.partitioner,
    );
    this.sender = new Sender(ctx, this.acc, o, () => this.onProgress());
  }

  /** Optional: checks a broker answers and warms the connection. send() connects lazily. */
  async connect(): Promise<void> {
    await this.ctx.metadata.cluster([], false);
  }

  /** Bytes buffered or in flight right now (what bufferMemory limits). */
  get bufferedBytes(): number {
    return this.acc.bufferedBytes;
  }

  send(record: ProducerRecord): Promise<RecordMetadata> {
    return new Promise<RecordMetadata>((resolve, reject) => {
      if (this.closing) throw closedError('producer');
      if (!record || typeof record.topic !== 'string' || record.topic === '') {
        throw new FerryError(ErrorCode.INVALID_TOPIC, 'send() needs a record with a non-empty topic');
      }
      const target = new SingleDelivery(resolve, reject);
      if (this.waitingCount() === 0 && this.acc.bufferedBytes < this.options.bufferMemory) {
        const t = this.ctx.metadata.topic(record.topic);
        if (t !== undefined && t.error === null && t.numPartitions > 0) {
          this.appendOne(t, record, target, 0, Date.now());
          return;
        }
      }
      this.park({ topic: record.topic, records: [record], index: 0, target, parkedAtMs: Date.now() });
    });
  }

  /** Sends records of one topic; one promise for all, results in input order. */
  sendBatch(topic: string, records: readonly BatchRecord[]): Promise<RecordMetadata[]> {
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      if (this.closing) throw closedError('producer');
      if (typeof topic !== 'string' || topic === '') throw new FerryError(ErrorCode.INVALID_TOPIC, 'sendBatch() needs a non-empty topic');
      if (!Array.isArray(records)) throw new FerryError(ErrorCode.INVALID_RECORD, 'sendBatch() needs an array of records');
      const target = new BatchDelivery(records.length, resolve, reject);
      const w: Waiting = { topic, records, index: 0, target, parkedAtMs: Date.now() };
      if (this.waitingCount() === 0) {
        const t = this.ctx.metadata.topic(topic);
        if (t !== undefined && t.error === null && t.numPartitions > 0) {
          this.appendFrom(t, w);
          if (w.index >= records.length) return;
        }
      }
      this.park(w);
    });
  }

  /** Resolves once buffered + in-flight bytes are below bufferMemory (a back-pressure hook). */
  waitForBuffer(): Promise<void> {
    if (this.acc.bufferedBytes < this.options.bufferMemory && this.waitingCount() === 0) return Promise.resolve();
    return new Promise((resolve) => this.memoryWaiters.push(resolve));
  }

  /** Sends everything buffered now, without waiting for linger; resolves when all of it settled. */
  async flush(): Promise<void> {
    this.sender.flushing++;
    try {
      this.sender.wake();
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        this.onProgress();
      });
    } finally {
      this.sender.flushing--;
    }
  }

  /** Flushes, then stops. Sends after close() reject. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    try {
      await this.flush();
    } finally {
      this.sender.close();
      for (const b of this.acc.abortAll()) b.fail(closedError('producer'));
      this.onClose(this);
    }
  }

  /** Appends records of `w` from w.index while memory allows; advances w.index. Throws on bad input. */
  private appendFrom(t: TopicInfo, w: Waiting): void {
    const now = Date.now();
    const { records, target } = w;
    const limit = this.options.bufferMemory;
    while (w.index < records.length && this.acc.bufferedBytes < limit) {
      const i = w.index++;
      this.appendOne(t, records[i]!, target, i, now);
    }
  }

  private appendOne(t: TopicInfo, record: BatchRecord, target: DeliveryTarget, slot: number, now: number): void {
    let partition = record.partition;
    if (partition === undefined) partition = this.partitioner.partition(t.name, record.key, t.numPartitions, t.partitions);
    else if (!Number.isInteger(partition) || partition < 0 || partition >= t.numPartitions) {
      throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${partition} of ${t.name} does not exist (${t.numPartitions} partitions)`);
    }
    const s = this.scratch;
    s.key = record.key ?? null;
    s.value = record.value ?? null;
    s.headers = record.headers;
    s.timestamp = record.timestamp ?? now;
    const closedFull = this.acc.append(t.name, partition, t.numPartitions, s, target, slot, now);
    this.sender.onAppend(closedFull);
  }

  private park(w: Waiting): void {
    this.waiting.push(w);
    void this.serveWaiting();
  }

  /** Serves `waiting` in order: waits for metadata or memory as needed. One runner at a time. */
  private async serveWaiting(): Promise<void> {
    if (this.processingWaiting) return;
    this.processingWaiting = true;
    try {
      while (this.waitingCount() > 0) {
        const w = this.waiting[this.waitingHead]!;
        if (this.acc.bufferedBytes >= this.options.bufferMemory) {
          await new Promise<void>((resolve) => this.memoryWaiters.push(resolve));
          continue;
        }
        let t = this.ctx.metadata.topic(w.topic);
        if (t === undefined || t.error !== null || t.numPartitions === 0) {
          try {
            t = await this.ctx.metadata.getTopic(w.topic);
          } catch (raw) {
            const err = toFerryError(raw);
            if (this.mayWaitForMetadata(w, err)) await sleep(this.options.retryBackoffMs);
            else this.failWaiting(w.topic, this.waitedOut(w, err));
            continue;
          }
        }
        try {
          this.appendFrom(t, w);
        } catch (err) {
          w.target.fail(toFerryError(err));
          w.index = w.records.length;
        }
        if (w.index >= w.records.length) this.dequeueWaiting();
      }
    } finally {
      this.processingWaiting = false;
      this.onProgress();
    }
  }

  /** Whether a call parked on `err` (from getTopic, retries spent) may keep waiting for metadata. */
  private mayWaitForMetadata(w: Waiting, err: FerryError): boolean {
    if (!err.retriable) return false; // UNKNOWN_TOPIC_OR_PARTITION included: the retry policy was its wait
    return Date.now() - w.parkedAtMs < this.options.deliveryTimeoutMs;
  }

  /** The error parked calls fail with: a retriable one means the delivery timeout ran out. */
  private waitedOut(w: Waiting, err: FerryError): FerryError {
    if (!err.retriable) return err;
    return new FerryError(
      ErrorCode.REQUEST_TIMED_OUT,
      `no usable metadata for topic ${w.topic} within ${Date.now() - w.parkedAtMs} ms (deliveryTimeoutMs); last error: ${err.code}: ${err.message}`,
    );
  }

  private waitingCount(): number {
    return this.waiting.length - this.waitingHead;
  }

  private dequeueWaiting(): void {
    this.waiting[this.waitingHead++] = undefined as unknown as Waiting;
    // Compact now and then so the array does not grow without bound.
    if (this.waitingHead === this.waiting.length) {
      this.waiting = [];
      this.waitingHead = 0;
    } else if (this.waitingHead >= 1024 && this.waitingHead * 2 >= this.waiting.length) {
      this.waiting = this.waiting.slice(this.waitingHead);
      this.waitingHead = 0;
    }
  }

  private failWaiting(topic: string, err: FerryError): void {
    const kept: Waiting[] = [];
    for (let i = this.waitingHead; i < this.waiting.length; i++) {
      const w = this.waiting[i]!;
      if (w.topic === topic) w.target.fail(err);
      else kept.push(w);
    }
    this.waiting = kept;
    this.waitingHead = 0;
  }

  /** After batches settle: wake memory waiters, and flush() callers once nothing is outstanding. */
  private onProgress(): void {
    if (this.memoryWaiters.length > 0 && this.acc.bufferedBytes < this.options.bufferMemory) {
      const waiters = this.memoryWaiters;
      this.memoryWaiters = [];
      for (const w of waiters) w();
    }
    if (this.idleWaiters.length > 0 && this.waitingCount() === 0 && this.acc.batchCount === 0 && this.sender.inFlightTotal === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
