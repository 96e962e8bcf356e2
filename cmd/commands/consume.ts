/**
 * `ferry consume TOPIC`: print records as they arrive, one per line on stdout.
 *
 * Starts at the latest offset by default, or `--from-beginning` / `--offset N` (N applies to every
 * consumed partition). Reads all partitions unless `--partition N` picks one; no group is joined,
 * partitions are assigned directly, so nothing is committed.
 *
 * `--group G` joins consumer group G instead: the coordinator assigns partitions, reading starts at
 * the group's committed offsets (else where --from-beginning / latest says), offsets of printed
 * records are auto-committed while it runs and committed once more on exit (close() commits what
 * was printed, then leaves the group).
 *
 * Stops, exiting 0, after `--max-messages`, after `--timeout-ms` without a new record, on SIGINT or
 * SIGTERM, or when stdout's reader goes away (EPIPE, e.g. `| head`). The iterator is raced against
 * those stop signals rather than awaited alone, because a pending long-poll must not delay the exit.
 */
import { Option, type Command } from 'commander';
import { ErrorCode, FerryError } from '../../src/client/index.js';
import { addBootstrapOption, action, closeQuietly, connect, parseNonNegativeInt, parsePositiveInt } from './common.js';
import { formatRecord, type OutputFormat } from './record-format.js';
import { Progress } from './progress.js';

interface ConsumeOpts {
  bootstrap: string;
  fromBeginning?: boolean;
  offset?: number;
  latest?: boolean;
  partition?: number;
  maxMessages?: number;
  timeoutMs?: number;
  format: OutputFormat;
  printKey?: boolean;
  group?: string;
}

type StopReason = 'max-messages' | 'timeout' | 'signal' | 'epipe';

/** How long the exit waits for close(), ms: a group member commits and leaves its group then. */
const CLOSE_TIMEOUT_MS = 2_000;
const CLOSE_GROUP_TIMEOUT_MS = 10_000;

export function registerConsumeCommand(program: Command): void {
  addBootstrapOption(
    program
      .command('consume')
      .description('print records from a topic, one per line')
      .argument('<topic>', 'topic to read')
      .addOption(new Option('--from-beginning', 'start at the earliest offset').conflicts(['offset', 'latest']))
      .addOption(new Option('--offset <n>', 'start at offset N (in each partition)').argParser(parseNonNegativeInt).conflicts(['latest']))
      .option('--latest', 'start at the end: only records produced from now on (default)')
      .option('--partition <n>', 'read only this partition (default: all)', parseNonNegativeInt)
      .option('--max-messages <n>', 'exit after N records', parsePositiveInt)
      .option('--timeout-ms <n>', 'exit after N ms without a new record', parsePositiveInt)
      .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
      .option('--print-key', 'text format: print KEY<TAB>VALUE')
      .addOption(new Option('--group <group>', 'join this consumer group and commit what was printed').conflicts(['offset', 'partition'])),
  ).action(action(consume));
}

async function consume(topic: string, opts: ConsumeOpts): Promise<number> {
  const ferry = connect(opts.bootstrap);
  const start: 'earliest' | 'latest' | number = opts.fromBeginning ? 'earliest' : (opts.offset ?? 'latest');
  const consumer = ferry.consumer({
    autoOffsetReset: typeof start === 'number' ? 'none' : start,
    ...(opts.group !== undefined ? { groupId: opts.group } : {}),
  });
  let consumed = 0;
  const progress = new Progress(
    () => consumed,
    (n, rate) => `consumed ${n} records (${Math.round(rate)}/s)`,
  );

  // Every way of stopping resolves this one promise; the read loop races it.
  let stop!: (reason: StopReason) => void;
  const stopped = new Promise<StopReason>((resolve) => (stop = resolve));
  const onSignal = () => stop('signal');
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    // EPIPE is the normal end of `| head`; any other write error also ends the run, reported.
    if (err.code !== 'EPIPE') process.stderr.write(`ferry: stdout: ${err.message}\n`);
    stop('epipe');
  });
  let idleTimer: NodeJS.Timeout | undefined;
  const armIdleTimer = () => {
    if (opts.timeoutMs === undefined) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => stop('timeout'), opts.timeoutMs);
  };

  try {
    if (opts.group !== undefined) {
      await partitionsToRead(ferry, topic, undefined); // fails clearly on an unknown topic
      consumer.subscribe({ topics: [topic] });
    } else {
      const partitions = await partitionsToRead(ferry, topic, opts.partition);
      // Without an explicit offset the consumer starts where autoOffsetReset (set from `start`) says.
      consumer.assign(partitions.map((partition) => ({ topic, partition, ...(typeof start === 'number' ? { offset: start } : {}) })));
    }
    progress.start();
    armIdleTimer();

    const records = consumer[Symbol.asyncIterator]();
    let reason: StopReason | undefined;
    while (reason === undefined) {
      const next = await Promise.race([records.next(), stopped]);
      if (typeof next === 'string') {
        reason = next;
        break;
      }
      if (next.done) break;
      armIdleTimer();
      consumed++;
      if (!process.stdout.write(formatRecord(next.value, opts.format, opts.printKey === true))) {
        // Respect a slow reader instead of buffering without bound.
        const drained = new Promise<void>((resolve) => process.stdout.once('drain', resolve));
        const r = await Promise.race([drained, stopped]);
        if (typeof r === 'string') reason = r;
      }
      if (opts.maxMessages !== undefined && consumed >= opts.maxMessages) reason = 'max-messages';
    }
  } finally {
    clearTimeout(idleTimer);
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // A group member commits and leaves on close: give it longer than a plain reader.
    const closed = consumer.close().catch((err: unknown) => process.stderr.write(`ferry: close: ${String(err)}\n`));
    await Promise.race([closed, delay(opts.group !== undefined ? CLOSE_GROUP_TIMEOUT_MS : CLOSE_TIMEOUT_MS)]);
    await closeQuietly(ferry);
  }
  process.stderr.write(`Processed a total of ${consumed} messages\n`);
  return 0;
}

/** The partitions to assign: the one asked for (checked to exist) or all of the topic's. */
async function partitionsToRead(ferry: ReturnType<typeof connect>, topic: string, only: number | undefined): Promise<number[]> {
  const { topics } = await ferry.admin().metadata([topic]);
  const found = topics.find((t) => t.name === topic);
  if (!found) throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${topic}`);
  const all = found.partitions.map((p) => p.partition).sort((a, b) => a - b);
  if (only === undefined) return all;
  if (!all.includes(only)) {
    throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${topic} has no partition ${only} (it has ${all.length})`);
  }
  return [only];
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
