/**
 * Bench results: the final table on stdout and the JSON file.
 *
 * Every run yields named figures (msgs/s, MB/s, latency percentiles in ms); with several runs each
 * figure also gets median, min and max. The JSON carries the machine (CPU model, cores, memory, Node
 * version), every option, per-run figures and details, and the summary, so a result file stands on
 * its own when compared later. MB means 10^6 bytes of record values.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from './options.js';

/** One run's headline numbers, by column label (e.g. 'msgs/s', 'ack p99 ms'). */
export type Figures = Record<string, number>;

export interface RunResult {
  run: number;
  figures: Figures;
  /** Anything else worth keeping: counts, per-worker results, full latency summaries. */
  details: Record<string, unknown>;
}

export interface FigureStats {
  median: number;
  min: number;
  max: number;
}

export interface BenchReport {
  workload: string;
  startedAt: string;
  machine: ReturnType<typeof machineInfo>;
  broker: { managed: boolean; bootstrap: string; flushMode: string; brokers?: number | undefined };
  options: BenchOptions;
  runs: RunResult[];
  summary: Record<string, FigureStats>;
}

export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    totalMemoryBytes: os.totalmem(),
    nodeVersion: process.version,
    platform: process.platform,
    arch: process.arch,
    osRelease: os.release(),
    hostname: os.hostname(),
  };
}

export function summarizeRuns(runs: RunResult[]): Record<string, FigureStats> {
  const summary: Record<string, FigureStats> = {};
  for (const name of Object.keys(runs[0]?.figures ?? {})) {
    const values = runs.map((r) => r.figures[name]!).sort((a, b) => a - b);
    const mid = Math.floor(values.length / 2);
    const median = values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
    summary[name] = { median, min: values[0]!, max: values[values.length - 1]! };
  }
  return summary;
}

export function renderTable(report: BenchReport): string {
  const names = Object.keys(report.summary);
  const rows: string[][] = report.runs.map((r) => [`run ${r.run}`, ...names.map((n) => fmt(r.figures[n]!))]);
  if (report.runs.length > 1) {
    for (const stat of ['median', 'min', 'max'] as const) rows.push([stat, ...names.map((n) => fmt(report.summary[n]![stat]))]);
  }
  const header = ['', ...names];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const o = report.options;
  const title =
    `${report.workload}: ${o.count.toLocaleString('en-US')} x ${o.messageSize} B, ${o.partitions} partitions, acks=${o.acks === -1 ? 'all' : o.acks}${o.idempotent ? ' idempotent' : ''}, ` +
    `${o.producers} producer process(es), flush.mode=${report.broker.flushMode}` +
    (o.rate !== undefined ? `, rate=${o.rate}/s` : '');
  const m = report.machine;
  const machine = `${m.cpuModel}, ${m.cores} cores, ${(m.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, node ${m.nodeVersion}`;
  return [title, machine, '', line(header), line(header.map((_, i) => '-'.repeat(widths[i]!))), ...rows.map(line)].join('\n');
}

function fmt(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString('en-US'); // counts stay counts (0, not 0.000)
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(Math.abs(n) >= 100 ? 1 : 3);
}

/** `bench/results/<workload>-<timestamp>.json` in the repository (dist/bench/ is two levels down). */
export function defaultJsonPath(workload: string, startedAt: Date): string {
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  return join(repoRoot, 'bench', 'results', `${workload}-${stamp}.json`);
}

export async function writeReport(path: string, report: BenchReport): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
}
