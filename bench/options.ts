/**
 * Command-line options of `npm run bench -- produce|consume|e2e|group [options]`, parsed with commander.
 * Counts accept `2000000`, `2,000,000`, `2_000_000` or `2e6`. Everything parsed here is written
 * verbatim into the result JSON, so a figure can always be traced to how it was produced.
 */
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import type { FlushMode } from './broker-process.js';

export type WorkloadName = 'produce' | 'consume' | 'e2e' | 'group' | 'failover';

export interface BenchOptions {
  workload: WorkloadName;
  /** Absent: the bench starts (and stops) its own broker. */
  bootstrap?: string;
  messageSize: number;
  count: number;
  partitions: number;
  acks: 0 | 1 | -1;
  /** SDK producer option `idempotent` (needs --acks all); the SDK's default (on with acks all) unless given. */
  idempotent: boolean;
  flushMode: FlushMode;
  producers: number;
  batchSize?: number;
  lingerMs?: number;
  runs: number;
  json?: string;
  /** consume: read this existing topic instead of pre-writing one. */
  topic?: string;
  /** e2e: total records per second over all producers; absent = as fast as possible. group: the steady stream's rate (default 20000). */
  rate?: number;
  /** group: member processes in the consumer group. */
  members: number;
  /** SDK call the producers use: per-record send() promises, or sendBatch() of `chunk` records. */
  api: 'send' | 'batch';
  /** Records per sendBatch() call (api=batch). */
  chunk: number;
  /** Brokers of the private cluster (1 = a single node). */
  brokers: number;
  /** Replication factor of bench topics (default: the private cluster's size, else the broker default). */
  replicationFactor?: number;
}

function parseCount(value: string): number {
  const n = Number(value.replace(/[,_]/g, ''));
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

function parseNonNegative(value: string): number {
  const n = Number(value.replace(/[,_]/g, ''));
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

function parseAcks(value: string): 0 | 1 | -1 {
  if (value === '0') return 0;
  if (value === '1') return 1;
  if (value === 'all' || value === '-1') return -1;
  throw new InvalidArgumentError('expected 0, 1 or all');
}

/** Parses argv (without node and script) into options; exits with usage on bad input. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  let parsed: BenchOptions | undefined;
  const program = new Command()
    .name('npm run bench --')
    .description('Ferry benchmarks: produce throughput + ack latency, consume throughput, end-to-end latency, consumer groups')
    .addArgument(new Argument('<workload>', 'produce | consume | e2e | group | failover').choices(['produce', 'consume', 'e2e', 'group', 'failover']))
    .option('--bootstrap <hosts>', 'use this broker (HOST:PORT[,...]); default: start a private broker')
    .option('--message-size <bytes>', 'value size in bytes', parseCount, 100)
    .option('--count <n>', 'records per run', parseCount, 1_000_000)
    .option('--partitions <n>', 'partitions of the bench topic', parseCount, 8)
    .addOption(new Option('--acks <acks>', '0, 1 or all').argParser(parseAcks).default(1))
    .addOption(new Option('--flush-mode <mode>', 'flush.mode of the private broker').choices(['os', 'interval', 'always']).default('os'))
    .option('--producers <n>', 'producer processes', parseCount, 1)
    .option('--idempotent', 'idempotent producers (needs --acks all; the SDK default with acks all)')
    .option('--no-idempotent', 'producers without idempotence (one request per partition in flight)')
    .option('--batch-size <bytes>', 'producer batch.size', parseCount)
    .option('--linger-ms <ms>', 'producer linger.ms', parseNonNegative)
    .option('--runs <n>', 'repeat the measurement N times; report median/min/max', parseCount, 1)
    .option('--json <file>', 'result file (default bench/results/<workload>-<timestamp>.json)')
    .option('--topic <name>', 'consume: read this existing topic instead of pre-writing one')
    .option('--rate <msgs>', 'e2e: fixed total send rate, records/s; group: rate of the failover/join stream (default 20000)', parseCount)
    .option('--members <n>', 'group: consumer-group member processes (>= 2: one is killed)', parseCount, 3)
    .addOption(new Option('--api <api>', 'producer SDK call: send (one promise per record) or batch (sendBatch of --chunk records)').choices(['send', 'batch']).default('batch'))
    .option('--chunk <n>', 'records per sendBatch() call with --api batch', parseCount, 500)
    .option('--brokers <n>', 'private cluster size: N broker processes, every one a controller voter (1 = single node)', parseCount, 1)
    .option('--replication-factor <n>', 'replication factor of bench topics (default: --brokers for a private cluster)', parseCount)
    .showHelpAfterError()
    .action((workload: WorkloadName, opts: Omit<BenchOptions, 'workload'>) => {
      parsed = { workload, ...opts };
    });
  program.parse(argv, { from: 'user' });
  if (!parsed) throw new Error('no workload given');
  if (parsed.workload === 'e2e' && parsed.messageSize < 8) {
    program.error('e2e needs --message-size >= 8: each value carries an 8-byte send timestamp');
  }
  if (parsed.idempotent && parsed.acks !== -1) program.error('--idempotent needs --acks all');
  // Neither flag: the SDK's default, idempotent exactly when acks is all.
  if ((parsed.idempotent as boolean | undefined) === undefined) parsed.idempotent = parsed.acks === -1;
  if (parsed.topic !== undefined && parsed.workload !== 'consume') program.error('--topic applies to the consume workload only');
  if (parsed.rate !== undefined && parsed.workload !== 'e2e' && parsed.workload !== 'group') program.error('--rate applies to the e2e and group workloads only');
  if (parsed.workload === 'failover' && (parsed.brokers < 3 || parsed.bootstrap !== undefined)) program.error('failover needs a private cluster: --brokers >= 3 and no --bootstrap');
  if (parsed.workload === 'group' && parsed.members < 2) program.error('group needs --members >= 2: the failover kills one');
  if (parsed.workload === 'group' && parsed.messageSize < 6) program.error('group needs --message-size >= 6: stream values carry a 6-byte sequence number');
  return parsed;
}
