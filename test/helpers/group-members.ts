/**
 * Helpers for consumer-group tests (unit, against the fake GroupService, and integration, against
 * real brokers): a member that records its own assigned/revoked events and processed records with
 * timestamps on one clock, and the ownership checks built from those records.
 */
import { performance } from 'node:perf_hooks';
import { Ferry, type Consumer, type ConsumerOptions, type ConsumerRecord } from '../../src/client/index.js';

export interface OwnershipEvent {
  t: number;
  member: string;
  type: 'assigned' | 'revoked';
  partitions: number[];
  lost: boolean;
}

export interface Processed {
  t: number;
  member: string;
  partition: number;
  offset: number;
}

export class RecordingMember {
  readonly ferry: Ferry;
  readonly consumer: Consumer;
  readonly owned = new Set<number>();
  private running: Promise<void> | null = null;

  constructor(
    readonly name: string,
    bootstrap: string,
    topic: string,
    options: ConsumerOptions,
    readonly events: OwnershipEvent[],
    readonly processed: Processed[],
    private readonly processingDelayMs = 0,
  ) {
    this.ferry = new Ferry({ bootstrap, clientId: name });
    this.consumer = this.ferry.consumer(options);
    this.consumer.on('assigned', (parts) => {
      for (const p of parts) this.owned.add(p.partition);
      events.push({ t: performance.now(), member: name, type: 'assigned', partitions: parts.map((p) => p.partition), lost: false });
    });
    this.consumer.on('revoked', (parts, info) => {
      // Recorded first: from here on the member may no longer process them.
      events.push({ t: performance.now(), member: name, type: 'revoked', partitions: parts.map((p) => p.partition), lost: info.lost });
      for (const p of parts) this.owned.delete(p.partition);
    });
    this.consumer.subscribe({ topics: [topic] });
  }

  run(): void {
    this.running = this.consumer.run({
      eachMessage: async (r: ConsumerRecord) => {
        this.processed.push({ t: performance.now(), member: this.name, partition: r.partition, offset: r.offset });
        if (this.processingDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.processingDelayMs));
      },
    });
    this.running.catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.consumer.close();
    await this.running?.catch(() => undefined);
    await this.ferry.close();
  }
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Interval {
  member: string;
  start: number;
  end: number;
}

/** Per partition, the ownership intervals [assigned, revoked) each member recorded. */
export function ownershipIntervals(events: readonly OwnershipEvent[]): Map<number, Interval[]> {
  const open = new Map<string, number>();
  const out = new Map<number, Interval[]>();
  const push = (p: number, iv: Interval) => {
    if (!out.has(p)) out.set(p, []);
    out.get(p)!.push(iv);
  };
  for (const e of [...events].sort((a, b) => a.t - b.t)) {
    for (const p of e.partitions) {
      const k = `${e.member}/${p}`;
      if (e.type === 'assigned') open.set(k, e.t);
      else {
        const start = open.get(k);
        if (start !== undefined) push(p, { member: e.member, start, end: e.t });
        open.delete(k);
      }
    }
  }
  for (const [k, start] of open) {
    const i = k.lastIndexOf('/');
    push(Number(k.slice(i + 1)), { member: k.slice(0, i), start, end: Infinity });
  }
  return out;
}

/** Descriptions of every moment two members owned one partition (empty = none). */
export function overlaps(events: readonly OwnershipEvent[]): string[] {
  const problems: string[] = [];
  for (const [p, ivs] of ownershipIntervals(events)) {
    const sorted = [...ivs].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      const cur = sorted[i]!;
      if (cur.start < prev.end) problems.push(`partition ${p}: ${prev.member} [${prev.start.toFixed(1)}, ${prev.end.toFixed(1)}) overlaps ${cur.member} from ${cur.start.toFixed(1)}`);
    }
  }
  return problems;
}

/** Processed records that fall outside their member's ownership of the partition. */
export function processedOutsideOwnership(events: readonly OwnershipEvent[], processed: readonly Processed[]): Processed[] {
  const intervals = ownershipIntervals(events);
  return processed.filter((r) => !(intervals.get(r.partition) ?? []).some((iv) => iv.member === r.member && r.t >= iv.start && r.t <= iv.end));
}
