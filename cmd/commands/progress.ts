/**
 * A one-line progress indicator on stderr for long CLI operations (produce, consume).
 * It draws only when stderr is a TTY: redirected stderr stays free of carriage-return noise, and
 * scripts see just the final summary. Redraws at most once per `intervalMs`; the timer is unref'd
 * so it never keeps the process alive.
 */

export class Progress {
  private readonly enabled: boolean;
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;
  private lastCount = 0;
  private lastAtMs = Date.now();

  /** `render(count, ratePerSec)` returns the line to show; `count()` reads the current total. */
  constructor(
    private readonly count: () => number,
    private readonly render: (count: number, ratePerSec: number) => string,
    private readonly intervalMs = 1000,
  ) {
    this.enabled = process.stderr.isTTY === true;
  }

  start(): this {
    if (!this.enabled) return this;
    this.timer = setInterval(() => this.draw(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  /** Erases the line so the summary that follows starts clean. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawn) process.stderr.write('\r\x1b[K');
    this.drawn = false;
  }

  private draw(): void {
    const now = Date.now();
    const count = this.count();
    const rate = ((count - this.lastCount) * 1000) / Math.max(1, now - this.lastAtMs);
    this.lastCount = count;
    this.lastAtMs = now;
    process.stderr.write(`\r\x1b[K${this.render(count, rate)}`);
    this.drawn = true;
  }
}
