/**
 * A counting semaphore over bytes (Kafka's queued.max.request.bytes idea): holders together own at
 * most `capacity` bytes. A request that does not fit waits in FIFO order, at most `waitMs`, and only
 * while the bytes waiting fit in another `capacity`; otherwise acquire answers null at once. So
 * admitted plus waiting requests hold at most 2 × capacity. A request larger than the capacity is
 * the exception on both sides: it is admitted when nothing is held and may wait when nothing waits
 * (so it is not refused forever).
 */
export type Release = () => void;

interface Waiter {
  bytes: number;
  grant: (release: Release | null) => void;
  timer: NodeJS.Timeout;
}

export class ByteSemaphore {
  private held = 0;
  private waitingBytes = 0;
  private readonly waiters: Waiter[] = [];

  constructor(readonly capacity: number) {}

  get heldBytes(): number {
    return this.held;
  }

  get queuedBytes(): number {
    return this.waitingBytes;
  }

  /** A release function once `bytes` fit (call it exactly once), or null when refused. */
  acquire(bytes: number, waitMs: number): Promise<Release | null> {
    if (this.waiters.length === 0 && this.fits(bytes)) return Promise.resolve(this.take(bytes));
    if (waitMs <= 0 || (this.waitingBytes > 0 && this.waitingBytes + bytes > this.capacity)) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        bytes,
        grant: resolve,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i < 0) return;
          this.waiters.splice(i, 1);
          this.waitingBytes -= bytes;
          resolve(null);
          this.admitWaiters(); // a large head that gave up may unblock smaller ones behind it
        }, waitMs),
      };
      this.waiters.push(waiter);
      this.waitingBytes += bytes;
    });
  }

  private fits(bytes: number): boolean {
    return this.held === 0 || this.held + bytes <= this.capacity;
  }

  private take(bytes: number): Release {
    this.held += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held -= bytes;
      this.admitWaiters();
    };
  }

  private admitWaiters(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) {
      const next = this.waiters.shift()!;
      clearTimeout(next.timer);
      this.waitingBytes -= next.bytes;
      next.grant(this.take(next.bytes));
    }
  }
}
