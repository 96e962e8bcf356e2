/**
 * Entry of `npm run bench -- produce|consume|e2e|group [options]` (compiled to dist/bench/run.js; run
 * `npm run build` first). Starts a private broker unless --bootstrap is given, runs the workload
 * --runs times, prints the table to stdout and writes the JSON report. Progress goes to stderr.
 * Exits 1 if a run fails; the private broker is stopped in every case.
 */
import { Ferry } from '../src/client/index.js';
import { BenchCluster } from './bench-cluster.js';
import type { BenchContext } from './context.js';
import { parseBenchArgs } from './options.js';
import { defaultJsonPath, machineInfo, renderTable, summarizeRuns, writeReport, type BenchReport, type RunResult } from './report.js';
import { benchConsume, prepareConsume } from './workloads/consume.js';
import { benchE2e } from './workloads/e2e.js';
import { benchFailover } from './workloads/failover.js';
import { benchGroup, prepareGroup } from './workloads/group.js';
import { benchProduce } from './workloads/produce.js';

async function main(): Promise<void> {
  const opts = parseBenchArgs(process.argv.slice(2));
  const startedAt = new Date();
  let broker: BenchCluster | undefined;
  if (opts.bootstrap === undefined) {
    const what = opts.brokers > 1 ? `a private ${opts.brokers}-broker cluster` : 'a private broker';
    process.stderr.write(`starting ${what} (flush.mode=${opts.flushMode})...\n`);
    broker = await BenchCluster.start(opts.brokers, opts.flushMode);
    process.stderr.write(`brokers at ${broker.bootstrap}, data in ${broker.brokers.map((b) => b.dataDir).join(' ')}\n`);
  }
  const bootstrap = opts.bootstrap ?? broker!.bootstrap;
  const ferry = new Ferry({ bootstrap: bootstrap.split(','), clientId: 'ferry-bench' });
  const ctx: BenchContext = { opts, bootstrap, ferry };
  // Stop the private broker even on Ctrl-C, so no orphan keeps the port and the temp dir.
  const onSignal = () => {
    void (broker?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const runs: RunResult[] = [];
  try {
    const consumeTarget = opts.workload === 'consume' ? await prepareConsume(ctx) : undefined;
    const groupTarget = opts.workload === 'group' ? await prepareGroup(ctx) : undefined;
    for (let run = 1; run <= opts.runs; run++) {
      let result: RunResult;
      switch (opts.workload) {
        case 'produce':
          result = await benchProduce(ctx, run);
          break;
        case 'consume':
          result = await benchConsume(ctx, consumeTarget!, run);
          break;
        case 'e2e':
          result = await benchE2e(ctx, run);
          break;
        case 'group':
          result = await benchGroup(ctx, groupTarget!, run);
          break;
        case 'failover':
          result = await benchFailover(ctx, broker!, run);
          break;
      }
      runs.push(result);
      process.stderr.write(`run ${run}: ${Object.entries(result.figures).map(([k, v]) => `${k}=${v}`).join('  ')}\n`);
    }
  } finally {
    await ferry.close().catch(() => undefined);
    await broker?.stop();
  }

  const report: BenchReport = {
    workload: opts.workload,
    startedAt: startedAt.toISOString(),
    machine: machineInfo(),
    broker: { managed: broker !== undefined, bootstrap, flushMode: broker ? opts.flushMode : 'external', brokers: broker ? opts.brokers : undefined },
    options: opts,
    runs,
    summary: summarizeRuns(runs),
  };
  const jsonPath = opts.json ?? defaultJsonPath(opts.workload, startedAt);
  await writeReport(jsonPath, report);
  process.stdout.write(`\n${renderTable(report)}\n\nresults: ${jsonPath}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
