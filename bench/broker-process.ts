/**
 * A broker the bench owns when no --bootstrap is given: `node dist/cmd/ferry.js broker --data-dir
 * <tmp> --port <free> --flush-mode <mode>`, with its output in <tmp>/broker.log. Ready once an admin
 * request succeeds; stopped with SIGTERM (SIGKILL after a grace period) and its directory removed.
 * If it dies or never becomes ready, the error includes the log's tail.
 */
import { freePort } from './free-port.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ferry } from '../src/client/index.js';

const FERRY_CLI = fileURLToPath(new URL('../cmd/ferry.js', import.meta.url));
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
const LOG_TAIL_BYTES = 4000;

export type FlushMode = 'os' | 'interval' | 'always';

/** A cluster member: node id, its port, and the voter list every member gets. */
export interface ClusterMember {
  nodeId: number;
  port: number;
  voters: string;
}

export class BrokerProcess {
  private constructor(
    readonly bootstrap: string,
    readonly dataDir: string,
    private child: ChildProcess,
    private readonly logFile: string,
    private readonly args: string[],
  ) {}

  /** A single node, or (with `member`) one voter of a cluster. */
  static async start(flushMode: FlushMode, member?: ClusterMember): Promise<BrokerProcess> {
    const dataDir = await mkdtemp(join(tmpdir(), 'ferry-bench-'));
    const port = member?.port ?? (await freePort());
    const args = [FERRY_CLI, 'broker', '--data-dir', join(dataDir, 'data'), '--port', String(port), '--flush-mode', flushMode];
    if (member) args.push('--node-id', String(member.nodeId), '--controller-quorum-voters', member.voters);
    const logFile = join(dataDir, 'broker.log');
    const broker = new BrokerProcess(`127.0.0.1:${port}`, dataDir, BrokerProcess.spawn(args, logFile), logFile, args);
    await broker.waitReady();
    return broker;
  }

  private static spawn(args: string[], logFile: string): ChildProcess {
    const logFd = openSync(logFile, 'a');
    const child = spawn(process.execPath, args, { stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    return child;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** SIGKILL, waiting for the exit (failover measurements). */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
  }

  /** Starts the same broker again on its port and data (after kill). */
  async restart(): Promise<void> {
    this.child = BrokerProcess.spawn(this.args, this.logFile);
    await this.waitReady();
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let exited = false;
    this.child.once('exit', () => (exited = true));
    let lastError = '';
    while (Date.now() < deadline && !exited) {
      const probe = new Ferry({ bootstrap: this.bootstrap, requestTimeoutMs: 1000, retry: { retries: 0 } });
      try {
        await probe.admin().listTopics();
        return;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      } finally {
        await probe.close().catch(() => undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await this.stop({ keepDir: true });
    const why = exited ? 'exited during start-up' : `not ready after ${READY_TIMEOUT_MS} ms (${lastError})`;
    throw new Error(`bench broker ${why}; log ${this.logFile}:\n${this.logTail()}`);
  }

  logTail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').slice(-LOG_TAIL_BYTES);
    } catch {
      return '(no log)';
    }
  }

  async stop(opts: { keepDir?: boolean } = {}): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    if (!opts.keepDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}

