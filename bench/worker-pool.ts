/**
 * Parent side of the producer workers: forks N processes of produce-worker.js, waits until all are
 * connected, starts them together, sums their progress for the per-second line, and merges their
 * results. Wall time runs from the start broadcast to the last `done`, so set-up is not measured.
 * Any worker that fails or exits early fails the whole run (its error is reported).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mergeEncoded, newHistogram, type Histogram } from './histogram.js';
import type { ParentMessage, WorkerConfig, WorkerMessage, WorkerResult } from './worker-protocol.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./produce-worker.js', import.meta.url));

export interface PoolResult {
  acked: number;
  failed: number;
  bytes: number;
  /** From the start broadcast to the last worker's `done`. */
  wallMs: number;
  ackHistogram: Histogram;
  workers: Omit<WorkerResult, 'ackHistogram'>[];
  firstError?: string;
}

export class ProducerPool {
  private readonly children: ChildProcess[] = [];
  private readonly progress = new Map<number, number>();

  /** `configs[i]` configures worker i. */
  constructor(private readonly configs: WorkerConfig[]) {}

  /** Records acknowledged so far, summed over workers (updated about once a second). */
  get acked(): number {
    let sum = 0;
    for (const n of this.progress.values()) sum += n;
    return sum;
  }

  /** Forks the workers and resolves when all are ready to send. */
  async prepare(): Promise<void> {
    await Promise.all(
      this.configs.map(
        (config) =>
          new Promise<void>((resolve, reject) => {
            const child = fork(WORKER_SCRIPT, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
            this.children.push(child);
            const onMessage = (m: WorkerMessage) => {
              if (m.type === 'ready') {
                child.off('message', onMessage);
                child.off('exit', onExit);
                resolve();
              } else if (m.type === 'failed') reject(new Error(`producer worker ${config.workerId}: ${m.error}`));
            };
            const onExit = (code: number | null) => reject(new Error(`producer worker ${config.workerId} exited (${code}) before it was ready`));
            child.on('message', onMessage);
            child.once('exit', onExit);
          }),
      ),
    );
  }

  /** Starts every worker and resolves with the merged results once all are done. */
  async run(): Promise<PoolResult> {
    const startMs = performance.now();
    const results = await Promise.all(
      this.children.map(
        (child, i) =>
          new Promise<WorkerResult>((resolve, reject) => {
            const workerId = this.configs[i]!.workerId;
            child.on('message', (m: WorkerMessage) => {
              if (m.type === 'progress') this.progress.set(workerId, m.acked);
              else if (m.type === 'done') {
                this.progress.set(workerId, m.result.acked);
                resolve(m.result);
              } else if (m.type === 'failed') reject(new Error(`producer worker ${workerId}: ${m.error}`));
            });
            child.once('exit', (code) => reject(new Error(`producer worker ${workerId} exited (${code}) before finishing`)));
            child.send({ type: 'start' } satisfies ParentMessage);
          }),
      ),
    );
    const wallMs = performance.now() - startMs;
    const ackHistogram = newHistogram();
    for (const r of results) mergeEncoded(ackHistogram, r.ackHistogram);
    const firstError = results.find((r) => r.firstError !== undefined)?.firstError;
    return {
      acked: results.reduce((s, r) => s + r.acked, 0),
      failed: results.reduce((s, r) => s + r.failed, 0),
      bytes: results.reduce((s, r) => s + r.bytes, 0),
      wallMs,
      ackHistogram,
      workers: results.map(({ ackHistogram: _h, ...rest }) => rest),
      ...(firstError !== undefined ? { firstError } : {}),
    };
  }

  /** Ends every worker still running (they may linger on open gRPC channels after `done`). */
  close(): void {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
  }
}

/** Splits `count` records over `workers` as evenly as possible. */
export function splitCount(count: number, workers: number): number[] {
  const base = Math.floor(count / workers);
  return Array.from({ length: workers }, (_, i) => base + (i < count % workers ? 1 : 0));
}
