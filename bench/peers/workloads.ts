/**
 * The workloads, the same for every system; each run gets fresh targets and deletes them after.
 *
 * - produce / produce2: 1 or 2 producer processes send `count` values as fast as a window of
 *   unacknowledged values allows. msgs/s over the wall time from the start signal to the last ack;
 *   ack latency per chunk call.
 * - consume: `count` values are written first (not timed), then one consumer process reads them all
 *   from the first record. consume-cold also syncs and drops the page cache before reading.
 * - e2e: a consumer and `e2eProducers` paced producers run together at a fixed total rate for
 *   `e2eWarmupSeconds` + `e2eSeconds`; latency = receipt − scheduled send time, for values sent
 *   after the warm-up (worker-protocol.ts, peer-worker.ts). msgs/s is the rate achieved overall.
 *
 * Around every measured phase the server's process-tree CPU time is sampled (cpu.ts); clients
 * report their own. A client process near 100% of a core is noted as the bottleneck.
 */
import { writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { round } from '../context.js';
import { mergeEncoded, newHistogram, summarize, type Histogram } from '../histogram.js';
import { ProgressLine } from '../progress.js';
import type { Figures, RunResult } from '../report.js';
import { treeCpuSeconds } from './cpu.js';
import type { PeerOptions, WorkloadName } from './options.js';
import { WorkerPool } from './pool.js';
import type { ClientConfig, PeerAdmin, PeerSystem, ServerHandle } from './types.js';
import type { ConsumerConfig, ProducerConfig, WorkerResult } from './worker-protocol.js';
import { splitCount } from '../worker-pool.js';

/** Unacknowledged bytes a producer allows (at least 1,000 values), as in the Ferry bench. */
const OUTSTANDING_BYTES_MAX = 8 * 2 ** 20;
/** A consumer that receives nothing for this long ends the run as stalled. */
const IDLE_TIMEOUT_MS = 30_000;
/** A client process above this share of one core is reported as the bottleneck. */
const CLIENT_BOUND_SHARE = 0.85;
/** e2e: below this share of the target rate the rate counts as not sustained. */
const SUSTAINED_SHARE = 0.95;
/** Percentiles kept for latency charts. */
export const CHART_PERCENTILES = [50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100];

export interface CellContext {
  opts: PeerOptions;
  system: PeerSystem;
  server: ServerHandle;
  admin: PeerAdmin;
  client: ClientConfig;
  /** Node flags for client workers (CPU profiling of Ferry's SDK). */
  workerExecArgv: string[];
}

export interface CellRun {
  result: RunResult;
  notes: string[];
}

let targetSerial = 0;
function targetBase(workload: WorkloadName, size: number, run: number): string {
  return `bench-${workload}-${size}-${Date.now().toString(36)}${(targetSerial++).toString(36)}-${run}`;
}

function producerConfigs(ctx: CellContext, targets: string[], size: number, total: number, producers: number, totalRate?: number): ProducerConfig[] {
  return splitCount(total, producers).map((count, workerId) => ({
    role: 'produce',
    workerId,
    system: ctx.system.name,
    client: ctx.client,
    targets,
    count,
    messageSize: size,
    chunk: ctx.opts.chunk,
    outstandingMax: Math.max(1000, Math.floor(OUTSTANDING_BYTES_MAX / size)),
    ...(totalRate !== undefined ? { ratePerSec: totalRate / producers } : {}),
  }));
}

function consumerConfig(ctx: CellContext, targets: string[], expected: number, live: boolean, workerId: number): ConsumerConfig {
  const warmupMs = live ? ctx.opts.e2eWarmupSeconds * 1000 : 0;
  return { role: 'consume', workerId, system: ctx.system.name, client: ctx.client, targets, expected, live, stamped: live, warmupMs, idleTimeoutMs: IDLE_TIMEOUT_MS };
}

interface Measured {
  results: WorkerResult[];
  wallMs: number;
  serverCpuS: number;
}

/** Prepares the pool, then measures from the start broadcast until every worker is done. */
async function measure(ctx: CellContext, pool: WorkerPool, label: string, role: 'produce' | 'consume'): Promise<Measured> {
  await pool.prepare();
  const progress = new ProgressLine(label, () => pool.count(role)).start();
  try {
    const cpu0 = treeCpuSeconds(ctx.server.pid);
    const t0 = performance.now();
    const results = await pool.run();
    const wallMs = performance.now() - t0;
    return { results, wallMs, serverCpuS: treeCpuSeconds(ctx.server.pid) - cpu0 };
  } finally {
    progress.stop();
  }
}

function cpuFigures(m: Measured, values: number, elapsedMs: number): Figures {
  const clientCpuS = m.results.reduce((s, r) => s + r.cpuSeconds, 0);
  return {
    'server CPU s': round(m.serverCpuS, 2),
    'client CPU s': round(clientCpuS, 2),
    'server µs/msg': values > 0 ? round((m.serverCpuS * 1e6) / values, 2) : NaN,
    'client µs/msg': values > 0 ? round((clientCpuS * 1e6) / values, 2) : NaN,
    'server cores': elapsedMs > 0 ? round(m.serverCpuS / (elapsedMs / 1000), 2) : NaN,
  };
}

function clientBoundNotes(results: WorkerResult[]): string[] {
  const notes: string[] = [];
  for (const r of results) {
    const share = r.elapsedMs > 0 ? r.cpuSeconds / (r.elapsedMs / 1000) : 0;
    if (share >= CLIENT_BOUND_SHARE) notes.push(`client-bound: ${r.role === 'produce' ? 'producer' : 'consumer'} process ${r.workerId} at ${Math.round(share * 100)}% of a core`);
  }
  return notes;
}

function mergedHistogram(results: WorkerResult[]): Histogram {
  const h = newHistogram();
  for (const r of results) mergeEncoded(h, r.histogram);
  return h;
}

function percentileSeries(h: Histogram): { p: number; ms: number }[] {
  return CHART_PERCENTILES.map((p) => ({ p, ms: (p === 100 ? h.maxValue : h.getValueAtPercentile(p)) / 1000 }));
}

function failures(results: WorkerResult[]): string | undefined {
  const failed = results.reduce((s, r) => s + r.failed, 0);
  const first = results.find((r) => r.firstError !== undefined)?.firstError;
  if (failed > 0) return `${failed} values failed (first: ${first})`;
  const stalled = results.find((r) => !r.complete);
  return stalled ? (stalled.firstError ?? 'incomplete') : undefined;
}

export async function runProduce(ctx: CellContext, size: number, producers: number, run: number, label: string): Promise<CellRun> {
  const targets = await ctx.admin.createTargets(targetBase(producers > 1 ? 'produce2' : 'produce', size, run));
  const pool = new WorkerPool(producerConfigs(ctx, targets, size, ctx.opts.count, producers), ctx.workerExecArgv);
  try {
    const m = await measure(ctx, pool, label, 'produce');
    const problem = failures(m.results);
    if (problem) throw new Error(problem);
    const acked = m.results.reduce((s, r) => s + r.count, 0);
    const bytes = m.results.reduce((s, r) => s + r.bytes, 0);
    const ack = summarize(mergedHistogram(m.results));
    return {
      result: {
        run,
        figures: {
          'msgs/s': round((acked * 1000) / m.wallMs),
          'MB/s': round((bytes * 1000) / m.wallMs / 1e6, 3),
          'ack p50 ms': ack.p50Ms,
          'ack p99 ms': ack.p99Ms,
          'ack p99.9 ms': ack.p999Ms,
          ...cpuFigures(m, acked, m.wallMs),
        },
        details: { acked, bytes, wallMs: round(m.wallMs, 3), ackLatency: ack, workers: m.results.map(({ histogram: _h, ...rest }) => rest) },
      },
      notes: clientBoundNotes(m.results),
    };
  } finally {
    await pool.close();
    await ctx.admin.deleteTargets(targets).catch(() => undefined);
  }
}

export async function runConsume(ctx: CellContext, size: number, run: number, label: string, cold: boolean): Promise<CellRun> {
  const targets = await ctx.admin.createTargets(targetBase(cold ? 'consume-cold' : 'consume', size, run));
  const writers = new WorkerPool(producerConfigs(ctx, targets, size, ctx.opts.count, 1), ctx.workerExecArgv);
  const reader = new WorkerPool([consumerConfig(ctx, targets, ctx.opts.count, false, 0)], ctx.workerExecArgv);
  try {
    const written = await measure(ctx, writers, `${label} pre-writing`, 'produce');
    await writers.close();
    const problem = failures(written.results);
    if (problem) throw new Error(`pre-writing: ${problem}`);
    if (cold) await dropPageCache();
    const m = await measure(ctx, reader, label, 'consume');
    const r = m.results[0]!;
    if (!r.complete) throw new Error(r.firstError ?? 'consumer incomplete');
    return {
      result: {
        run,
        figures: {
          'msgs/s': round((r.count * 1000) / r.elapsedMs),
          'MB/s': round((r.bytes * 1000) / r.elapsedMs / 1e6, 3),
          ...cpuFigures(m, r.count, r.elapsedMs),
        },
        details: { read: r.count, bytes: r.bytes, elapsedMs: round(r.elapsedMs, 3), worker: { ...r, histogram: undefined } },
      },
      notes: [...clientBoundNotes(m.results), ...(cold ? ['page cache dropped before reading (sync; drop_caches=3); in-process caches of the server are not'] : [])],
    };
  } finally {
    await writers.close();
    await reader.close();
    await ctx.admin.deleteTargets(targets).catch(() => undefined);
  }
}

export async function runE2e(ctx: CellContext, size: number, rate: number, run: number, label: string): Promise<CellRun> {
  const total = Math.round(rate * (ctx.opts.e2eWarmupSeconds + ctx.opts.e2eSeconds));
  const targets = await ctx.admin.createTargets(targetBase('e2e', size, run));
  const producers = producerConfigs(ctx, targets, size, total, ctx.opts.e2eProducers, rate).map((c, i) => ({ ...c, workerId: i + 1 }));
  // The consumer first: it subscribes before the producers send anything.
  const pool = new WorkerPool([consumerConfig(ctx, targets, total, true, 0), ...producers], ctx.workerExecArgv);
  try {
    const m = await measure(ctx, pool, label, 'consume');
    const [consumer, ...sent] = m.results as [WorkerResult, ...WorkerResult[]];
    const problem = failures(sent);
    if (problem) throw new Error(problem);
    const e2e = mergedHistogram([consumer]);
    const lat = summarize(e2e);
    const ack = summarize(mergedHistogram(sent));
    const achieved = consumer.elapsedMs > 0 ? (consumer.count * 1000) / consumer.elapsedMs : 0;
    const notes = clientBoundNotes(m.results);
    if (!consumer.complete) notes.push(`consumer stalled: ${consumer.count} of ${total} values received`);
    if (achieved < rate * SUSTAINED_SHARE || !consumer.complete) notes.push(`rate not sustained: ${Math.round(achieved).toLocaleString('en-US')} of ${rate.toLocaleString('en-US')} msgs/s`);
    return {
      result: {
        run,
        figures: {
          'msgs/s': round(achieved),
          'e2e p50 ms': lat.p50Ms,
          'e2e p99 ms': lat.p99Ms,
          'e2e p99.9 ms': lat.p999Ms,
          'e2e max ms': lat.maxMs,
          'ack p99 ms': ack.p99Ms,
          sustained: achieved >= rate * SUSTAINED_SHARE && consumer.complete ? 1 : 0,
          ...cpuFigures(m, consumer.count, consumer.elapsedMs),
        },
        details: {
          sent: sent.reduce((s, r) => s + r.count, 0),
          received: consumer.count,
          elapsedMs: round(consumer.elapsedMs, 3),
          e2eLatency: lat,
          percentiles: percentileSeries(e2e),
          ackLatency: ack,
          workers: m.results.map(({ histogram: _h, ...rest }) => rest),
        },
      },
      notes,
    };
  } finally {
    await pool.close();
    await ctx.admin.deleteTargets(targets).catch(() => undefined);
  }
}

/** Writes dirty pages and drops the page cache, so the consumer reads from disk. Needs root. */
async function dropPageCache(): Promise<void> {
  execFileSync('sync');
  try {
    await writeFile('/proc/sys/vm/drop_caches', '3\n');
  } catch (err) {
    throw new Error(`consume-cold needs to write /proc/sys/vm/drop_caches (root): ${err instanceof Error ? err.message : String(err)}`);
  }
}
