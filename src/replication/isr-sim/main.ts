// `npm run sim:isr -- --seeds N [--first F] [--seed X] [--steps S]`
// Runs the ISR data-plane simulation for seeds F..F+N-1 (or just X). Prints a summary; for a failing
// seed, the violated property, the replay command and the tail of its trace. Exit 1 on any failure.

import { runSeed, type SeedResult } from './run-seed.js';

/** Fault-schedule length: steps × 50 simulated ms of chaos, then 3 s of settling. */
export const DEFAULT_STEPS = 60;
const FAILURES_PRINTED_MAX = 3;

function parseArgs(argv: readonly string[]): { seeds: number; first: number; seed: number | null; steps: number } {
  const args = { seeds: 100, first: 1, seed: null as number | null, steps: DEFAULT_STEPS };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === 'isr') continue; // allows `npm run sim -- isr ...` style invocations
    const value = Number(argv[++i]);
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${flag} needs a non-negative integer`);
    if (flag === '--seeds') args.seeds = value;
    else if (flag === '--first') args.first = value;
    else if (flag === '--seed') args.seed = value;
    else if (flag === '--steps') args.steps = value;
    else throw new Error(`unknown argument ${flag} (use --seeds N, --first F, --seed X, --steps S)`);
  }
  return args;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const seeds = args.seed !== null ? [args.seed] : Array.from({ length: args.seeds }, (_, i) => args.first + i);
  const started = performance.now();
  const failures: SeedResult[] = [];
  let acked = 0;
  let offline = 0;
  for (const seed of seeds) {
    const r = runSeed(seed, args.steps);
    if (!r.ok) failures.push(r);
    acked += r.stats?.acked ?? 0;
    offline += r.stats?.offlineAtEnd ?? 0;
  }
  const ms = performance.now() - started;
  for (const f of failures.slice(0, FAILURES_PRINTED_MAX)) {
    process.stdout.write(`\nFAIL seed ${f.seed}: ${f.error}\n  replay: npm run sim:isr -- --seed ${f.seed} --steps ${args.steps}\n`);
    for (const line of f.trace ?? []) process.stdout.write(`  ${line}\n`);
  }
  process.stdout.write(
    `isr sim: ${seeds.length - failures.length}/${seeds.length} seeds passed in ${(ms / 1000).toFixed(1)} s ` +
      `(${(ms / seeds.length).toFixed(1)} ms/seed), ${acked} acks=all records checked, ${offline} partitions offline at the end\n`,
  );
  if (failures.length > 0) {
    process.stdout.write(`failing seeds: ${failures.map((f) => f.seed).join(' ')}\n`);
    process.exitCode = 1;
  }
}

main();
