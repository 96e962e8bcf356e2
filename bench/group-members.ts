/**
 * Parent side of the `group` bench's member processes: forks group-member-worker.js per member,
 * follows what each reports (fork/ready/subscribe/join times, owned partitions from its own
 * assigned/revoked events, received keys in a KeyLedger) and answers the questions the workload
 * asks: is the assignment stable, who owns what, how many records arrived. A member that exits
 * without being stopped or killed by us fails the run, since its figures would be meaningless.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KeyLedger } from './group-ledger.js';
import { monoMs, type MemberConfig, type MemberMessage, type MemberParentMessage } from './group-protocol.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./group-member-worker.js', import.meta.url));
/** Longest a member may take to commit, leave and exit after `stop` before it is killed. */
const STOP_GRACE_MS = 15_000;

export interface MemberEvent {
  atMs: number;
  type: 'assigned' | 'revoked' | 'lost' | 'joined' | 'killed' | 'warn' | 'error';
  partitions?: number[];
  detail?: string;
}

export class Member {
  readonly child: ChildProcess;
  readonly forkedAtMs = monoMs();
  readyAtMs?: number;
  subscribingAtMs?: number;
  joinedAtMs?: number;
  firstBatchAtMs?: number;
  lastBatchAtMs?: number;
  readonly owned = new Set<number>();
  readonly ledger = new KeyLedger();
  readonly events: MemberEvent[] = [];
  /** Set when we SIGKILL it or ask it to stop; any other exit is a failure. */
  expectedExit = false;
  exited = false;
  failure?: string;
  /** Called for every batch (the workload times first records per partition with it). */
  onBatch?: (member: Member, partition: number, atMs: number) => void;
  private readonly ready: Promise<void>;
  private readonly exit: Promise<void>;

  constructor(readonly config: MemberConfig) {
    this.child = fork(WORKER_SCRIPT, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let onReady!: () => void;
    this.ready = new Promise<void>((resolve) => (onReady = resolve));
    this.exit = new Promise<void>((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exited = true;
        if (!this.expectedExit) this.failure ??= `member ${config.name} exited unexpectedly (code ${code}, signal ${signal})`;
        onReady(); // a ready() waiter sees `failure`
        resolve();
      }),
    );
    this.child.on('message', (m: MemberMessage) => this.onMessage(m, onReady));
  }

  get name(): string {
    return this.config.name;
  }

  get alive(): boolean {
    return !this.exited && !this.expectedExit;
  }

  private onMessage(m: MemberMessage, onReady: () => void): void {
    switch (m.type) {
      case 'ready':
        this.readyAtMs = m.atMs;
        onReady();
        break;
      case 'subscribing':
        this.subscribingAtMs = m.atMs;
        break;
      case 'joined':
        this.joinedAtMs ??= m.atMs;
        this.events.push({ atMs: m.atMs, type: 'joined', detail: m.memberId });
        break;
      case 'assigned':
        for (const p of m.partitions) this.owned.add(p);
        this.events.push({ atMs: m.atMs, type: 'assigned', partitions: m.partitions });
        break;
      case 'revoked':
        for (const p of m.partitions) this.owned.delete(p);
        this.events.push({ atMs: m.atMs, type: m.lost ? 'lost' : 'revoked', partitions: m.partitions });
        break;
      case 'batch':
        this.firstBatchAtMs ??= m.atMs;
        this.lastBatchAtMs = m.atMs;
        this.ledger.add(m.partition, m.ranges);
        this.onBatch?.(this, m.partition, m.atMs);
        break;
      case 'log':
        this.events.push({ atMs: m.atMs, type: m.level, detail: `${m.msg} ${JSON.stringify(m.obj)}` });
        process.stderr.write(`  [${this.name}] ${m.level}: ${m.msg} ${JSON.stringify(m.obj)}\n`);
        break;
      case 'failed':
        this.failure ??= `member ${this.name} failed: ${m.error}`;
        break;
      case 'stopped':
        break;
    }
  }

  /** Resolves once the worker has built its client (or has died: check `failure`). */
  async whenReady(): Promise<void> {
    await this.ready;
    if (this.failure) throw new Error(this.failure);
  }

  start(): void {
    this.child.send({ type: 'start' } satisfies MemberParentMessage);
  }

  /** SIGKILL now; returns the monotonic time just before the signal. */
  kill(): number {
    this.expectedExit = true;
    const atMs = monoMs();
    this.child.kill('SIGKILL');
    this.events.push({ atMs, type: 'killed' });
    return atMs;
  }

  /** Graceful stop (commit, leave); SIGKILL if it takes longer than the grace period. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.expectedExit = true;
    if (this.child.connected) this.child.send({ type: 'stop' } satisfies MemberParentMessage);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exit;
    clearTimeout(timer);
  }
}

/** The members of one group in one run. */
export class MemberSet {
  readonly members: Member[] = [];

  constructor(private readonly base: Omit<MemberConfig, 'name' | 'waitForStart'>) {}

  spawn(name: string, waitForStart: boolean): Member {
    const m = new Member({ ...this.base, name, waitForStart });
    this.members.push(m);
    return m;
  }

  live(): Member[] {
    return this.members.filter((m) => m.alive);
  }

  /** Records received by all members, every copy counted. */
  received(): number {
    return this.members.reduce((n, m) => n + m.ledger.count, 0);
  }

  /** Throws the first failure of a member that died on its own. */
  check(): void {
    const failed = this.members.find((m) => m.failure !== undefined);
    if (failed) throw new Error(failed.failure);
  }

  /**
   * Every partition owned by exactly one live member and the live members balanced (each holds at
   * least floor(partitions / members)): the group has converged, not just paused mid-handover.
   */
  stable(partitions: number): boolean {
    const live = this.live();
    if (live.length === 0) return false;
    const seen = new Set<number>();
    for (const m of live) {
      if (m.owned.size < Math.floor(partitions / live.length)) return false;
      for (const p of m.owned) {
        if (seen.has(p)) return false;
        seen.add(p);
      }
    }
    return seen.size === partitions;
  }

  owners(): string {
    return this.live()
      .map((m) => `${m.name}:[${[...m.owned].sort((a, b) => a - b).join(',')}]`)
      .join(' ');
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }
}

/** Polls `cond` every 50 ms (member failures abort); false after `timeoutMs`. */
export async function waitUntil(set: MemberSet, cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = monoMs() + timeoutMs;
  while (!cond()) {
    set.check();
    if (monoMs() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

export function ledgers(members: readonly Member[]) {
  return members.map((m) => m.ledger);
}

/** Every member's events, relative to `t0`, for the JSON details. */
export function timeline(members: readonly Member[], t0: number) {
  return members
    .flatMap((m) => m.events.map((e) => ({ member: m.name, ...e, atMs: Math.round((e.atMs - t0) * 10) / 10 })))
    .sort((a, b) => a.atMs - b.atMs);
}
