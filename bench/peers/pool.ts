/**
 * Parent side of the peer bench's client processes: forks one peer-worker.js per config, waits
 * until all are ready (connected; a live consumer also subscribed), starts them together and
 * collects their results. Any worker that fails or exits early fails the run. `close()` ends
 * whatever is still running (the parent calls it in every case).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ParentMessage, WorkerConfig, WorkerMessage, WorkerResult } from './worker-protocol.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./peer-worker.js', import.meta.url));
/** A worker that has not connected after this long fails the run. */
const READY_TIMEOUT_MS = 60_000;
/** How long close() waits for a worker to exit by itself before SIGTERM. */
const CLOSE_GRACE_MS = 3_000;

export class WorkerPool {
  private readonly children: ChildProcess[] = [];
  private readonly progress = new Map<number, number>();
  private results: Promise<WorkerResult[]> | undefined;

  constructor(
    private readonly configs: WorkerConfig[],
    private readonly execArgv: string[] = [],
  ) {}

  /** Values acked or read so far by the workers of `role` (updated about once a second). */
  count(role: 'produce' | 'consume'): number {
    let sum = 0;
    this.configs.forEach((c, i) => {
      if (c.role === role) sum += this.progress.get(i) ?? 0;
    });
    return sum;
  }

  /** Forks the workers and resolves when all are ready. */
  async prepare(): Promise<void> {
    const ready = this.configs.map((config, i) => {
      const child = fork(WORKER_SCRIPT, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: this.execArgv });
      this.children.push(child);
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${config.role} worker ${i} not ready after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
        child.on('message', (m: WorkerMessage) => {
          if (m.type === 'ready') {
            clearTimeout(timer);
            resolve();
          } else if (m.type === 'failed') reject(new Error(`${config.role} worker ${i}: ${m.error}`));
        });
        child.once('exit', (code) => reject(new Error(`${config.role} worker ${i} exited (${code}) before it was ready`)));
      });
    });
    // Collected from now on, so a message sent right after `start` is never missed.
    this.results = Promise.all(
      this.children.map(
        (child, i) =>
          new Promise<WorkerResult>((resolve, reject) => {
            child.on('message', (m: WorkerMessage) => {
              if (m.type === 'progress') this.progress.set(i, m.count);
              else if (m.type === 'done') {
                this.progress.set(i, m.result.count);
                resolve(m.result);
              } else if (m.type === 'failed') reject(new Error(`${this.configs[i]!.role} worker ${i}: ${m.error}`));
            });
            child.once('exit', (code) => reject(new Error(`${this.configs[i]!.role} worker ${i} exited (${code}) before finishing`)));
          }),
      ),
    );
    this.results.catch(() => undefined);
    await Promise.all(ready);
  }

  /** Starts every worker at once; resolves with their results, in config order. */
  async run(): Promise<WorkerResult[]> {
    if (!this.results) throw new Error('prepare() first');
    for (const child of this.children) child.send({ type: 'start' } satisfies ParentMessage);
    return this.results;
  }

  /** Lets finished workers close their clients and exit (CPU profiles are written on exit), then ends the rest. */
  async close(): Promise<void> {
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        const timer = setTimeout(() => child.kill('SIGTERM'), CLOSE_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}
