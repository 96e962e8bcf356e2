/**
 * The peer bench's results file, `bench/peers/results/peers-<timestamp>.json` (gitignored):
 * machine, versions, options and one entry per *cell* (system × durability mode × workload × value
 * size × rate) with every run's figures and their median/min/max. Rewritten after each cell, so an
 * interrupted bench keeps what it measured. results-md.ts turns one or more of these into
 * RESULTS.md and charts.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { machineInfo, FigureStats, RunResult } from '../report.js';
import type { PeerOptions, WorkloadName } from './options.js';
import type { DurabilityMode, SystemName } from './types.js';

export interface SystemInfo {
  server: string;
  client: string;
}

export interface CellKey {
  system: SystemName;
  mode: DurabilityMode;
  workload: WorkloadName;
  messageSize: number;
  /** e2e only: target values/s. */
  rate?: number;
}

export interface CellResult extends CellKey {
  /** The durability setting in a few words (stated beside every figure). */
  setting: string;
  /** When the system fsyncs in this cell, in a sentence. */
  durability: string;
  /** The setting keeps less than the others in its mode. */
  weaker?: boolean;
  producers: number;
  consumers: number;
  /** Values per run (e2e: rate × seconds). */
  count: number;
  runs: RunResult[];
  summary: Record<string, FigureStats>;
  /** Why the cell was not run (unsupported mode, hook not implemented). */
  skipped?: string;
  /** Why a run failed (the cell keeps the runs that completed). */
  error?: string;
  /** Observations such as "client-bound: producer process at 98% of a core". */
  notes: string[];
}

export interface PeerResultsFile {
  kind: 'ferry-peer-bench';
  formatVersion: 1;
  quick: boolean;
  startedAt: string;
  finishedAt?: string;
  machine: ReturnType<typeof machineInfo>;
  /** Linux distribution (machine.osRelease is the kernel). */
  distribution: string;
  versions: Partial<Record<SystemName, SystemInfo>>;
  options: PeerOptions;
  cells: CellResult[];
}

export function cellKey(c: CellKey): string {
  return `${c.system}/${c.mode}/${c.workload}/${c.messageSize}${c.rate !== undefined ? `/${c.rate}` : ''}`;
}

export async function writeResults(path: string, results: PeerResultsFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(results, null, 2)}\n`);
}

/** Reads result files; later files replace earlier cells with the same key (re-runs of one system). */
export async function readResults(paths: string[]): Promise<PeerResultsFile> {
  const files = await Promise.all(paths.map(async (p) => JSON.parse(await readFile(p, 'utf8')) as PeerResultsFile));
  if (files.length === 0) throw new Error('no results files given');
  const cells = new Map<string, CellResult>();
  const versions: PeerResultsFile['versions'] = {};
  for (const f of files) {
    if (f.kind !== 'ferry-peer-bench') throw new Error('not a peer bench results file');
    for (const c of f.cells) cells.set(cellKey(c), c);
    Object.assign(versions, f.versions);
  }
  const last = files[files.length - 1]!;
  // A merged report spans every run it was built from: first start to last finish.
  const startedAt = files.map((f) => f.startedAt).sort()[0]!;
  const finished = files.map((f) => f.finishedAt).filter((t): t is string => typeof t === 'string').sort();
  const merged: PeerResultsFile = { ...last, startedAt, quick: files.some((f) => f.quick), versions, cells: [...cells.values()] };
  if (finished.length > 0) merged.finishedAt = finished[finished.length - 1]!;
  return merged;
}
