/**
 * Command-line options of `npm run bench:peers -- [options]`, parsed with commander. Lists are
 * comma-separated; counts accept `1000000`, `1,000,000`, `1_000_000` or `1e6`. `--quick` is a smoke
 * run (tiny counts, one run, report in the gitignored results folder), not a measurement. Every
 * option lands verbatim in the results JSON.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DURABILITY_MODES, SYSTEM_NAMES, type DurabilityMode, type SystemName } from './types.js';

export const WORKLOAD_NAMES = ['produce', 'produce2', 'consume', 'consume-cold', 'e2e'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export interface PeerOptions {
  systems: SystemName[];
  modes: DurabilityMode[];
  workloads: WorkloadName[];
  /** Value sizes in bytes. */
  sizes: number[];
  /** e2e: total send rates, values/s. */
  rates: number[];
  /** produce/consume: values per run. */
  count: number;
  /** e2e: seconds of sending per rate (count = rate × seconds). */
  e2eSeconds: number;
  /** e2e: seconds sent at the rate before latency is recorded. */
  e2eWarmupSeconds: number;
  e2eProducers: number;
  /** Ferry partitions per topic; streams/queues for the others. */
  partitions: number;
  runs: number;
  /** Values per producer call (pipeline, publish burst, sendBatch). */
  chunk: number;
  quick: boolean;
  redisRelaxed: 'no' | 'everysec';
  /** e2e: lingerMs of Ferry's paced producers; absent = the SDK default (5 ms). */
  ferryE2eLingerMs?: number;
  /** Ferry consumers' transport; absent = the SDK default ('stream'). */
  ferryConsumerTransport?: 'stream' | 'fetch';
  /** Directory for V8 CPU profiles of the Ferry broker and Ferry client workers. */
  profileFerry?: string;
  install: boolean;
  report: boolean;
  out: string;
}

/** A smoke run: enough to see every path work, far too short to mean anything. */
const QUICK = { count: 20_000, e2eSeconds: 1, e2eWarmupSeconds: 0, runs: 1 };

function parseCount(value: string): number {
  const n = Number(value.replace(/[,_]/g, ''));
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

function parseNonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number >= 0, got "${value}"`);
  return n;
}

function parseNonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`expected an integer >= 0, got "${value}"`);
  return n;
}

function parseList<T extends string>(allowed: readonly T[]) {
  return (value: string): T[] => {
    const items = value.split(',').map((s) => s.trim()).filter(Boolean);
    for (const item of items) if (!allowed.includes(item as T)) throw new InvalidArgumentError(`"${item}" is not one of ${allowed.join(', ')}`);
    return items as T[];
  };
}

function parseCounts(value: string): number[] {
  return value.split(/[ ,]+/).filter(Boolean).map((v) => parseCount(v.replace(/k$/i, '000')));
}

export function parsePeerArgs(argv: string[], defaultOut: string): PeerOptions {
  const program = new Command()
    .name('npm run bench:peers --')
    .description('Ferry against Redis Streams, NATS JetStream and RabbitMQ: same workloads, same machine, same run')
    .option('--systems <list>', `systems (${SYSTEM_NAMES.join(',')})`, parseList(SYSTEM_NAMES), [...SYSTEM_NAMES])
    .option('--modes <list>', 'durability modes: fsync (fsync before ack), os (write to the OS before ack)', parseList(DURABILITY_MODES), [...DURABILITY_MODES])
    .option('--workloads <list>', `workloads (${WORKLOAD_NAMES.join(',')})`, parseList(WORKLOAD_NAMES), ['produce', 'produce2', 'consume', 'e2e'])
    .option('--sizes <bytes>', 'value sizes in bytes', parseCounts, [100, 1024])
    .option('--rates <list>', 'e2e send rates, values/s (10k ok)', parseCounts, [10_000, 50_000, 100_000])
    .option('--count <n>', 'values per produce/consume run', parseCount, 1_000_000)
    .option('--e2e-seconds <s>', 'seconds of sending per e2e rate', parseCount, 10)
    .option('--e2e-warmup-seconds <s>', 'e2e: seconds at the rate before latency is recorded', parseNonNegative, 2)
    .option('--e2e-producers <n>', 'producer processes in e2e runs', parseCount, 1)
    .option('--partitions <n>', 'Ferry partitions per topic; Redis streams / JetStream streams / RabbitMQ queues', parseCount, 1)
    .option('--runs <n>', 'runs per cell (report: median, min–max)', parseCount, 3)
    .option('--chunk <n>', 'values per producer call', parseCount, 500)
    .option('--quick', `smoke run: --count ${QUICK.count}, --e2e-seconds ${QUICK.e2eSeconds}, --e2e-warmup-seconds 0, --runs 1; report to the results folder, not bench/RESULTS.md`, false)
    .addOption(new Option('--redis-relaxed <fsync>', 'Redis appendfsync in os mode').choices(['no', 'everysec']).default('no'))
    .option('--ferry-e2e-linger-ms <ms>', "e2e: lingerMs of Ferry's paced producers (an application setting; default: the SDK's 5 ms)", parseNonNegativeInt)
    .addOption(new Option('--ferry-consumer-transport <t>', "Ferry consumers' transport (default: the SDK's, stream)").choices(['stream', 'fetch']))
    .option('--profile-ferry <dir>', 'write V8 CPU profiles of the Ferry broker and Ferry client workers here')
    .option('--no-install', 'do not apt-get install missing peers (fail instead)')
    .option('--no-report', 'write the results JSON only (no RESULTS.md / charts)')
    .option('--out <dir>', 'results JSON directory', defaultOut)
    .showHelpAfterError();
  program.parse(argv, { from: 'user' });
  const o = program.opts<PeerOptions>();
  const opts: PeerOptions = { ...o };
  if (o.quick) {
    const given = (name: string) => program.getOptionValueSource(name) === 'cli';
    if (!given('count')) opts.count = QUICK.count;
    if (!given('e2eSeconds')) opts.e2eSeconds = QUICK.e2eSeconds;
    if (!given('e2eWarmupSeconds')) opts.e2eWarmupSeconds = QUICK.e2eWarmupSeconds;
    if (!given('runs')) opts.runs = QUICK.runs;
  }
  if (opts.workloads.includes('e2e') && opts.sizes.some((s) => s < 8)) program.error('e2e needs sizes >= 8: each value carries an 8-byte send stamp');
  return opts;
}
