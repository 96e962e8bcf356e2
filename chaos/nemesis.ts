/**
 * The fault schedule of a run: from a seeded Rng, one fault at a time — healthy gap, fault, heal —
 * until the fault phase ends; then everything is healed (partitions removed, paused brokers resumed,
 * dead brokers restarted).
 *
 * Kinds (--faults):
 *  kill       SIGKILL one broker, restart it 1–4 s later (data untouched)
 *  lazyfs     SIGKILL one broker, cut its files back to what was fsynced (lazyfs.ts), restart
 *  pause      SIGSTOP one broker for longer than broker.session.timeout.ms, then SIGCONT
 *  partition  one of: majority/minority (one node, or two of five, cut off from the rest), bridge
 *             (two halves that both see one bridge node, not each other), one-way (a node stops
 *             receiving from every other node but can still send)
 *  power      (opt-in) SIGKILL every broker at once, lazyfs-cut each one's files, restart them all:
 *             a correlated power loss, where only fsynced data can survive
 * The victim is, half of the time, a broker leading some partition of the workload topic.
 */
import type { ChaosBroker } from './cluster.js';
import type { HistoryWriter } from './history.js';
import type { LazyfsModel } from './lazyfs.js';
import type { Network } from './net.js';
import type { Rng } from './rng.js';

export const FAULT_KINDS = ['kill', 'lazyfs', 'pause', 'partition', 'power'] as const;
/** What --faults defaults to: every kind but `power` (a whole-cluster crash: see docs/CHAOS.md). */
export const DEFAULT_FAULTS: readonly FaultKind[] = ['kill', 'lazyfs', 'pause', 'partition'];
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface NemesisOptions {
  kinds: FaultKind[];
  sessionTimeoutMs: number;
  lazyfsModel: LazyfsModel;
  flushMode: string;
  /** Node ids leading some partition now (best effort; [] if unknown). */
  leaders: () => Promise<number[]>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Nemesis {
  private stopping = false;
  private loop: Promise<void> | null = null;
  private faultId = 0;
  private wakeSleep: (() => void) | null = null;
  readonly counts: Record<string, number> = {};
  /** Kinds, timings, partition shapes: fixed by the seed. */
  private readonly rng: Rng;
  /** Victims: fixed by the seed too, unless the leader-targeting half reads the cluster's leaders. */
  private readonly victims: Rng;
  /** lazyfs cut points. */
  private readonly cuts: Rng;

  constructor(
    private readonly brokers: ChaosBroker[],
    private readonly net: Network,
    rng: Rng,
    private readonly h: HistoryWriter,
    private readonly o: NemesisOptions,
  ) {
    this.rng = rng.fork(1);
    this.victims = rng.fork(2);
    this.cuts = rng.fork(3);
  }

  start(): void {
    this.loop = this.run().catch((err) => {
      this.h.add({ type: 'note', text: `nemesis error: ${(err as Error).stack ?? String(err)}` });
    });
  }

  /** Sleeps, cut short by stop(). */
  private nap(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakeSleep = null;
        resolve();
      }, ms);
      this.wakeSleep = () => {
        clearTimeout(t);
        this.wakeSleep = null;
        resolve();
      };
    });
  }

  private async victim(): Promise<number> {
    const n = this.brokers.length;
    if (this.victims.next() < 0.5) {
      const leaders = await this.o.leaders().catch(() => [] as number[]);
      const alive = leaders.filter((id) => this.brokers[id - 1]?.state === 'running');
      if (alive.length > 0) return this.victims.pick(alive);
    }
    return this.victims.int(1, n);
  }

  private async run(): Promise<void> {
    await this.nap(this.rng.int(2000, 4000));
    while (!this.stopping) {
      const kind = this.rng.pick(this.o.kinds);
      await this.inject(kind);
      if (this.stopping) break;
      await this.nap(this.rng.int(1500, 5000));
    }
  }

  private async inject(kind: FaultKind): Promise<void> {
    const id = ++this.faultId;
    const n = this.brokers.length;
    const all = Array.from({ length: n }, (_, i) => i + 1);
    switch (kind) {
      case 'kill':
      case 'lazyfs': {
        const v = await this.victim();
        const b = this.brokers[v - 1]!;
        this.h.add({ type: 'fault-start', fault: id, kind, nodes: [v], detail: `SIGKILL node ${v}` });
        await b.kill();
        this.h.add({ type: 'broker', node: v, event: 'killed' });
        let detail = '';
        if (kind === 'lazyfs') {
          const r = b.loseUnsynced(this.o.lazyfsModel, this.cuts, this.o.flushMode === 'always');
          detail = `lost ${r.bytesLost} un-fsynced bytes in ${r.files} files`;
          this.h.add({ type: 'broker', node: v, event: 'lazyfs', detail: `${detail}${r.detail.length ? ': ' + r.detail.slice(0, 12).join('; ') : ''}` });
        }
        await sleep(this.rng.int(1000, 4000));
        await this.restart(b);
        this.h.add({ type: 'fault-stop', fault: id, kind, detail: `node ${v} restarted${detail ? ' (' + detail + ')' : ''}` });
        break;
      }
      case 'power': {
        this.h.add({ type: 'fault-start', fault: id, kind, nodes: all, detail: 'SIGKILL every broker (power loss)' });
        await Promise.all(this.brokers.map((b) => b.kill()));
        const lost: string[] = [];
        for (const b of this.brokers) {
          this.h.add({ type: 'broker', node: b.node, event: 'killed' });
          const r = b.loseUnsynced(this.o.lazyfsModel, this.cuts, this.o.flushMode === 'always');
          lost.push(`node ${b.node}: ${r.bytesLost} B in ${r.files} files`);
          this.h.add({ type: 'broker', node: b.node, event: 'lazyfs', detail: `lost ${r.bytesLost} un-fsynced bytes in ${r.files} files${r.detail.length ? ': ' + r.detail.slice(0, 12).join('; ') : ''}` });
        }
        await sleep(this.rng.int(1000, 3000));
        await Promise.all(this.brokers.map((b) => this.restart(b)));
        this.h.add({ type: 'fault-stop', fault: id, kind, detail: `all restarted (lost ${lost.join(', ')})` });
        break;
      }
      case 'pause': {
        const v = await this.victim();
        const b = this.brokers[v - 1]!;
        const ms = this.o.sessionTimeoutMs + this.rng.int(500, 4000);
        this.h.add({ type: 'fault-start', fault: id, kind, nodes: [v], detail: `SIGSTOP node ${v} for ${ms} ms` });
        b.pause();
        await this.nap(ms);
        b.resume();
        this.h.add({ type: 'fault-stop', fault: id, kind, detail: `SIGCONT node ${v}` });
        break;
      }
      case 'partition': {
        const variant = this.rng.pick(['majority-minority', 'bridge', 'one-way'] as const);
        const shuffled = this.rng.shuffle(all);
        let desc = '';
        const nodes: number[] = [];
        if (variant === 'majority-minority') {
          const v = await this.victim();
          const others = shuffled.filter((x) => x !== v);
          const minority = n >= 5 ? [v, others[0]!] : [v];
          const majority = all.filter((x) => !minority.includes(x));
          for (const a of minority) for (const b of majority) this.cutBoth(a, b);
          desc = `{${minority}} | {${majority}}`;
          nodes.push(...minority);
        } else if (variant === 'bridge') {
          const bridge = shuffled[0]!;
          const rest = shuffled.slice(1);
          const half = Math.floor(rest.length / 2);
          const left = rest.slice(0, half);
          const right = rest.slice(half);
          for (const a of left) for (const b of right) this.cutBoth(a, b);
          desc = `{${left}} - ${bridge} - {${right}}`;
          nodes.push(bridge);
        } else {
          const v = await this.victim();
          for (const o of all) if (o !== v) this.net.cut(o, v);
          desc = `node ${v} receives nothing from {${all.filter((x) => x !== v)}} (one-way)`;
          nodes.push(v);
        }
        const ms = this.rng.int(3000, 8000);
        this.h.add({ type: 'fault-start', fault: id, kind, nodes, detail: `${variant} ${desc} for ${ms} ms` });
        await this.nap(ms);
        this.net.healAll();
        this.h.add({ type: 'fault-stop', fault: id, kind, detail: 'healed' });
        break;
      }
    }
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  private cutBoth(a: number, b: number): void {
    this.net.cut(a, b);
    this.net.cut(b, a);
  }

  private async restart(b: ChaosBroker): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await b.start();
        this.h.add({ type: 'broker', node: b.node, event: 'started', detail: `incarnation ${b.incarnation}` });
        return;
      } catch (err) {
        this.h.add({ type: 'broker', node: b.node, event: 'start-failed', detail: (err as Error).message.slice(0, 500) });
        if (attempt >= 3) throw err;
        await sleep(1000);
      }
    }
  }

  /** Stops injecting (after a harness error): heals the network and resumes paused brokers, restarts nothing. */
  async abort(): Promise<void> {
    this.stopping = true;
    this.wakeSleep?.();
    await this.loop;
    this.net.healAll();
    for (const b of this.brokers) if (b.state === 'paused') b.resume();
  }

  /** Ends the fault phase: waits for the fault in progress to finish, then heals everything. */
  async stopAndHeal(): Promise<void> {
    this.stopping = true;
    this.wakeSleep?.();
    await this.loop;
    this.net.healAll();
    for (const b of this.brokers) {
      if (b.state === 'paused') b.resume();
      if (b.state === 'dead') await this.restart(b);
    }
  }
}
