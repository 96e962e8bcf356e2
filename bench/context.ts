/**
 * What every workload gets from run.ts (options, the broker address, one client for admin and
 * consuming) and the small steps they share: creating a fresh topic per run and configuring the
 * producer workers.
 */
import type { Ferry } from '../src/client/index.js';
import type { BenchOptions } from './options.js';
import { splitCount } from './worker-pool.js';
import type { WorkerConfig } from './worker-protocol.js';

export interface BenchContext {
  opts: BenchOptions;
  bootstrap: string;
  ferry: Ferry;
}

/**
 * Unacknowledged bytes a worker allows (at least 1,000 records). Enough to keep several produce
 * requests in flight; more only keeps more promises alive, which costs garbage-collection time.
 */
const OUTSTANDING_BYTES_MAX = 8 * 2 ** 20;

/** A new topic named for the workload, run and time, so runs never read each other's data. */
export async function createBenchTopic(ctx: BenchContext, run: number): Promise<string> {
  const name = `bench-${ctx.opts.workload}-${Date.now().toString(36)}-${run}`;
  const rf = ctx.opts.replicationFactor ?? (ctx.opts.bootstrap === undefined ? ctx.opts.brokers : undefined);
  await ctx.ferry.admin().createTopics([{ name, partitions: ctx.opts.partitions, ...(rf !== undefined ? { replicationFactor: rf } : {}) }]);
  return name;
}

export function workerConfigs(ctx: BenchContext, topic: string, opts: { stamp: boolean; count?: number }): WorkerConfig[] {
  const o = ctx.opts;
  const counts = splitCount(opts.count ?? o.count, o.producers);
  const outstandingMax = Math.max(1000, Math.floor(OUTSTANDING_BYTES_MAX / o.messageSize));
  return counts.map((count, workerId) => ({
    workerId,
    bootstrap: ctx.bootstrap,
    topic,
    count,
    messageSize: o.messageSize,
    acks: o.acks,
    idempotent: o.idempotent,
    stamp: opts.stamp,
    outstandingMax,
    api: o.api,
    chunk: o.chunk,
    ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
    ...(o.lingerMs !== undefined ? { lingerMs: o.lingerMs } : {}),
    ...(o.rate !== undefined ? { ratePerSec: o.rate / o.producers } : {}),
  }));
}

export function partitionIds(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

export function perSecond(n: number, ms: number): number {
  return ms > 0 ? (n * 1000) / ms : 0;
}

/** Rounds a figure for the report: rates to integers, MB/s to 3 decimals. */
export function round(n: number, decimals = 0): number {
  const f = 10 ** decimals;
  return Math.round(n * f) / f;
}
