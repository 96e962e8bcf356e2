/**
 * The steady stream the `group` bench's failover and join phases consume: this process sends
 * `rate` records/s to a topic, round-robin over its partitions, each value starting with its
 * per-partition sequence number (0, 1, 2, ... in each partition). Per-partition numbering is what
 * makes "nothing skipped" checkable by ranges: every partition must be covered from 0 to what was
 * acknowledged, whichever members read it.
 *
 * Sending is paced by a 10 ms timer that catches up to `elapsed × rate`, so a busy event loop
 * sends a burst rather than a lower rate. It runs in the bench parent: at tens of thousands of
 * records/s that is a small load, and all timings are taken in the members anyway.
 */
import type { Ferry } from '../src/client/index.js';
import type { BatchRecord } from '../src/client/types.js';
import { SEQ_BYTES } from './group-protocol.js';
import { templateValue } from './payload.js';

const TICK_MS = 10;
/** Stop sending (until acks catch up) when this many records are unacknowledged. */
const OUTSTANDING_MAX = 50_000;

export class SeqStream {
  /** Records acknowledged per partition. */
  readonly acked: number[];
  failed = 0;
  firstError?: string;
  private readonly next: number[];
  private sent = 0;
  private outstanding = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly producer;
  private readonly template: Buffer;
  private startMs = 0;
  private stopped = false;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    ferry: Ferry,
    private readonly topic: string,
    private readonly partitions: number,
    private readonly rate: number,
    messageSize: number,
    acks: 0 | 1 | -1,
  ) {
    this.producer = ferry.producer({ acks });
    this.template = templateValue(Math.max(SEQ_BYTES, messageSize));
    this.acked = new Array<number>(partitions).fill(0);
    this.next = new Array<number>(partitions).fill(0);
  }

  /** Records sent per partition: sequence numbers 0..n-1 exist there unless a send failed. */
  get sentPerPartition(): readonly number[] {
    return this.next;
  }

  get ackedTotal(): number {
    return this.acked.reduce((a, b) => a + b, 0);
  }

  start(): void {
    this.startMs = performance.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  private tick(): void {
    const due = Math.floor(((performance.now() - this.startMs) * this.rate) / 1000) - this.sent;
    const n = Math.min(due, OUTSTANDING_MAX - this.outstanding);
    if (n <= 0) return;
    const records: BatchRecord[] = [];
    const counts = new Array<number>(this.partitions).fill(0);
    for (let i = 0; i < n; i++) {
      const partition = (this.sent + i) % this.partitions;
      const value = Buffer.from(this.template);
      value.writeUIntBE(this.next[partition]!++, 0, SEQ_BYTES);
      counts[partition]!++;
      records.push({ partition, value });
    }
    this.sent += n;
    this.outstanding += n;
    const p = this.producer.sendBatch(this.topic, records).then(
      () => counts.forEach((c, partition) => (this.acked[partition]! += c)),
      (err: unknown) => {
        this.failed += n;
        this.firstError ??= err instanceof Error ? err.message : String(err);
      },
    );
    this.pending.add(p);
    void p.finally(() => {
      this.outstanding -= n;
      this.pending.delete(p);
    });
  }

  /** Stops sending and resolves once everything sent is acknowledged or failed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.producer.flush().catch(() => undefined);
    await Promise.all([...this.pending]);
    await this.producer.close().catch(() => undefined);
  }
}
