/**
 * One timer that fires at the earliest deadline asked of it: `arm(delay)` moves it earlier, never
 * later. The producer's sender (linger, retry backoff) and the consumer's fetcher (backoff) each
 * keep one instead of a timer per partition or record.
 */
export class DeadlineTimer {
  private timer: NodeJS.Timeout | null = null;
  private dueMs = Infinity;

  constructor(private readonly onFire: () => void) {}

  get armed(): boolean {
    return this.timer !== null;
  }

  arm(delayMs: number): void {
    const due = Date.now() + delayMs;
    if (this.timer !== null && this.dueMs <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.dueMs = due;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.dueMs = Infinity;
      this.onFire();
    }, Math.max(0, delayMs));
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.dueMs = Infinity;
  }
}
