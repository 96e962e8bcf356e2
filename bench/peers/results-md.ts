/**
 * Turns peer bench results (results.ts) into `RESULTS.md` plus SVG charts in `charts/` beside it:
 * machine, versions, how it was measured, durability settings, per-mode tables (median of the runs
 * with min–max, server and client CPU, the durability setting beside every figure, Ferry's ratio to
 * each peer), throughput bar charts, e2e latency percentile charts, a Ferry-vs-peers summary and
 * what was not covered. A quick (smoke) run gets a banner saying its figures mean nothing.
 *
 * Also runnable on saved results: `node dist/bench/peers/results-md.js FILE.json [FILE2.json ...]
 * [--out-dir bench]` (later files replace earlier cells with the same key, so one system can be
 * re-run alone and merged).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FigureStats, RunResult } from '../report.js';
import { barChart, percentileChart, SYSTEM_COLORS, type BarGroup } from './charts.js';
import type { WorkloadName } from './options.js';
import { cellKey, readResults, type CellResult, type PeerResultsFile } from './results.js';
import { DURABILITY_MODES, SYSTEM_NAMES, type DurabilityMode, type SystemName } from './types.js';

/** The issue's target: Ferry produce at 100 B at least this many times Redis Streams. */
const GOAL_PRODUCE_VS_REDIS = 3.5;
const THROUGHPUT_WORKLOADS: WorkloadName[] = ['produce', 'produce2', 'consume', 'consume-cold'];
const WORKLOAD_TITLES: Record<WorkloadName, string> = {
  produce: 'produce, 1 producer process',
  produce2: 'produce, 2 producer processes',
  consume: 'consume from stored data',
  'consume-cold': 'consume from stored data, page cache dropped',
  e2e: 'end-to-end latency at fixed rates',
};
const MODE_TITLES: Record<DurabilityMode, string> = {
  fsync: 'fsync mode: durable on disk before the ack',
  os: 'os mode: written to the OS (or memory) before the ack',
};

export interface WrittenReport {
  markdown: string;
  charts: string[];
}

function sizeLabel(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function dec(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  return Math.abs(n) >= 100 ? int(n) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function stat(s: FigureStats | undefined, format: (n: number) => string, runs: number): string {
  if (!s) return '–';
  return runs > 1 && s.max !== s.min ? `${format(s.median)} (${format(s.min)}–${format(s.max)})` : format(s.median);
}

function ratio(ferry: number | undefined, peer: number | undefined): string {
  if (ferry === undefined || peer === undefined || !(ferry > 0) || !(peer > 0)) return '–';
  return `${(ferry / peer).toFixed(2)}×`;
}

function orderedSystems(cells: CellResult[]): SystemName[] {
  return SYSTEM_NAMES.filter((s) => cells.some((c) => c.system === s));
}

function notesOf(c: CellResult): string {
  const parts = [...(c.skipped ? [`skipped: ${c.skipped}`] : []), ...(c.error ? [`failed: ${c.error}`] : []), ...c.notes];
  return parts.join('; ').replace(/\|/g, '\\|');
}

class Report {
  private readonly byKey = new Map<string, CellResult>();
  private readonly charts = new Map<string, string>();
  private readonly systems: SystemName[];
  private readonly runs: number;

  constructor(private readonly r: PeerResultsFile) {
    for (const c of r.cells) this.byKey.set(cellKey(c), c);
    this.systems = orderedSystems(r.cells);
    this.runs = r.options.runs;
  }

  private cell(system: SystemName, mode: DurabilityMode, workload: WorkloadName, messageSize: number, rate?: number): CellResult | undefined {
    return this.byKey.get(cellKey({ system, mode, workload, messageSize, ...(rate !== undefined ? { rate } : {}) }));
  }

  private median(c: CellResult | undefined, figure: string): number | undefined {
    return c && !c.skipped && c.runs.length > 0 ? c.summary[figure]?.median : undefined;
  }

  /** Systems with at least one measured cell in this mode (skipped ones stay out of charts and tables). */
  private ranIn(mode: DurabilityMode): SystemName[] {
    return this.systems.filter((s) => this.r.cells.some((c) => c.system === s && c.mode === mode && !c.skipped));
  }

  private sizes(): number[] {
    return [...new Set(this.r.cells.map((c) => c.messageSize))].sort((a, b) => a - b);
  }

  private rates(): number[] {
    return [...new Set(this.r.cells.filter((c) => c.rate !== undefined).map((c) => c.rate!))].sort((a, b) => a - b);
  }

  private modes(): DurabilityMode[] {
    return DURABILITY_MODES.filter((m) => this.r.cells.some((c) => c.mode === m));
  }

  private workloads(): WorkloadName[] {
    return [...THROUGHPUT_WORKLOADS, 'e2e' as const].filter((w) => this.r.cells.some((c) => c.workload === w));
  }

  render(): { markdown: string; charts: Map<string, string> } {
    const r = this.r;
    const m = r.machine;
    const lines: string[] = [];
    lines.push('# Ferry against Redis Streams, NATS JetStream and RabbitMQ', '');
    if (r.quick) {
      lines.push(
        '> **QUICK SMOKE RUN — NOT A MEASUREMENT.** Generated by `npm run bench:peers -- --quick`: tiny counts, one run,',
        '> no warm-up, on a machine that may have been busy. It shows that every path works; its figures mean nothing.',
        '',
      );
    }
    lines.push(
      `Generated by \`npm run bench:peers\` (bench/peers/) from runs started ${r.startedAt}${r.finishedAt ? `, finished ${r.finishedAt}` : ''}. ` +
        'Every server ran on this machine, bound to 127.0.0.1, started by the harness with a fresh data directory; every client is a Node.js process using the system\'s well-known Node client.',
      '',
      '## Machine',
      '',
      '| CPU | cores | RAM | kernel | OS | Node.js |',
      '| --- | --- | --- | --- | --- | --- |',
      `| ${m.cpuModel} | ${m.cores} | ${(m.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB | ${m.osRelease} | ${r.distribution} | ${m.nodeVersion} |`,
      '',
      '## Versions',
      '',
      '| system | server | Node client |',
      '| --- | --- | --- |',
      ...this.systems.map((s) => `| ${s} | ${r.versions[s]?.server ?? '?'} | ${r.versions[s]?.client ?? '?'} |`),
      '',
    );
    lines.push(...this.method());
    lines.push(...this.durabilityTable());
    for (const mode of this.modes()) lines.push(...this.modeSection(mode));
    lines.push(...this.summary());
    lines.push(...this.profileSection());
    lines.push(...this.notCovered());
    return { markdown: `${lines.join('\n')}\n`, charts: this.charts };
  }

  private method(): string[] {
    const o = this.r.options;
    return [
      '## How it was measured',
      '',
      `- **produce**: 1 (produce) or 2 (produce2) producer processes send ${int(o.count)} values per run as fast as a window of unacknowledged values allows (8 MiB, at least 1,000 values), ${o.chunk} values per call: Ferry \`sendBatch()\` with acks=all and idempotence (up to 5 requests per partition in flight), Redis a pipeline of XADDs, JetStream \`js.publish()\` all in flight, RabbitMQ publishes on a confirm channel. msgs/s from the start signal to the last acknowledgement; ack latency per call.`,
      `- **consume**: ${int(o.count)} values are written first (not timed), then one consumer process reads them all from the first record: Ferry consumer (assign, \`eachBatch\`), Redis XREADGROUP COUNT 1000 NOACK with 4 reads in flight, a JetStream durable pull consumer (\`consume()\`, 1,000 per pull, AckPolicy.All every 500), RabbitMQ prefetch 2,000 with cumulative acks every 500. msgs/s from the start signal (including attaching) to the last value.`,
      `- **e2e**: a consumer process and ${o.e2eProducers} producer process(es) run together at a fixed total rate for ${o.e2eWarmupSeconds} s of warm-up plus ${o.e2eSeconds} s. Each value carries its *scheduled* send time (CLOCK_MONOTONIC, shared by all processes), so a producer that falls behind shows up as latency (no coordinated omission); latency = receipt − scheduled time, HDR histogram, warm-up values left out. Values due are sent as soon as they are due (~every 1 ms): a Redis pipeline, JetStream publishes, RabbitMQ publishes, Ferry \`send()\` per value with ${o.ferryE2eLingerMs !== undefined ? `\`lingerMs: ${o.ferryE2eLingerMs}\`` : 'the SDK default \`lingerMs: 5\`'} (an application setting: see docs/BENCHMARKS.md). "sustained" means ≥95% of the rate was delivered.`,
      `- **Shape**: ${o.partitions} partition(s) per Ferry topic, the same number of Redis streams, JetStream streams or RabbitMQ queues; fresh ones for every run, deleted after it. ${o.runs} run(s) per cell, each with fresh client processes (so client JIT warm-up is inside every produce/consume figure, the same for every system); tables show the median with min–max.`,
      '- **CPU**: server CPU seconds = user + system time of the server\'s whole process tree from /proc (RabbitMQ counts beam.smp and its helpers), sampled around the measured phase; client CPU seconds = the client processes\' own. µs/msg divides them by values moved. A client process above 85% of a core is noted as client-bound: then the figure is the client library\'s limit, not the server\'s.',
      '',
    ];
  }

  private durabilityTable(): string[] {
    const lines = ['## Durability settings', '', '| system | mode | setting | when it is durable |', '| --- | --- | --- | --- |'];
    for (const s of this.systems) {
      for (const mode of this.modes()) {
        const c = this.r.cells.find((x) => x.system === s && x.mode === mode);
        if (c) lines.push(`| ${s} | ${mode} | ${c.setting}${c.weaker ? ' ⚠' : ''} | ${c.durability}${c.skipped ? ' (not run)' : ''} |`);
      }
    }
    lines.push('', '⚠ keeps less than the others in its mode, or (where its figures say so) shows consumers values that are not yet durable: not like with like.', '');
    return lines;
  }

  private modeSection(mode: DurabilityMode): string[] {
    const lines = [`## ${MODE_TITLES[mode]}`, ''];
    const throughput = this.workloads().filter((w) => w !== 'e2e');
    const ran = this.ranIn(mode);
    if (throughput.length > 0 && ran.length > 0) {
      const chart = `throughput-${mode}.svg`;
      const groups: BarGroup[] = [];
      for (const w of throughput) {
        for (const size of this.sizes()) {
          groups.push({
            label: `${w}\n${sizeLabel(size)}`,
            values: ran.map((s) => {
              const c = this.cell(s, mode, w, size);
              const st = c && !c.skipped && c.runs.length > 0 ? c.summary['msgs/s'] : undefined;
              return st ? { median: st.median, min: st.min, max: st.max } : undefined;
            }),
          });
        }
      }
      this.charts.set(chart, barChart({ title: `Throughput, ${mode} mode`, subtitle: `msgs/s, median of ${this.runs} run(s), whiskers min–max${this.r.quick ? ' — QUICK SMOKE RUN, NOT A MEASUREMENT' : ''}`, yLabel: 'msgs/s', series: ran.map((s) => ({ name: s, color: SYSTEM_COLORS[s] ?? '#868e96' })), groups }));
      lines.push(`![throughput, ${mode} mode](charts/${chart})`, '');
    }
    for (const w of throughput) lines.push(...this.throughputTable(mode, w));
    if (this.workloads().includes('e2e')) lines.push(...this.e2eSection(mode));
    return lines;
  }

  private throughputTable(mode: DurabilityMode, workload: WorkloadName): string[] {
    const produce = workload === 'produce' || workload === 'produce2';
    const lines = [
      `### ${WORKLOAD_TITLES[workload]} (${mode})`,
      '',
      `| size | system | setting | msgs/s | MB/s |${produce ? ' ack p99 ms |' : ''} server CPU s | server µs/msg | client CPU s | Ferry ÷ this | notes |`,
      `| --- | --- | --- | ---: | ---: |${produce ? ' ---: |' : ''} ---: | ---: | ---: | ---: | --- |`,
    ];
    for (const size of this.sizes()) {
      const ferry = this.median(this.cell('ferry', mode, workload, size), 'msgs/s');
      for (const s of this.systems) {
        const c = this.cell(s, mode, workload, size);
        if (!c || c.skipped) continue;
        const f = (name: string, format: (n: number) => string) => stat(c.summary[name], format, c.runs.length);
        const cols = [sizeLabel(size), s, `${c.setting}${c.weaker ? ' ⚠' : ''}`, f('msgs/s', int), f('MB/s', dec), ...(produce ? [f('ack p99 ms', dec)] : []), f('server CPU s', dec), f('server µs/msg', dec), f('client CPU s', dec), s === 'ferry' ? '' : ratio(ferry, this.median(c, 'msgs/s')), notesOf(c)];
        lines.push(`| ${cols.join(' | ')} |`);
      }
    }
    lines.push('');
    return lines;
  }

  /** The run whose p99 is the median, for drawing one representative percentile curve. */
  private medianRun(c: CellResult): RunResult | undefined {
    const sorted = [...c.runs].sort((a, b) => (a.figures['e2e p99 ms'] ?? 0) - (b.figures['e2e p99 ms'] ?? 0));
    return sorted[Math.floor((sorted.length - 1) / 2)];
  }

  private e2eSection(mode: DurabilityMode): string[] {
    const lines = [`### ${WORKLOAD_TITLES.e2e} (${mode})`, ''];
    for (const size of this.sizes()) {
      for (const rate of this.rates()) {
        const series = this.systems.flatMap((s) => {
          const c = this.cell(s, mode, 'e2e', size, rate);
          const run = c && !c.skipped ? this.medianRun(c) : undefined;
          const points = (run?.details.percentiles as { p: number; ms: number }[] | undefined) ?? [];
          return points.length > 0 ? [{ name: `${s}${c!.summary.sustained?.median === 1 ? '' : ' (not sustained)'}`, color: SYSTEM_COLORS[s] ?? '#868e96', points }] : [];
        });
        if (series.length === 0) continue;
        const chart = `latency-${mode}-${size}-${rate}.svg`;
        this.charts.set(chart, percentileChart({ title: `End-to-end latency, ${int(rate)} msgs/s, ${sizeLabel(size)}, ${mode} mode`, subtitle: `run with the median p99 of ${this.runs}${this.r.quick ? ' — QUICK SMOKE RUN, NOT A MEASUREMENT' : ''}`, series }));
        lines.push(`![e2e latency ${int(rate)} msgs/s ${sizeLabel(size)} ${mode}](charts/${chart})`, '');
      }
      lines.push(
        `| size | rate | system | setting | delivered msgs/s | p50 ms | p99 ms | p99.9 ms | max ms | server CPU s | client CPU s | this p99 ÷ Ferry p99 | notes |`,
        '| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      );
      for (const rate of this.rates()) {
        const ferry = this.cell('ferry', mode, 'e2e', size, rate);
        const ferryP99 = this.median(ferry, 'e2e p99 ms');
        for (const s of this.systems) {
          const c = this.cell(s, mode, 'e2e', size, rate);
          if (!c || c.skipped) continue;
          const f = (name: string, format: (n: number) => string) => stat(c.summary[name], format, c.runs.length);
          const cols = [sizeLabel(size), int(rate), s, `${c.setting}${c.weaker ? ' ⚠' : ''}`, f('msgs/s', int), f('e2e p50 ms', dec), f('e2e p99 ms', dec), f('e2e p99.9 ms', dec), f('e2e max ms', dec), f('server CPU s', dec), f('client CPU s', dec), s === 'ferry' ? '' : ratio(this.median(c, 'e2e p99 ms'), ferryP99), notesOf(c)];
          lines.push(`| ${cols.join(' | ')} |`);
        }
      }
      lines.push('');
    }
    return lines;
  }

  private summary(): string[] {
    const peers = this.systems.filter((s) => !s.startsWith('ferry'));
    if (!this.systems.includes('ferry') || peers.length === 0) return [];
    const lines = [
      '## Ferry against each peer',
      '',
      'Throughput: Ferry msgs/s ÷ peer msgs/s (above 1×: Ferry faster). e2e: peer p99 ÷ Ferry p99 (above 1×: Ferry lower), where both sustained the rate. Same mode, size and workload only; ⚠ marks a peer setting that keeps less, or that delivers values to consumers before they are durable (see the notes beside its figures).',
      '',
      `| mode | workload | size | ${peers.join(' | ')} |`,
      `| --- | --- | --- | ${peers.map(() => '---:').join(' | ')} |`,
    ];
    for (const mode of this.modes()) {
      for (const w of this.workloads()) {
        for (const size of this.sizes()) {
          const rates: (number | undefined)[] = w === 'e2e' ? this.rates() : [undefined];
          for (const rate of rates) {
            const ferry = this.cell('ferry', mode, w, size, rate);
            const cols = peers.map((p) => {
              const c = this.cell(p, mode, w, size, rate);
              if (!c || c.skipped || c.runs.length === 0) return '–';
              const mark = c.weaker ? ' ⚠' : '';
              if (w !== 'e2e') return `${ratio(this.median(ferry, 'msgs/s'), this.median(c, 'msgs/s'))}${mark}`;
              const both = this.median(ferry, 'sustained') === 1 && this.median(c, 'sustained') === 1;
              return both ? `${ratio(this.median(c, 'e2e p99 ms'), this.median(ferry, 'e2e p99 ms'))}${mark}` : 'not sustained';
            });
            lines.push(`| ${mode} | ${w}${rate !== undefined ? ` ${int(rate)}/s` : ''} | ${sizeLabel(size)} | ${cols.join(' | ')} |`);
          }
        }
      }
    }
    lines.push('');
    const goal = this.modes().flatMap((mode) => {
      const f = this.median(this.cell('ferry', mode, 'produce', 100), 'msgs/s');
      const r = this.median(this.cell('redis', mode, 'produce', 100), 'msgs/s');
      if (f === undefined || r === undefined) return [];
      const x = f / r;
      return [`- ${mode} mode: Ferry ${int(f)} vs Redis ${int(r)} msgs/s = ${x.toFixed(2)}× (${x >= GOAL_PRODUCE_VS_REDIS ? 'met' : 'not met'})`];
    });
    if (goal.length > 0) lines.push(`Goal: Ferry produce at 100 B at least ${GOAL_PRODUCE_VS_REDIS}× Redis Streams (1 producer process):`, '', ...goal, '');
    return lines;
  }

  private profileSection(): string[] {
    return [
      '## Where Ferry\'s time goes',
      '',
      'The analysis (profiles of broker and SDK at peak load, where Ferry loses and why, what would move it) is kept by hand in',
      '`docs/BENCHMARKS.md` (section "Against the peers"). To profile again: `npm run bench:peers -- --systems ferry --workloads produce --sizes 100 --runs 1 --profile-ferry bench/peers/results/profiles`',
      'writes V8 `.cpuprofile` files of the broker and of each Ferry client process (open them in Chrome DevTools or speedscope).',
      '',
    ];
  }

  private notCovered(): string[] {
    const lines = ['## Not covered here', ''];
    if (!this.r.cells.some((c) => c.system === 'ferry-rf3')) lines.push('- **Ferry 3-node RF 3 acks=all cluster**: not in this run (`--systems ferry-rf3`); the peers have no replicated counterpart here, so its rows compare replicated Ferry with single-node peers.');
    lines.push('- **NATS in fsync mode**: nats-server 2.9 (Debian 12) has no fsync-per-write setting; `sync_interval: always` came in 2.10.');
    lines.push('- **RabbitMQ in os mode** uses transient messages (memory only): RabbitMQ has no setting that writes persistent messages to the OS without fsyncing them.');
    lines.push(`- **Consume larger than RAM**: this machine has ${(this.r.machine.totalMemoryBytes / 2 ** 30).toFixed(0)} GiB, so data larger than the page cache would take tens of GB per system; the \`consume-cold\` workload (\`--workloads consume-cold\`, root) drops the page cache before reading instead. Redis always serves from memory; RabbitMQ and JetStream keep their own caches.`);
    if (this.r.options.partitions === 1) lines.push('- **Partitioned throughput**: one partition / stream / queue per run; `--partitions N` spreads every system over N.');
    lines.push('');
    return lines;
  }
}

/** Writes RESULTS.md and charts/*.svg into `outDir`; returns what it wrote. */
export async function writeReport(results: PeerResultsFile, outDir: string): Promise<WrittenReport> {
  const { markdown, charts } = new Report(results).render();
  const chartDir = join(outDir, 'charts');
  await mkdir(chartDir, { recursive: true });
  const written: string[] = [];
  for (const [name, svg] of charts) {
    const path = join(chartDir, name);
    await writeFile(path, svg);
    written.push(path);
  }
  const mdPath = join(outDir, 'RESULTS.md');
  await writeFile(mdPath, markdown);
  return { markdown: mdPath, charts: written };
}

async function main(argv: string[]): Promise<void> {
  const files: string[] = [];
  let outDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out-dir') outDir = argv[++i];
    else files.push(argv[i]!);
  }
  if (files.length === 0) throw new Error('usage: results-md.js RESULTS.json [MORE.json ...] [--out-dir DIR]');
  const results = await readResults(files);
  const target = resolve(outDir ?? (results.quick ? join('bench', 'peers', 'results', 'quick-report') : 'bench'));
  const written = await writeReport(results, target);
  process.stdout.write(`${written.markdown} (${written.charts.length} charts)\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
