/**
 * Entry of `npm run bench:peers -- [options]` (compiled to dist/bench/peers/run.js; `npm run build`
 * first). For each system and durability mode: starts the server (servers.ts), runs every selected
 * workload × value size (× rate) `--runs` times, stops the server, and rewrites the results JSON
 * after each cell. Then writes RESULTS.md and charts (results-md.ts): into bench/ for a full run,
 * into the gitignored results folder for `--quick`. Progress on stderr, a summary on stdout.
 * Every server it started is stopped on success, on error and on Ctrl-C / SIGTERM.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo, summarizeRuns } from '../report.js';
import { parsePeerArgs, type PeerOptions, type WorkloadName } from './options.js';
import { cellKey, writeResults, type CellKey, type CellResult, type PeerResultsFile } from './results.js';
import { writeReport } from './results-md.js';
import { stopAllServers } from './servers.js';
import { distribution, ensurePeersInstalled, systemInfo } from './setup.js';
import { loadSystem } from './systems.js';
import type { DurabilityMode, PeerSystem, SystemName } from './types.js';
import { runConsume, runE2e, runProduce, type CellContext, type CellRun } from './workloads.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const RESULTS_DIR = join(REPO_ROOT, 'bench', 'peers', 'results');

/** The cells of one system in one mode, in run order. */
function cellsFor(opts: PeerOptions, system: SystemName, mode: DurabilityMode): CellKey[] {
  const keys: CellKey[] = [];
  for (const workload of opts.workloads) {
    for (const messageSize of opts.sizes) {
      if (workload === 'e2e') for (const rate of opts.rates) keys.push({ system, mode, workload, messageSize, rate });
      else keys.push({ system, mode, workload, messageSize });
    }
  }
  return keys;
}

function shape(opts: PeerOptions, key: CellKey): { producers: number; consumers: number; count: number } {
  switch (key.workload) {
    case 'produce':
      return { producers: 1, consumers: 0, count: opts.count };
    case 'produce2':
      return { producers: 2, consumers: 0, count: opts.count };
    case 'consume':
    case 'consume-cold':
      return { producers: 0, consumers: 1, count: opts.count };
    case 'e2e':
      return { producers: opts.e2eProducers, consumers: 1, count: Math.round((key.rate ?? 0) * (opts.e2eWarmupSeconds + opts.e2eSeconds)) };
  }
}

function runOne(ctx: CellContext, key: CellKey, run: number, label: string): Promise<CellRun> {
  const workload: WorkloadName = key.workload;
  switch (workload) {
    case 'produce':
      return runProduce(ctx, key.messageSize, 1, run, label);
    case 'produce2':
      return runProduce(ctx, key.messageSize, 2, run, label);
    case 'consume':
      return runConsume(ctx, key.messageSize, run, label, false);
    case 'consume-cold':
      return runConsume(ctx, key.messageSize, run, label, true);
    case 'e2e':
      return runE2e(ctx, key.messageSize, key.rate!, run, label);
  }
}

async function runSystemMode(opts: PeerOptions, system: PeerSystem, mode: DurabilityMode, record: (c: CellResult) => Promise<void>): Promise<void> {
  const durability = system.durability(mode, { redisRelaxed: opts.redisRelaxed });
  const keys = cellsFor(opts, system.name, mode);
  const base = (key: CellKey): CellResult => ({
    ...key,
    setting: durability.setting,
    durability: durability.description,
    ...(durability.weaker || durability.weakerIn?.workloads.includes(key.workload) ? { weaker: true } : {}),
    ...shape(opts, key),
    runs: [],
    summary: {},
    notes: [],
  });
  if (!durability.supported) {
    process.stderr.write(`${system.name} ${mode}: skipped (${durability.description})\n`);
    for (const key of keys) await record({ ...base(key), skipped: durability.description });
    return;
  }
  const profiling = opts.profileFerry !== undefined && system.name.startsWith('ferry');
  const profArgs = profiling ? ['--cpu-prof', '--cpu-prof-dir', resolve(opts.profileFerry!)] : [];
  if (profiling) await mkdir(resolve(opts.profileFerry!), { recursive: true });
  process.stderr.write(`${system.name} ${mode}: starting server (${durability.description})...\n`);
  const server = await system.startServer(mode, { nodeArgs: profArgs, redisRelaxed: opts.redisRelaxed });
  process.stderr.write(`${system.name} at ${server.endpoint} (pid ${server.pid}), data in ${server.dataDir}\n`);
  const client = { endpoint: server.endpoint, mode, partitions: opts.partitions, ...(opts.ferryE2eLingerMs !== undefined ? { ferryE2eLingerMs: opts.ferryE2eLingerMs } : {}),
    ...(opts.ferryConsumerTransport !== undefined ? { ferryConsumerTransport: opts.ferryConsumerTransport } : {}) };
  const admin = await system.openAdmin(client);
  const ctx: CellContext = { opts, system, server, admin, client, workerExecArgv: profArgs };
  try {
    for (const key of keys) {
      const cell = base(key);
      const runNotes: string[][] = [];
      for (let run = 1; run <= opts.runs; run++) {
        const label = `${cellKey(key)} ${run}/${opts.runs}`;
        try {
          const { result, notes } = await runOne(ctx, key, run, label);
          cell.runs.push(result);
          runNotes.push(notes);
          const f = result.figures;
          process.stderr.write(`${label}: ${Object.entries(f).map(([k, v]) => `${k}=${v}`).join('  ')}\n`);
        } catch (err) {
          cell.error = err instanceof Error ? err.message : String(err);
          process.stderr.write(`${label}: FAILED: ${cell.error}\n`);
          break;
        }
      }
      cell.summary = summarizeRuns(cell.runs);
      cell.notes = mergeNotes(runNotes);
      if (durability.weakerIn?.workloads.includes(key.workload)) cell.notes.unshift(durability.weakerIn.why);
      await record(cell);
    }
  } finally {
    await admin.close().catch(() => undefined);
    await server.stop();
    process.stderr.write(`${system.name} ${mode}: server stopped\n`);
  }
}

/**
 * One line per observation over all runs of a cell: "client-bound: producer process 0 at 97% of a
 * core" from three runs becomes "... at up to 99% of a core (3 of 3 runs)".
 */
function mergeNotes(runNotes: string[][]): string[] {
  const runs = runNotes.length;
  const groups = new Map<string, { count: number; share: number }>();
  const order: string[] = [];
  for (const notes of runNotes) {
    for (const note of notes) {
      const m = /^(.*) at (\d+)% of a core$/.exec(note);
      const key = m ? m[1]! : note.replace(/: [\d,]+ of [\d,]+ msgs\/s$/, '');
      const g = groups.get(key) ?? { count: 0, share: 0 };
      if (!groups.has(key)) order.push(key);
      g.count++;
      g.share = Math.max(g.share, m ? Number(m[2]) : 0);
      groups.set(key, g);
    }
  }
  if (runs === 1) return runNotes[0] ?? [];
  return order.map((key) => {
    const g = groups.get(key)!;
    return `${key}${g.share > 0 ? ` at up to ${g.share}% of a core` : ''} (${g.count} of ${runs} runs)`;
  });
}

function summaryLine(c: CellResult): string {
  const name = cellKey(c).padEnd(34);
  if (c.skipped) return `${name} skipped: ${c.skipped}`;
  const s = c.summary;
  const fig = (k: string, unit = '') => (s[k] ? `${k} ${s[k].median.toLocaleString('en-US')}${unit}` : '');
  const parts = [fig('msgs/s'), fig(c.workload === 'e2e' ? 'e2e p99 ms' : 'ack p99 ms'), fig('server CPU s'), fig('client CPU s')].filter(Boolean);
  return `${name} ${parts.join('  ')}${c.error ? `  ERROR: ${c.error}` : ''}${c.notes.length ? `  [${c.notes.join('; ')}]` : ''}`;
}

async function main(): Promise<void> {
  const opts = parsePeerArgs(process.argv.slice(2), RESULTS_DIR);
  const onSignal = (signal: string) => {
    process.stderr.write(`\n${signal}: stopping servers...\n`);
    void stopAllServers().finally(() => process.exit(130));
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));

  await ensurePeersInstalled(opts.systems, opts.install);
  const systems = await Promise.all(opts.systems.map(loadSystem));
  const startedAt = new Date();
  const results: PeerResultsFile = {
    kind: 'ferry-peer-bench',
    formatVersion: 1,
    quick: opts.quick,
    startedAt: startedAt.toISOString(),
    machine: machineInfo(),
    distribution: await distribution(),
    versions: Object.fromEntries(await Promise.all(systems.map(async (s) => [s.name, await systemInfo(s)] as const))),
    options: opts,
    cells: [],
  };
  const path = join(resolve(opts.out), `peers-${opts.quick ? 'quick-' : ''}${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const record = async (cell: CellResult) => {
    results.cells.push(cell);
    await writeResults(path, results);
  };
  try {
    for (const system of systems) {
      for (const mode of opts.modes) await runSystemMode(opts, system, mode, record);
    }
  } finally {
    await stopAllServers();
  }
  results.finishedAt = new Date().toISOString();
  await writeResults(path, results);
  process.stdout.write(`\n${results.cells.map(summaryLine).join('\n')}\n\nresults: ${path}\n`);
  if (opts.report) {
    const outDir = opts.quick ? join(resolve(opts.out), 'quick-report') : join(REPO_ROOT, 'bench');
    const written = await writeReport(results, outDir);
    process.stdout.write(`report: ${written.markdown} (${written.charts.length} charts)\n`);
  }
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    process.stderr.write(`bench:peers: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopAllServers();
    process.exit(1);
  },
);
