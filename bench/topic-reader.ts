/**
 * Reads every partition of a topic from its earliest offset with one SDK consumer, batch by batch
 * (`consumer.run({ eachBatch })`, the cheapest path per record), counting records and value bytes and
 * handing each batch to an optional callback (e2e latency). `waitFor(n)` resolves the moment the
 * n-th record is counted, with the time it happened, so the measurement does not include polling.
 * It gives up after `idleTimeoutMs` without a new record, reporting how far it got.
 */
import type { Ferry } from '../src/client/index.js';
import type { ConsumerRecord } from '../src/client/types.js';

export interface ReadProgress {
  count: number;
  bytes: number;
  /** performance.now() when the target was reached, or when reading stalled. */
  atMs: number;
  complete: boolean;
}

/** A consumer fetch big enough that per-request overhead does not dominate. */
const FETCH_MAX_BYTES = 64 * 2 ** 20;

export class TopicReader {
  count = 0;
  bytes = 0;
  private lastRecordAtMs = performance.now();
  private target = Infinity;
  private onTarget: ((p: ReadProgress) => void) | undefined;
  private readonly consumer;
  private running: Promise<void> | undefined;

  constructor(
    ferry: Ferry,
    private readonly topic: string,
    private readonly partitions: number[],
    private readonly onRecords?: (records: ConsumerRecord[]) => void,
  ) {
    this.consumer = ferry.consumer({
      autoOffsetReset: 'earliest',
      fetchMaxBytes: FETCH_MAX_BYTES,
      // maxPartitionFetchBytes left to the SDK: 1 MiB, grown when few partitions share a fetch.
    });
  }

  async start(): Promise<void> {
    // No offsets given: autoOffsetReset 'earliest' starts each partition at its log start.
    this.consumer.assign(this.partitions.map((partition) => ({ topic: this.topic, partition })));
    this.lastRecordAtMs = performance.now();
    const running = this.consumer.run({
      eachBatch: ({ records }) => {
        let bytes = 0;
        for (const r of records) bytes += r.value?.length ?? 0;
        this.count += records.length;
        this.bytes += bytes;
        this.lastRecordAtMs = performance.now();
        this.onRecords?.(records);
        if (this.count >= this.target) this.reached(true);
      },
    });
    this.running = running;
    // A failing consumer must fail the bench run, not leave waitFor hanging until the idle timeout.
    running.catch((err: unknown) => {
      process.stderr.write(`bench consumer failed: ${err instanceof Error ? err.message : String(err)}\n`);
      this.reached(false);
    });
  }

  /** Resolves once `target` records have been read, or after `idleTimeoutMs` with none new. */
  waitFor(target: number, idleTimeoutMs: number): Promise<ReadProgress> {
    this.target = target;
    return new Promise<ReadProgress>((resolve) => {
      const idleCheck = setInterval(() => {
        if (performance.now() - this.lastRecordAtMs > idleTimeoutMs) this.reached(false);
      }, 250);
      this.onTarget = (p) => {
        clearInterval(idleCheck);
        resolve(p);
      };
      if (this.count >= target) this.reached(true);
    });
  }

  private reached(complete: boolean): void {
    const notify = this.onTarget;
    this.onTarget = undefined;
    notify?.({ count: this.count, bytes: this.bytes, atMs: complete ? performance.now() : this.lastRecordAtMs, complete });
  }

  async close(): Promise<void> {
    await this.consumer.stop().catch(() => undefined);
    await this.running?.catch(() => undefined);
    await this.consumer.close().catch(() => undefined);
  }
}
