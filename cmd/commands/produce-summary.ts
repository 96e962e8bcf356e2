/**
 * Tally of a `ferry produce` run, rendered to stderr at the end: records acknowledged, the offset
 * range each partition received, and failures grouped by error. Each distinct error is echoed the
 * moment it first happens; later repeats are only counted.
 */

interface PartitionRange {
  first: number;
  last: number;
  count: number;
}

interface ErrorTally {
  code: string;
  firstMessage: string;
  count: number;
}

/** Errors listed individually in the summary; the rest are folded into one line. */
const ERRORS_SHOWN_MAX = 10;

export class ProduceSummary {
  sent = 0;
  acknowledged = 0;
  failed = 0;
  private readonly partitions = new Map<number, PartitionRange>();
  private readonly errors = new Map<string, ErrorTally>();

  /** With acks=0 the broker assigns no offsets we can see, so ranges are not reported. */
  constructor(private readonly fireAndForget: boolean) {}

  ack(partition: number, offset: number): void {
    this.acknowledged++;
    const range = this.partitions.get(partition);
    if (!range) {
      this.partitions.set(partition, { first: offset, last: offset, count: 1 });
      return;
    }
    range.first = Math.min(range.first, offset);
    range.last = Math.max(range.last, offset);
    range.count++;
  }

  fail(code: string, message: string): void {
    this.failed++;
    // Group by code plus the message with line numbers removed, so one cause is one entry.
    const groupKey = `${code}\u0000${message.replace(/^line \d+: /, '')}`;
    const tally = this.errors.get(groupKey);
    if (tally) {
      tally.count++;
      return;
    }
    this.errors.set(groupKey, { code, firstMessage: message, count: 1 });
    process.stderr.write(`ferry: ${code}: ${message}\n`);
  }

  render(topic: string): string {
    const out: string[] = [];
    const verb = this.fireAndForget ? 'sent (acks=0, not acknowledged)' : 'acknowledged';
    out.push(`${this.acknowledged} record(s) ${verb} to topic ${topic}, ${this.failed} failed`);
    if (!this.fireAndForget) {
      for (const [partition, r] of [...this.partitions].sort((a, b) => a[0] - b[0])) {
        out.push(`  partition ${partition}: offsets ${r.first}..${r.last} (${r.count} records)`);
      }
    }
    const errors = [...this.errors.values()].sort((a, b) => b.count - a.count);
    for (const e of errors.slice(0, ERRORS_SHOWN_MAX)) {
      out.push(`  error ${e.code} x${e.count}: ${e.firstMessage}`);
    }
    if (errors.length > ERRORS_SHOWN_MAX) out.push(`  ... and ${errors.length - ERRORS_SHOWN_MAX} more distinct errors`);
    return `${out.join('\n')}\n`;
  }
}
