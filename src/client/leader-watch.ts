/**
 * LeaderWatch: cuts a producer's retry backoff short when leadership moves (the idea of Kafka's
 * KIP-951). A partition whose send failed because its leader is gone or unknown waits out an
 * exponential backoff (up to retryBackoffMaxMs, 1 s) — but the new leader usually appears while it
 * waits (the controller fences the dead broker and elects another). While any such partition is
 * backing off, the watch refreshes metadata (spaced by metadataRefreshBackoffMs inside the cache)
 * and, as soon as a partition's leader epoch is newer than the one that failed, makes it ready at
 * once. Failover then costs the election, not the election plus a backoff step.
 */
import type { ClientContext } from './context.js';
import type { PartitionQueue } from './record-accumulator.js';

export class LeaderWatch {
  /** Backing-off partitions and the leader epoch they failed against. */
  private readonly waiting = new Map<PartitionQueue, number>();
  private running = false;
  private closed = false;

  constructor(
    private readonly ctx: ClientContext,
    private readonly pollMs: number,
    /** A watched partition may go now: run a send pass. */
    private readonly onLeaderChanged: () => void,
  ) {}

  /** `q` failed against `failedEpoch` and backs off until `q.retryAtMs`. */
  watch(q: PartitionQueue, failedEpoch: number): void {
    if (this.closed) return;
    this.waiting.set(q, failedEpoch);
    if (!this.running) void this.loop();
  }

  close(): void {
    this.closed = true;
    this.waiting.clear();
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed && this.waiting.size > 0) {
        const topics = new Set<string>();
        for (const q of this.waiting.keys()) topics.add(q.topic);
        this.ctx.metadata.markStale(topics);
        await this.ctx.metadata.refresh(topics).catch(() => undefined);
        const now = Date.now();
        let moved = false;
        for (const [q, failedEpoch] of this.waiting) {
          // Sent (or being sent) anyway: a new failure registers it again.
          if (q.batches.length === 0 || q.muted || q.retryAtMs <= now) {
            this.waiting.delete(q);
            continue;
          }
          if (this.ctx.metadata.leaderEpoch(q.topic, q.partition) > failedEpoch && this.ctx.metadata.leaderAddress(q.topic, q.partition) !== null) {
            q.retryAtMs = 0;
            this.waiting.delete(q);
            moved = true;
          }
        }
        if (moved) this.onLeaderChanged();
        if (this.waiting.size > 0) await new Promise((r) => setTimeout(r, this.pollMs));
      }
    } finally {
      this.running = false;
    }
  }
}
