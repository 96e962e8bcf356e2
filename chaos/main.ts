/**
 * `npm run chaos -- [options]` (compiled to dist/chaos/main.js; `npm run build` first): Jepsen-style
 * runs against a real 3- or 5-broker cluster — see docs/CHAOS.md. Run i uses seed X+i; everything a
 * run chooses (flush mode when mixed, fault kinds, victims, timings) comes from its seed. Writes
 * chaos/results/<stamp>/seed-<seed>-<mode>/{history.jsonl, timeline.svg, summary.txt, result.json}
 * and <stamp>/summary.md; exits 1 if any run found a violation or could not finish.
 *
 * `npm run chaos -- check FILE` re-checks a history file.
 */
import { Command, Option } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { check, summaryLine, VIOLATION_KINDS } from './checker.js';
import { readHistory } from './history.js';
import { buildShim } from './lazyfs.js';
import { DEFAULT_FAULTS, FAULT_KINDS, type FaultKind } from './nemesis.js';
import { chaosRun, type RunOutcome } from './run.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

function parseInt10(name: string, min: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} needs an integer >= ${min}, got ${v}`);
    return n;
  };
}

function table(outcomes: RunOutcome[]): string {
  const rows = ['| seed | flush | faults injected | ops | acked | failed | lost | duplicated | reordered | other violations | unavailable s | result |', '|---|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const o of outcomes) {
    const r = o.result;
    const faults = r ? Object.entries(r.faults).map(([k, v]) => `${k} ${v}`).join(', ') || 'none' : '';
    const other = r ? r.misplaced + r.conflicts + r.vanished + r.groupViolations + (r.replicaDivergent ?? 0) : 0;
    const verdict = o.error ? 'ERROR' : r?.ok ? 'ok' : 'FAIL';
    rows.push(`| ${o.seed} | ${o.flushMode} | ${faults} | ${r?.ops ?? ''} | ${r?.acked ?? ''} | ${r?.failed ?? ''} | ${r?.lost ?? ''} | ${r?.duplicated ?? ''} | ${r?.reordered ?? ''} | ${other} | ${r?.unavailableSeconds ?? ''} | ${verdict} |`);
  }
  const sum = (f: (o: RunOutcome) => number) => outcomes.reduce((a, o) => a + f(o), 0);
  const faultTotal = sum((o) => Object.values(o.result?.faults ?? {}).reduce((a, b) => a + b, 0));
  rows.push(`| **total** (${outcomes.length} runs) | | ${faultTotal} | ${sum((o) => o.result?.ops ?? 0)} | ${sum((o) => o.result?.acked ?? 0)} | ${sum((o) => o.result?.failed ?? 0)} | ${sum((o) => o.result?.lost ?? 0)} | ${sum((o) => o.result?.duplicated ?? 0)} | ${sum((o) => o.result?.reordered ?? 0)} | ${sum((o) => (o.result ? o.result.misplaced + o.result.conflicts + o.result.vanished + o.result.groupViolations + (o.result.replicaDivergent ?? 0) : 0))} | ${sum((o) => o.result?.unavailableSeconds ?? 0)} | ${outcomes.filter((o) => !o.error && o.result?.ok).length} ok |`);
  return rows.join('\n');
}

async function main(): Promise<void> {
  const program = new Command('chaos')
    .description('fault-injection runs against a real Ferry cluster, checked for lost, reordered or conflicting records')
    .option('--runs <n>', 'number of runs (seeds seed..seed+runs-1)', parseInt10('runs', 1), 1)
    .option('--seconds <s>', 'fault phase of each run, seconds', parseInt10('seconds', 5), 60)
    .option('--seed <x>', 'first seed', parseInt10('seed', 0))
    .addOption(new Option('--flush-mode <mode>', 'broker flush.mode; mixed = always for even seeds, os for odd').choices(['always', 'os', 'mixed']).default('mixed'))
    .option('--faults <list>', `fault kinds, comma-separated (${FAULT_KINDS.join(',')}; none = no faults)`, DEFAULT_FAULTS.join(','))
    .option('--brokers <n>', 'cluster size (3 or 5)', parseInt10('brokers', 3), 3)
    .addOption(new Option('--network <kind>', 'how partitions are made').choices(['auto', 'netns', 'proxy']).default('auto'))
    .option('--producers <n>', 'acks=all producers (odd ones keyed)', parseInt10('producers', 1), 3)
    .option('--members <n>', 'consumer group members', parseInt10('members', 0), 2)
    .option('--partitions <n>', 'partitions of the workload topic', parseInt10('partitions', 1), 4)
    .option('--send-interval-ms <ms>', 'pause between two sends of one producer', parseInt10('send-interval-ms', 0), 10)
    .addOption(new Option('--idempotence <on|off>', 'idempotent producers (on: a record stored twice is a violation; off: duplicates are only counted)').choices(['on', 'off']).default('on'))
    .option('--session-timeout-ms <ms>', 'broker.session.timeout.ms (pauses last longer)', parseInt10('session-timeout-ms', 100), 1800)
    .option('--results <dir>', 'where run directories go', join(REPO, 'chaos', 'results'))
    .option('--keep-logs', 'keep broker logs of passing runs too (failing runs always keep them)', false)
    .option('--keep-data', 'keep the data dirs of failing runs', false)
    .option('--tolerate <kinds>', `violation kinds of known bugs that are reported but do not fail a run (${VIOLATION_KINDS.join(', ')})`, '');
  program
    .command('check <history>')
    .description('re-check a history.jsonl')
    .action((file: string) => {
      const r = check(readHistory(file));
      console.log(summaryLine(r));
      for (const v of r.violations) console.log(`  ${v}`);
      for (const v of r.known) console.log(`  (tolerated) ${v}`);
      process.exitCode = r.ok ? 0 : 1;
    });
  program.action(async (opts: Record<string, unknown>) => {
    const faults = String(opts.faults) === 'none' ? [] : String(opts.faults).split(',').map((s) => s.trim()).filter(Boolean);
    for (const f of faults) if (!(FAULT_KINDS as readonly string[]).includes(f)) throw new Error(`unknown fault kind ${f} (known: ${FAULT_KINDS.join(', ')})`);
    const tolerate = String(opts.tolerate).split(',').map((s) => s.trim()).filter(Boolean);
    for (const k of tolerate) if (!(VIOLATION_KINDS as readonly string[]).includes(k)) throw new Error(`unknown violation kind ${k} (known: ${VIOLATION_KINDS.join(', ')})`);
    const brokers = opts.brokers as number;
    if (brokers !== 3 && brokers !== 5) throw new Error('--brokers must be 3 or 5');
    const firstSeed = (opts.seed as number | undefined) ?? Math.floor(Math.random() * 1_000_000);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const resultsDir = resolve(String(opts.results), stamp);
    mkdirSync(resultsDir, { recursive: true });
    const log = (s: string) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
    const shim = faults.includes('lazyfs') || faults.includes('power') ? buildShim(join(resultsDir, '.shim')) : { path: null, why: 'lazyfs fault not enabled' };
    const runs = opts.runs as number;
    const command = `npm run chaos -- ${process.argv.slice(2).join(' ')}`;
    log(`${runs} run(s) from seed ${firstSeed}, ${opts.seconds as number} s of faults each (${faults.join(',') || 'none'}), results in ${resultsDir}`);
    if (shim.path !== null || faults.includes('lazyfs') || faults.includes('power')) log(`lazyfs: ${shim.why}`);
    const outcomes: RunOutcome[] = [];
    for (let i = 0; i < runs; i++) {
      const seed = firstSeed + i;
      const mode = opts.flushMode === 'mixed' ? (seed % 2 === 0 ? 'always' : 'os') : (opts.flushMode as 'always' | 'os');
      const out = await chaosRun({
        seed,
        seconds: opts.seconds as number,
        brokers,
        flushMode: mode,
        faults: faults as FaultKind[],
        network: opts.network as 'auto' | 'netns' | 'proxy',
        resultsDir,
        shim: shim.path,
        lazyfsWhy: shim.why,
        sessionTimeoutMs: opts.sessionTimeoutMs as number,
        producers: opts.producers as number,
        members: opts.members as number,
        partitions: opts.partitions as number,
        sendIntervalMs: opts.sendIntervalMs as number,
        idempotent: opts.idempotence === 'on',
        keepLogs: opts.keepLogs as boolean,
        keepData: opts.keepData as boolean,
        tolerate,
        log,
      });
      outcomes.push(out);
      const line = out.result ? summaryLine(out.result) : `seed=${seed} no result`;
      console.log(`[${i + 1}/${runs}] ${line}${out.error ? ' (harness error)' : ''} ${out.durationS}s ${out.dir}`);
      if (out.result && !out.result.ok) for (const v of out.result.violations.slice(0, 10)) console.log(`    ${v}`);
      if (out.result) for (const v of out.result.known.slice(0, 5)) console.log(`    (tolerated, known bug) ${v}`);
      if (out.error) console.log(`    harness error: ${out.error.split('\n')[0]}`);
      writeFileSync(join(resultsDir, 'summary.md'), `# chaos ${stamp}\n\n\`${command}\` (first seed ${firstSeed}; network ${outcomes[0]?.network}; lazyfs ${shim.why})\n\n${table(outcomes)}\n`);
    }
    console.log(`\n${table(outcomes)}\n\nsummary: ${join(resultsDir, 'summary.md')}`);
    const bad = outcomes.filter((o) => o.error || !o.result?.ok).length;
    console.log(bad === 0 ? `${runs} passed, 0 failed` : `${runs - bad} passed, ${bad} failed`);
    process.exitCode = bad === 0 ? 0 : 1;
  });
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
  await program.parseAsync(process.argv);
}

main().catch((err) => {
  console.error((err as Error).stack ?? String(err));
  process.exit(2);
});
