/**
 * The bench's heartbeat on stderr: one line per second with the count so far and the rate over the
 * last second, e.g. `[produce 1/3] 1,204,000 msgs  598,112 msg/s`. Plain lines (not redrawn), so a
 * log of the run keeps the whole curve.
 */

const INTERVAL_MS = 1000;

export class ProgressLine {
  private timer: NodeJS.Timeout | undefined;
  private lastCount = 0;
  private lastAt = performance.now();

  constructor(
    private readonly label: string,
    private readonly count: () => number,
    private readonly extra?: () => string,
  ) {}

  start(): this {
    this.lastAt = performance.now();
    this.lastCount = this.count();
    this.timer = setInterval(() => this.tick(), INTERVAL_MS);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const now = performance.now();
    const count = this.count();
    const rate = ((count - this.lastCount) * 1000) / Math.max(1, now - this.lastAt);
    this.lastCount = count;
    this.lastAt = now;
    const extra = this.extra ? `  ${this.extra()}` : '';
    process.stderr.write(`[${this.label}] ${fmtInt(count)} msgs  ${fmtInt(rate)} msg/s${extra}\n`);
  }
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
