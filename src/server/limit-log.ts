/**
 * Warnings for a limit being hit, at most one per interval per limit: a flood of refused requests
 * must not become a flood of log lines (logging is work and memory too). Each line names the peer
 * that hit the limit this time and how many refusals were not logged since the previous line.
 */
import type { Logger } from 'pino';

const DEFAULT_INTERVAL_MS = 1_000;

export class LimitLog {
  private lastAt = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly limit: string,
    private readonly intervalMs = DEFAULT_INTERVAL_MS,
  ) {}

  hit(peer: string, fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    if (now - this.lastAt < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.logger.warn({ limit: this.limit, peer, ...fields, suppressedSinceLast: this.suppressed }, msg);
    this.lastAt = now;
    this.suppressed = 0;
  }
}
