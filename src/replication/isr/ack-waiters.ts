/**
 * AckWaiters: produce requests with acks=all waiting for the high watermark (Kafka's
 * DelayedProduce, reduced to data). Keyed by the offset the HW must reach: the batch's last offset
 * + 1. The queue is kept sorted by required offset, so completion pops from the front.
 *
 * Outcomes, each returned as a `CompletedWaiter` effect, never a callback:
 *  - error null: the HW passed the batch while the ISR had ≥ min.insync.replicas members;
 *  - NOT_ENOUGH_REPLICAS_AFTER_APPEND: appended, but the ISR dropped below min.insync.replicas, so
 *    (KIP-966) the HW is frozen and the batch cannot commit until the ISR grows again;
 *  - REQUEST_TIMED_OUT: its deadline passed first;
 *  - NOT_LEADER_OR_FOLLOWER (or whatever the caller passes): the leader resigned.
 * Every error means "outcome unknown": the batch may still commit later, as in Kafka.
 */
import { ErrorCode } from '../../protocol/errors.js';

export interface CompletedWaiter {
  id: number;
  /** null = acknowledged (committed). */
  error: ErrorCode | null;
}

interface Waiter {
  id: number;
  requiredOffset: number;
  deadlineMs: number;
}

export class AckWaiters {
  private queue: Waiter[] = [];

  get size(): number {
    return this.queue.length;
  }

  /**
   * Offsets usually arrive in order; a caller whose appends finish concurrently may register them
   * slightly out of order, so the waiter is inserted where it belongs (from the back: O(1) typically).
   */
  add(id: number, requiredOffset: number, deadlineMs: number): void {
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.requiredOffset > requiredOffset) i--;
    this.queue.splice(i, 0, { id, requiredOffset, deadlineMs });
  }

  /** Completes, successfully, every waiter whose batch is below `highWatermark`. */
  completeUpTo(highWatermark: number, out: CompletedWaiter[]): void {
    let n = 0;
    while (n < this.queue.length && this.queue[n]!.requiredOffset <= highWatermark) {
      out.push({ id: this.queue[n]!.id, error: null });
      n++;
    }
    if (n > 0) this.queue = this.queue.slice(n);
  }

  /** Fails every waiter with `error`. */
  failAll(error: ErrorCode, out: CompletedWaiter[]): void {
    for (const w of this.queue) out.push({ id: w.id, error });
    this.queue = [];
  }

  /** Fails waiters whose deadline has passed with REQUEST_TIMED_OUT. */
  expire(nowMs: number, out: CompletedWaiter[]): void {
    if (!this.queue.some((w) => w.deadlineMs <= nowMs)) return;
    const kept: Waiter[] = [];
    for (const w of this.queue) {
      if (w.deadlineMs <= nowMs) out.push({ id: w.id, error: ErrorCode.REQUEST_TIMED_OUT });
      else kept.push(w);
    }
    this.queue = kept;
  }
}
