/**
 * `ferry produce TOPIC`: one record per stdin line.
 *
 * stdin is streamed line by line (never read whole), and at most MAX_OUTSTANDING_RECORDS sends are
 * unacknowledged at once: enough for the producer to batch, while memory stays bounded however big
 * the input is. When the window is full the loop stops pulling lines, and readline pauses stdin.
 *
 * stdout stays empty; a summary of acknowledged records (count, per-partition offset ranges,
 * errors) goes to stderr. Exit status is 1 if any record failed, else 0. Each distinct error is also
 * printed the first time it happens, so an interactive user is not left waiting for EOF to learn
 * that the topic does not exist.
 */
import { createInterface } from 'node:readline';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ErrorCode, FerryError, type Ferry } from '../../src/client/index.js';
import { addBootstrapOption, action, closeQuietly, collectKeyValue, connect, describeError, parseNonNegativeInt } from './common.js';
import { ProduceSummary } from './produce-summary.js';
import { Progress } from './progress.js';

/** Unacknowledged sends allowed at once; bounds memory while leaving room to fill batches. */
const MAX_OUTSTANDING_RECORDS = 10_000;

type Acks = 0 | 1 | 'all';

interface ProduceOpts {
  bootstrap: string;
  keySeparator?: string;
  acks: Acks;
  partition?: number;
  header?: Record<string, string>;
}

export function registerProduceCommand(program: Command): void {
  addBootstrapOption(
    program
      .command('produce')
      .description('send one record per line of stdin to a topic')
      .argument('<topic>', 'topic to write to')
      .option('--key-separator <sep>', 'split each line into key and value at the first SEP')
      .addOption(new Option('--acks <acks>', 'acknowledgement level: 0, 1 or all').argParser(parseAcks).default('all' as Acks))
      .option('--partition <n>', 'write every record to this partition (default: by key / sticky)', parseNonNegativeInt)
      .option('--header <key=value>', 'header added to every record (repeatable)', collectKeyValue),
  ).action(action(produce));
}

function parseAcks(value: string): Acks {
  if (value === '0') return 0;
  if (value === '1') return 1;
  if (value === 'all' || value === '-1') return 'all';
  throw new InvalidArgumentError('expected 0, 1 or all');
}

async function produce(topic: string, opts: ProduceOpts): Promise<number> {
  const ferry = connect(opts.bootstrap);
  // Fail fast on a missing topic or partition: the producer would retry UNKNOWN_TOPIC_OR_PARTITION
  // (the topic may be being created) until its delivery timeout, leaving the user waiting minutes.
  // The check does not auto-create topics: the CLI writes only to topics that exist.
  try {
    await checkTarget(ferry, topic, opts.partition);
  } catch (err) {
    await closeQuietly(ferry);
    throw err;
  }
  const producer = ferry.producer({ acks: opts.acks });
  const summary = new ProduceSummary(opts.acks === 0);
  const headers = opts.header ? Object.entries(opts.header).map(([key, value]) => ({ key, value: Buffer.from(value) })) : undefined;
  const progress = new Progress(
    () => summary.acknowledged,
    (n, rate) => `produced ${n} records (${Math.round(rate)}/s)`,
  ).start();

  let outstanding = 0;
  let wakeReader: (() => void) | undefined;
  const settled = () => {
    outstanding--;
    const wake = wakeReader;
    wakeReader = undefined;
    wake?.();
  };

  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      let key: Buffer | undefined;
      let value = line;
      if (opts.keySeparator !== undefined) {
        const at = line.indexOf(opts.keySeparator);
        if (at < 0) {
          summary.fail('NO_KEY_SEPARATOR', `line ${lineNumber}: no key separator ${JSON.stringify(opts.keySeparator)}`);
          continue;
        }
        key = Buffer.from(line.slice(0, at));
        value = line.slice(at + opts.keySeparator.length);
      }
      outstanding++;
      summary.sent++;
      producer
        .send({
          topic,
          value: Buffer.from(value),
          ...(key !== undefined ? { key } : {}),
          ...(headers ? { headers } : {}),
          ...(opts.partition !== undefined ? { partition: opts.partition } : {}),
        })
        .then(
          (meta) => summary.ack(meta.partition, Number(meta.offset)),
          (err: unknown) => summary.fail(errorCode(err), describeError(err)),
        )
        .finally(settled);
      if (outstanding >= MAX_OUTSTANDING_RECORDS) {
        await new Promise<void>((resolve) => (wakeReader = resolve));
      }
    }
    await producer.flush().catch((err: unknown) => summary.fail(errorCode(err), describeError(err)));
    while (outstanding > 0) await new Promise<void>((resolve) => (wakeReader = resolve));
  } finally {
    progress.stop();
    await producer.close().catch(() => undefined);
    await closeQuietly(ferry);
  }
  process.stderr.write(summary.render(topic));
  return summary.failed > 0 ? 1 : 0;
}

async function checkTarget(ferry: Ferry, topic: string, partition: number | undefined): Promise<void> {
  const { topics } = await ferry.admin().metadata([topic]);
  const found = topics.find((t) => t.name === topic);
  if (!found) throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${topic}`);
  if (partition !== undefined && !found.partitions.some((p) => p.partition === partition)) {
    throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${topic} has no partition ${partition} (it has ${found.partitions.length})`);
  }
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'ERROR';
}
