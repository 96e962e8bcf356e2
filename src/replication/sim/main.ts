// `npm run sim -- --seeds N [--seed X] [--nodes 3|5] [--steps S] [--first F]`
// Runs seeds F..F+N-1 (or just X), progress on stderr, a summary line on stdout; on a failure prints
// the seed, the violated property, the command that replays it, and the tail of the event trace.
// Exit status 1 when any seed fails.

import { runSeed, type RunResult } from './run-seed.js';

/** Chaos actions per seed by default: ~2 s of simulated faults, a few ms of CPU. */
export const DEFAULT_STEPS = 60;
const TRACE_LINES_PRINTED = 120;
const FAILURES_PRINTED_MAX = 3;

interface Args {
  seeds: number;
  seed: number | null;
  first: number;
  nodes: number;
  steps: number;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { seeds: 100, seed: null, first: 1, nodes: 0, steps: DEFAULT_STEPS };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = Number(argv[i + 1]);
    const take = (): number => {
      if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${flag} needs a non-negative integer`);
      i++;
      return value;
    };
    switch (flag) {
      case '--seeds': args.seeds = take(); break;
      case '--seed': args.seed = take(); break;
      case '--first': args.first = take(); break;
      case '--nodes': args.nodes = take(); break;
      case '--steps': args.steps = take(); break;
      default: throw new Error(`unknown argument ${flag} (use --seeds N, --seed X, --first F, --nodes 3|5, --steps S)`);
    }
  }
  if (args.nodes !== 0 && args.nodes !== 3 && args.nodes !== 5) throw new Error('--nodes must be 3 or 5');
  return args;
}

function replayCommand(args: Args, seed: number): string {
  return `npm run sim -- --seed ${seed}${args.nodes ? ` --nodes ${args.nodes}` : ''} --steps ${args.steps}`;
}

function printFailure(args: Args, r: RunResult): void {
  process.stdout.write(`\nFAIL seed ${r.seed} (${r.nodes} nodes): ${r.error}\n  replay: ${replayCommand(args, r.seed)}\n`);
  for (const line of (r.trace ?? []).slice(-TRACE_LINES_PRINTED)) process.stdout.write(`  ${line}\n`);
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const seeds = args.seed !== null ? [args.seed] : Array.from({ length: args.seeds }, (_, i) => args.first + i);
  const started = performance.now();
  const failures: RunResult[] = [];
  let events = 0;
  let simMs = 0;
  let recoveryMaxMs = 0;
  let committed = 0;
  let lastProgress = started;
  for (const [i, seed] of seeds.entries()) {
    const r = runSeed({ seed, nodes: args.nodes, steps: args.steps });
    events += r.events;
    simMs += r.simMs;
    committed += r.committed;
    recoveryMaxMs = Math.max(recoveryMaxMs, r.recoveryMs);
    if (!r.ok) {
      failures.push(r);
      if (failures.length <= FAILURES_PRINTED_MAX) printFailure(args, r);
    }
    const now = performance.now();
    if (now - lastProgress > 1000 || i === seeds.length - 1) {
      process.stderr.write(`\r${i + 1}/${seeds.length} seeds, ${failures.length} failed`);
      lastProgress = now;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write('\n');
  const failed = failures.length === 0 ? '' : ` (seeds ${failures.slice(0, 20).map((f) => f.seed).join(', ')}${failures.length > 20 ? ', …' : ''})`;
  process.stdout.write(
    `sim: ${seeds.length} runs in ${seconds.toFixed(2)} s (${(seeds.length / seconds).toFixed(0)} runs/s, ` +
      `${(events / seconds / 1e6).toFixed(2)}M events/s, ${(simMs / 1000).toFixed(0)} simulated s, ` +
      `${committed} entries committed, slowest recovery after heal ${recoveryMaxMs} ms), ` +
      `${failures.length} failures${failed}\n`,
  );
  process.exitCode = failures.length === 0 ? 0 : 1;
}

main();
