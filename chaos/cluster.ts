/**
 * The chaos run's brokers: real `node dist/cmd/ferry.js broker` processes, one per node, started
 * through the Network (inside their namespace, or behind the proxy), each with its stderr appended
 * to `<logDir>/broker-N.log` and parsed for the lifecycle lines the harness waits on. SIGKILL,
 * SIGSTOP/SIGCONT, restart (after lazyfs truncation when asked). Every process is killed on exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loseUnsynced, snapshotSizes, type LazyfsModel, type TruncationReport } from './lazyfs.js';
import type { Network } from './net.js';
import type { Rng } from './rng.js';

const FERRY_CLI = fileURLToPath(new URL('../cmd/ferry.js', import.meta.url));
const START_TIMEOUT_MS = 30_000;

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) {
    try {
      p.kill('SIGCONT');
      p.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
});

export type BrokerState = 'running' | 'paused' | 'dead';

export class ChaosBroker {
  proc: ChildProcess | null = null;
  state: BrokerState = 'dead';
  fenced = true;
  incarnation = 0;
  private baseline = new Map<string, number>();
  private startedWaiter: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private readonly logFile: string;
  /** Last lines, for diagnostics. */
  readonly tail: string[] = [];

  constructor(
    readonly node: number,
    readonly dataDir: string,
    private readonly logDir: string,
    private readonly net: Network,
    private readonly config: Record<string, string>,
    private readonly shim: string | null,
  ) {
    this.logFile = join(logDir, `broker-${node}.log`);
  }

  get fsyncLog(): string {
    return join(this.logDir, `fsync-${this.node}.log`);
  }

  get address(): string {
    return this.net.clientAddress(this.node);
  }

  async start(): Promise<void> {
    if (this.state !== 'dead') throw new Error(`broker ${this.node} is ${this.state}`);
    mkdirSync(this.dataDir, { recursive: true });
    this.baseline = snapshotSizes(this.dataDir);
    writeFileSync(this.fsyncLog, '');
    this.incarnation++;
    const cfg = { ...this.config, ...this.net.brokerConfig(this.node), 'node.id': String(this.node), 'data.dir': this.dataDir };
    const args = [FERRY_CLI, 'broker'];
    for (const [k, v] of Object.entries(cfg)) args.push(`--${k.replace(/\./g, '-')}`, v);
    const { cmd, args: wrapped } = this.net.wrap(this.node, process.execPath, args);
    const env = { ...process.env };
    if (this.shim) {
      env.LD_PRELOAD = this.shim;
      env.CHAOS_FSYNC_LOG = this.fsyncLog;
    }
    appendFileSync(this.logFile, `=== start incarnation ${this.incarnation} at ${new Date().toISOString()}\n`);
    const proc = spawn(cmd, wrapped, { stdio: ['ignore', 'ignore', 'pipe'], env });
    this.proc = proc;
    this.state = 'running';
    this.fenced = true;
    live.add(proc);
    this.net.setPid(this.node, proc.pid);
    const started = new Promise<void>((resolve, reject) => (this.startedWaiter = { resolve, reject }));
    const lines: string[] = [];
    const rl = createInterface({ input: proc.stderr! });
    rl.on('line', (line) => {
      lines.push(line);
      if (lines.length >= 200) appendFileSync(this.logFile, lines.splice(0).join('\n') + '\n');
      this.tail.push(line);
      if (this.tail.length > 50) this.tail.shift();
      if (line.includes('"broker started"')) this.startedWaiter?.resolve();
      else if (line.includes('"broker unfenced by the controller"')) this.fenced = false;
      else if (line.includes('"broker fenced by the controller"') || line.includes('"broker registered with the controller"')) this.fenced = true;
    });
    rl.on('close', () => {
      if (lines.length) appendFileSync(this.logFile, lines.splice(0).join('\n') + '\n');
    });
    proc.on('exit', (code, signal) => {
      live.delete(proc);
      if (this.proc === proc) {
        this.state = 'dead';
        this.net.setPid(this.node, undefined);
      }
      appendFileSync(this.logFile, `=== exit code ${code} signal ${signal}\n`);
      this.startedWaiter?.reject(new Error(`broker ${this.node} exited (code ${code}, signal ${signal}) during start-up: ${this.tail.slice(-5).join('\n')}`));
    });
    const timer = setTimeout(() => this.startedWaiter?.reject(new Error(`broker ${this.node} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    try {
      await started;
    } finally {
      clearTimeout(timer);
      this.startedWaiter = null;
    }
  }

  private waitExit(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => p.once('exit', () => resolve()));
  }

  async kill(): Promise<void> {
    if (!this.proc || this.state === 'dead') return;
    const exited = this.waitExit();
    this.proc.kill('SIGKILL');
    if (this.state === 'paused') this.proc.kill('SIGCONT');
    await exited;
    this.state = 'dead';
  }

  /** lazyfs: lose what was not fsynced. Broker must be dead. */
  loseUnsynced(model: LazyfsModel, rng: Rng, alwaysDurable: boolean): TruncationReport {
    if (this.state !== 'dead') throw new Error('loseUnsynced on a live broker');
    return loseUnsynced(this.dataDir, model, this.baseline, this.fsyncLog, rng, alwaysDurable);
  }

  pause(): void {
    if (this.state !== 'running') return;
    this.proc!.kill('SIGSTOP');
    this.state = 'paused';
  }

  resume(): void {
    if (this.state !== 'paused') return;
    this.proc!.kill('SIGCONT');
    this.state = 'running';
  }

  /** SIGTERM (clean shutdown), SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    if (!this.proc || this.state === 'dead') return;
    this.resume();
    const exited = this.waitExit();
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc?.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  removeData(): void {
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
