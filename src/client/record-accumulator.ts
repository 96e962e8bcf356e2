/**
 * Per-partition queues of record batches waiting to be sent.
 *
 * Each (topic, partition) has a FIFO of `ProducerBatch`es; only the last may be open for appends.
 * A batch closes when the next record does not fit in `batchSizeBytes` (a single larger record gets
 * a batch of its own), or when it is drained for sending. A partition is *ready* when its head batch
 * is closed, has lingered `lingerMs`, or a flush is under way; and fewer requests of it are in
 * flight than its window allows (none while it recovers from a failed one, below).
 *
 * Ordering: at most a window of requests carrying one partition's batches are in flight (the
 * sender's `windowOf`): 1 without idempotence, so nothing newer can overtake a batch being retried and
 * per-partition order holds across retries without it; up to 5 for an idempotent producer, whose
 * sequence numbers let the leader refuse a batch that would land out of order (Kafka's rule for
 * max.in.flight with idempotence, and why 5: the leader remembers 5 runs per producer to recognise
 * retried batches, producer-state.ts) — once the leader has acknowledged a batch of the current
 * producer id and epoch on that partition: a leader that does not know the producer yet takes any
 * first sequence, so a first request refused while a later one got in would leave a gap nobody
 * notices. Pipelining spares each request the wait for the previous
 * one's acknowledgement (measured: docs/BENCHMARKS.md, "Pipelined partitions").
 * When a request for a partition fails, its batches to retry are held (`returned`) and the
 * partition takes no new sends until every request of it in flight has settled (`recovering`);
 * then they go back to the head of the queue in the order they were first sent, with the backoff
 * deadline. A later request that failed because an earlier one had not landed (the leader's
 * OUT_OF_ORDER_SEQUENCE_NUMBER) is retried behind it (`hasEarlierUnacked`). (Other partitions keep
 * going; several batches of one partition ride in one request.)
 *
 * Memory: `bufferedBytes` counts every batch from creation until it completes (sent and answered
 * or failed); the producer makes `send()` wait while it exceeds buffer.memory.
 *
 * Buffers: a batch acknowledged by the broker gives its batch.size buffer back (`recycle`) for the
 * next batch to build into, up to one request's worth: with 1 KiB values, allocating a fresh
 * buffer per batch was a third of the producer's large allocations, and the garbage collection they
 * drive (measured: 12% less producer CPU; docs/BENCHMARKS.md, "Closing the peer gaps"). Only
 * acknowledged batches are recycled: their request was sent and answered, so nothing still reads
 * their bytes. Failed or expired batches are left to the garbage collector.
 */
import { RecordBatchBuilder, type BatchOptions, type RecordInput } from '../protocol/record-builder.js';
import type { DeliveryTarget } from './delivery.js';
import type { Partitioner } from './partitioner.js';

export class ProducerBatch {
  readonly targets: DeliveryTarget[] = [];
  readonly slots: number[] = [];
  readonly timestamps: number[] = [];
  /** Built bytes once closed. */
  bytes: Buffer | null = null;
  /** Bytes charged to buffer memory. */
  chargedBytes: number;
  /** Sends so far (0 before the first). */
  attempts = 0;
  lastError: Error | null = null;
  /** The buffer the batch was built in (recyclable once the batch is acknowledged). */
  buffer: Buffer;
  /** Idempotence (idempotence.ts): set when first drained, kept across retries; -1 = not numbered. */
  producerId = -1;
  producerEpoch = -1;
  baseSequence = -1;
  /**
   * Resend in a request of its own: the broker refused this batch's request as a mix of batches it
   * already had and new ones (DUPLICATE_SEQUENCE_NUMBER); alone, each is one or the other.
   */
  sendAlone = false;
  /** Order of the first send (the accumulator's counter); -1 before it. Retries keep it. */
  drainOrder = -1;
  private builder: RecordBatchBuilder | null;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly createdMs: number,
    capacityBytes: number,
    options: BatchOptions,
    buffer?: Buffer,
  ) {
    this.builder = new RecordBatchBuilder(capacityBytes, options, buffer);
    this.buffer = this.builder.buffer;
    this.chargedBytes = capacityBytes;
  }

  get recordCount(): number {
    return this.targets.length;
  }

  get closed(): boolean {
    return this.builder === null;
  }

  tryAppend(record: RecordInput, target: DeliveryTarget, slot: number): boolean {
    if (!this.builder!.tryAppend(record)) return false;
    this.targets.push(target);
    this.slots.push(slot);
    this.timestamps.push(record.timestamp!);
    return true;
  }

  /** Encodes the batch (header, CRC, compression); returns the growth in charged bytes. */
  close(): number {
    if (!this.builder) return 0;
    this.bytes = this.builder.build();
    this.buffer = this.builder.buffer; // grown for a first record larger than batch.size
    this.builder = null;
    const grown = Math.max(0, this.bytes.length - this.chargedBytes);
    this.chargedBytes += grown;
    return grown;
  }

  /** Resolves every record; offsets are contiguous from `baseOffset` (-1 for all when unknown). */
  complete(baseOffset: number, logAppendTimeMs: number): void {
    const { targets, slots, timestamps, topic, partition } = this;
    for (let i = 0; i < targets.length; i++) {
      const offset = baseOffset < 0 ? -1 : baseOffset + i;
      targets[i]!.done(slots[i]!, topic, partition, offset, logAppendTimeMs >= 0 ? logAppendTimeMs : timestamps[i]!);
    }
  }

  fail(err: Parameters<DeliveryTarget['fail']>[0]): void {
    for (let i = 0; i < this.targets.length; i++) this.targets[i]!.fail(err);
  }
}

export class PartitionQueue {
  readonly batches: ProducerBatch[] = [];
  /** A request of it failed: no new sends until `inFlight` is 0 and `returned` is back in the queue. */
  recovering = false;
  /** Batches of failed requests waiting to go back to the head of the queue (see the top of the file). */
  readonly returned: ProducerBatch[] = [];
  /** Sent and not yet acknowledged or failed for good (in flight or returned). */
  readonly unacked = new Set<ProducerBatch>();
  /**
   * Requests from the oldest one not yet settled to the newest, settled or not (by their first
   * batch's drain order). Its length bounds pipelining, not the count in flight: if one request's
   * answer is lost while later ones are answered, no more than the window are stored after it, so
   * its retry still finds its batches among the runs the leader remembers (a duplicate, not a gap).
   */
  readonly window: { first: number; settled: boolean }[] = [];
  private returnAtMs = 0;
  /** Producer id and epoch of the last batch the leader acknowledged (idempotence; -1 = none yet). */
  ackedProducerId = -1;
  ackedEpoch = -1;
  /** No send before this time (retry backoff), ms since the epoch. */
  retryAtMs = 0;
  /** The topic's partition count at the last append (for the sticky partitioner). */
  numPartitions = 1;
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Requests carrying this partition's batches that are in flight: the window's unsettled ones. */
  get inFlight(): number {
    let n = 0;
    for (const w of this.window) if (!w.settled) n++;
    return n;
  }

  /** Nothing new of this partition may be sent now (in flight, or recovering from a failure). */
  get muted(): boolean {
    return this.inFlight > 0 || this.recovering;
  }

  /** Holds batches of a failed request for retry, no earlier than `retryAtMs`. */
  hold(batches: ProducerBatch[], retryAtMs: number): void {
    this.returned.push(...batches);
    this.recovering = true;
    this.returnAtMs = Math.max(this.returnAtMs, retryAtMs);
  }

  /** Whether a batch sent before `b` (first sends) is still unacknowledged here. */
  hasEarlierUnacked(b: ProducerBatch): boolean {
    for (const x of this.unacked) if (x !== b && x.drainOrder < b.drainOrder) return true;
    return false;
  }

  /** The last request in flight settled while recovering: held batches back to the head, in send order. */
  takeReturned(): { batches: ProducerBatch[]; retryAtMs: number } | null {
    if (this.inFlight > 0 || !this.recovering) return null;
    const batches = this.returned.splice(0).sort((a, b) => a.drainOrder - b.drainOrder);
    const retryAtMs = this.returnAtMs;
    this.recovering = false;
    this.returnAtMs = 0;
    return { batches, retryAtMs };
  }
}

export interface AccumulatorOptions {
  batchSizeBytes: number;
  lingerMs: number;
  batchOptions: BatchOptions;
  /** Most acknowledged batch buffers kept for reuse (default: one maxRequestSize worth, at least 16). */
  recycledBuffersMax?: number;
  /** The producer's maxRequestSize: a partition with this much queued pipelines without lingering. */
  maxRequestBytes?: number;
}

export interface ReadyCheck {
  ready: PartitionQueue[];
  /** Sendable but still within linger: may ride along in a request going to their broker anyway. */
  lingering: PartitionQueue[];
  /** Delay until the next partition becomes ready by time (linger or backoff); Infinity if none. */
  nextReadyInMs: number;
}

export class RecordAccumulator {
  private readonly queues = new Map<string, PartitionQueue[]>();
  /** Queues holding at least one batch; iteration order = first-used order. */
  private readonly nonEmpty = new Set<PartitionQueue>();
  bufferedBytes = 0;
  batchCount = 0;
  /** batch.size buffers of acknowledged batches, reused by new batches (see the top of this file). */
  private readonly spare: Buffer[] = [];
  private readonly spareMax: number;
  private drains = 0;
  /** Batches that make a whole request (see ready()). */
  private readonly batchesPerRequest: number;

  constructor(
    private readonly options: AccumulatorOptions,
    private readonly partitioner: Partitioner,
  ) {
    this.spareMax = options.recycledBuffersMax ?? 16;
    this.batchesPerRequest = options.maxRequestBytes ? Math.max(1, Math.ceil(options.maxRequestBytes / options.batchSizeBytes)) : Infinity;
  }

  /** Buffers waiting for reuse (tests). */
  get spareBuffers(): number {
    return this.spare.length;
  }

  queue(topic: string, partition: number): PartitionQueue {
    let byPartition = this.queues.get(topic);
    if (!byPartition) {
      byPartition = [];
      this.queues.set(topic, byPartition);
    }
    let q = byPartition[partition];
    if (!q) {
      q = new PartitionQueue(topic, partition);
      byPartition[partition] = q;
    }
    return q;
  }

  /**
   * Appends one record (its `timestamp` must be set). Returns true when a batch closed because it
   * was full, i.e. the sender has something to send now.
   */
  append(topic: string, partition: number, numPartitions: number, record: RecordInput, target: DeliveryTarget, slot: number, nowMs: number): boolean {
    const q = this.queue(topic, partition);
    q.numPartitions = numPartitions;
    const batches = q.batches;
    const last = batches.length > 0 ? batches[batches.length - 1]! : undefined;
    if (last && !last.closed && last.tryAppend(record, target, slot)) return false;
    let closedFull = false;
    if (last && !last.closed) {
      this.bufferedBytes += last.close();
      this.partitioner.onBatchClosed(topic, partition, numPartitions);
      closedFull = true;
    }
    const batch = new ProducerBatch(topic, partition, nowMs, this.options.batchSizeBytes, this.options.batchOptions, this.spare.pop());
    batch.tryAppend(record, target, slot); // never refused: a first record grows the buffer
    batches.push(batch);
    this.bufferedBytes += batch.chargedBytes;
    this.batchCount++;
    this.nonEmpty.add(q);
    return closedFull;
  }

  hasUnsent(): boolean {
    return this.nonEmpty.size > 0;
  }

  /**
   * Partitions with something to send now, plus when the next one will be ready by time.
   * `windowOf(q)`: how many requests of `q` may be pipelined (see the top of the file; default 1).
   */
  ready(nowMs: number, flushing: boolean, windowOf: (q: PartitionQueue) => number = () => 1): ReadyCheck {
    const ready: PartitionQueue[] = [];
    const lingering: PartitionQueue[] = [];
    let nextReadyInMs = Infinity;
    for (const q of this.nonEmpty) {
      if (q.recovering || q.window.length >= windowOf(q)) continue;
      if (q.retryAtMs > nowMs) {
        nextReadyInMs = Math.min(nextReadyInMs, q.retryAtMs - nowMs);
        continue;
      }
      const head = q.batches[0]!;
      // A request of this partition is in flight already: another goes only once what waits is
      // worth a request of its own — its oldest batch has lingered lingerMs (it would have left by
      // now from an idle partition), or a whole request's worth is queued. Otherwise it waits for
      // the answer and leaves in one larger request: pipelining every full batch cost the 100 B
      // producer a quarter of its throughput in requests (docs/BENCHMARKS.md, "Pipelined partitions").
      if (q.window.length > 0 && !flushing && head.attempts === 0 && q.batches.length < this.batchesPerRequest) {
        const lingerLeft = head.createdMs + this.options.lingerMs - nowMs;
        if (lingerLeft > 0) {
          nextReadyInMs = Math.min(nextReadyInMs, lingerLeft);
          continue;
        }
      }
      if (flushing || head.closed || q.batches.length > 1 || head.attempts > 0) {
        ready.push(q);
        continue;
      }
      const due = head.createdMs + this.options.lingerMs - nowMs;
      if (due <= 0) ready.push(q);
      else {
        lingering.push(q);
        nextReadyInMs = Math.min(nextReadyInMs, due);
      }
    }
    return { ready, lingering, nextReadyInMs };
  }

  /**
   * Takes batches from the head of `q`, in order, while they fit in `maxBytes` (at least one),
   * closing each (encoding it), for one request: counts it in flight until `requestDone`. Batches
   * still open and younger than linger are taken too when the partition is ready: they would only
   * wait for the next request otherwise.
   */
  drain(q: PartitionQueue, maxBytes: number): ProducerBatch[] {
    const taken: ProducerBatch[] = [];
    let bytes = 0;
    while (q.batches.length > 0) {
      const b = q.batches[0]!;
      if (!b.closed) {
        this.bufferedBytes += b.close();
        this.partitioner.onBatchClosed(q.topic, q.partition, q.numPartitions);
      }
      const size = b.bytes!.length;
      if (taken.length > 0 && (bytes + size > maxBytes || b.sendAlone || taken[0]!.sendAlone)) break;
      q.batches.shift();
      if (b.drainOrder < 0) b.drainOrder = this.drains++;
      q.unacked.add(b);
      taken.push(b);
      bytes += size;
    }
    if (q.batches.length === 0) this.nonEmpty.delete(q);
    q.window.push({ first: taken[0]!.drainOrder, settled: false });
    return taken;
  }

  /**
   * After a retriable failure: the batches go back to the head of their queue, in the order first
   * sent, once no request of `q` is in flight any more (see the top of the file).
   */
  reenqueue(q: PartitionQueue, batches: ProducerBatch[], retryAtMs: number): void {
    q.hold(batches, retryAtMs);
  }

  /** The request carrying `batches` of `q` settled (after they were released or re-enqueued). */
  requestDone(q: PartitionQueue, batches: readonly ProducerBatch[]): void {
    const slot = q.window.find((w) => w.first === batches[0]?.drainOrder && !w.settled);
    if (slot) slot.settled = true;
    while (q.window.length > 0 && q.window[0]!.settled) q.window.shift();
    const back = q.takeReturned();
    if (!back || back.batches.length === 0) return;
    q.batches.unshift(...back.batches);
    q.retryAtMs = back.retryAtMs;
    this.nonEmpty.add(q);
  }

  /** Batches acknowledged or failed for good: frees their memory. */
  release(q: PartitionQueue, batches: ProducerBatch[]): void {
    for (const b of batches) {
      this.bufferedBytes -= b.chargedBytes;
      q.unacked.delete(b);
    }
    this.batchCount -= batches.length;
  }

  /**
   * Keeps the buffers of batches the broker acknowledged for new batches. Only for batches whose
   * request was answered: nothing reads their bytes any more.
   */
  recycle(batches: readonly ProducerBatch[]): void {
    const size = this.options.batchSizeBytes;
    for (const b of batches) {
      if (this.spare.length >= this.spareMax) return;
      if (b.buffer.length === size) this.spare.push(b.buffer);
    }
  }

  /** Removes and returns every unsent batch (close without flush / fatal errors). */
  abortAll(): ProducerBatch[] {
    const all: ProducerBatch[] = [];
    const queues = new Set(this.nonEmpty);
    for (const byPartition of this.queues.values()) for (const q of byPartition) if (q && q.returned.length > 0) queues.add(q);
    for (const q of queues) {
      const batches = [...q.returned.splice(0), ...q.batches.splice(0)];
      for (const b of batches) {
        this.bufferedBytes -= b.chargedBytes;
        q.unacked.delete(b);
      }
      this.batchCount -= batches.length;
      all.push(...batches);
    }
    this.nonEmpty.clear();
    return all;
  }

  /** Removes expired batches (older than `deadlineMs` since creation) from unmuted heads. */
  expire(nowMs: number, deliveryTimeoutMs: number): ProducerBatch[] {
    const expired: ProducerBatch[] = [];
    for (const q of this.nonEmpty) {
      if (q.muted) continue;
      while (q.batches.length > 0 && nowMs - q.batches[0]!.createdMs >= deliveryTimeoutMs) {
        const b = q.batches.shift()!;
        this.bufferedBytes += b.close();
        this.bufferedBytes -= b.chargedBytes;
        this.batchCount--;
        expired.push(b);
      }
      if (q.batches.length === 0) this.nonEmpty.delete(q);
    }
    return expired;
  }
}
