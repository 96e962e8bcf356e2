// A bounded trace of notable simulation events (faults, elections, ISR changes, truncations), kept
// so a failing seed can print what led up to it. Fetches and produces are too frequent to record.

const TRACE_LINES_MAX = 2_000;

export class Trace {
  private lines: string[] = [];
  constructor(private readonly now: () => number) {}

  add(line: string): void {
    if (this.lines.length >= TRACE_LINES_MAX) this.lines.splice(0, TRACE_LINES_MAX / 2);
    this.lines.push(`t=${this.now()} ${line}`);
  }

  tail(n: number): string[] {
    return this.lines.slice(-n);
  }
}
