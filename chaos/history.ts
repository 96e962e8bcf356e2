/**
 * The history of one chaos run: one JSON object per line, `t` = ms since the run's start. What the
 * checker reads (checker.ts) and the timeline draws (timeline.ts); nothing else is needed to judge a
 * run again later (`npm run chaos -- check FILE`).
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

export type HistoryEvent =
  /** Run parameters, first line. */
  | { t: number; type: 'run'; seed: number; seconds: number; brokers: number; flushMode: string; faults: string[]; network: string; lazyfs: string; topic: string; partitions: number; group: string; idempotent?: boolean }
  /** A producer's send() invoked: `id` is unique in the run and is the record's value. */
  | { t: number; type: 'send'; producer: string; id: string; key: string | null }
  /** The send acknowledged (acks=all) at partition/offset. */
  | { t: number; type: 'ack'; producer: string; id: string; partition: number; offset: number; latencyMs: number }
  /** The send failed: outcome unknown (the record may or may not be in the log). */
  | { t: number; type: 'send-fail'; producer: string; id: string; error: string; latencyMs: number }
  /** A group member processed a record. */
  | { t: number; type: 'deliver'; member: string; partition: number; offset: number; id: string }
  | { t: number; type: 'assigned' | 'revoked'; member: string; partitions: number[]; lost?: boolean }
  /** Commit of `offset` (next offset to consume) invoked / acknowledged / failed. */
  | { t: number; type: 'commit'; member: string; partition: number; offset: number; op: number }
  | { t: number; type: 'commit-ok'; member: string; partition: number; offset: number; op: number }
  | { t: number; type: 'commit-fail'; member: string; partition: number; offset: number; op: number; error: string }
  /** The group's committed offsets as FetchOffsets answered (invoked at `invokedT`). */
  | { t: number; type: 'committed'; invokedT: number; offsets: Array<[number, number]> }
  | { t: number; type: 'fault-start'; fault: number; kind: string; nodes: number[]; detail: string }
  | { t: number; type: 'fault-stop'; fault: number; kind: string; detail: string }
  | { t: number; type: 'broker'; node: number; event: string; detail?: string }
  /** Workload phases: 'faults-end' (healed), 'quiet-end', 'producers-stopped', 'final-read'. */
  | { t: number; type: 'phase'; name: string }
  /** The final read of one partition: the record id at each offset from logStart to the end. */
  | { t: number; type: 'final'; partition: number; logStart: number; end: number; ids: Array<string | null> }
  /** Each partition's leader, replicas and ISR as the cluster described them before the final read. */
  | { t: number; type: 'isr'; partitions: Array<{ partition: number; leader: number; replicas: number[]; isr: number[] }>; full: boolean }
  /** One broker's replica of a partition as its segment files hold it after the run (broker killed). */
  | { t: number; type: 'replica'; node: number; partition: number; start: number; ids: Array<string | null>; stoppedAt: string | null }
  | { t: number; type: 'note'; text: string };

export class HistoryWriter {
  private readonly fd: number;
  private readonly t0: number;
  private buf: string[] = [];

  constructor(readonly path: string, t0 = Date.now()) {
    this.fd = openSync(path, 'w');
    this.t0 = t0;
  }

  now(): number {
    return Date.now() - this.t0;
  }

  /** Appends an event (its `t` is filled in unless given). Buffered; flushed every 1,000 lines. */
  add(e: DistributiveOmit<HistoryEvent, 't'> & { t?: number }): void {
    const ev = { t: e.t ?? this.now(), ...e };
    this.buf.push(JSON.stringify(ev));
    if (this.buf.length >= 1000) this.flush();
  }

  flush(): void {
    if (this.buf.length === 0) return;
    writeSync(this.fd, this.buf.join('\n') + '\n');
    this.buf = [];
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export function readHistory(path: string): HistoryEvent[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as HistoryEvent);
}
