/**
 * `ferry topic create|list|describe|delete`: topic administration through the SDK's admin client.
 *
 * `create --replication-factor R` asks for R replicas per partition (the broker's default when
 * omitted; a single node accepts only 1). Human output is a plain table on stdout (describe's layout:
 * topic-describe.ts); `--format json` (list, describe) prints one JSON document for scripts. Failures (topic exists, unknown topic, bad config) surface as the SDK's FerryError and
 * reach the shared error boundary, which prints `ferry: CODE: message` and exits 1.
 */
import { Option, type Command } from 'commander';
import { addBootstrapOption, action, closeQuietly, collectKeyValue, connect, parsePositiveInt } from './common.js';
import { formatTable } from './table.js';
import { formatTopicDescription } from './topic-describe.js';

interface BootstrapOpts {
  bootstrap: string;
}

interface CreateOpts extends BootstrapOpts {
  partitions: number;
  replicationFactor?: number;
  config?: Record<string, string>;
}

interface FormatOpts extends BootstrapOpts {
  format: 'text' | 'json';
}

const formatOption = () => new Option('--format <format>', 'output format').choices(['text', 'json']).default('text');

export function registerTopicCommand(program: Command): void {
  const topic = program.command('topic').description('create, list, describe and delete topics');

  addBootstrapOption(
    topic
      .command('create')
      .description('create a topic')
      .argument('<name>', 'topic name')
      .requiredOption('--partitions <n>', 'number of partitions', parsePositiveInt)
      .option('--replication-factor <r>', 'replicas per partition, at most the number of brokers (default: the broker default)', parsePositiveInt)
      .option('--config <key=value>', 'topic config override, e.g. retention.ms=86400000 (repeatable)', collectKeyValue),
  ).action(action(createTopic));

  addBootstrapOption(
    topic.command('list').description('list topics').addOption(formatOption()),
  ).action(action(listTopics));

  addBootstrapOption(
    topic
      .command('describe')
      .description('show partitions (leader, replicas, ISR, epochs, offsets) and configs of a topic')
      .argument('<name>', 'topic name')
      .addOption(formatOption()),
  ).action(action(describeTopic));

  addBootstrapOption(
    topic.command('delete').description('delete a topic and all its data').argument('<name>', 'topic name'),
  ).action(action(deleteTopic));
}

async function createTopic(name: string, opts: CreateOpts): Promise<void> {
  const ferry = connect(opts.bootstrap);
  try {
    await ferry.admin().createTopics([
      {
        name,
        partitions: opts.partitions,
        ...(opts.replicationFactor !== undefined ? { replicationFactor: opts.replicationFactor } : {}),
        ...(opts.config ? { configs: opts.config } : {}),
      },
    ]);
    process.stdout.write(`created topic ${name}\n`);
  } finally {
    await closeQuietly(ferry);
  }
}

async function listTopics(opts: FormatOpts): Promise<void> {
  const ferry = connect(opts.bootstrap);
  try {
    const topics = [...(await ferry.admin().listTopics())].sort((a, b) => a.name.localeCompare(b.name));
    if (opts.format === 'json') {
      process.stdout.write(`${JSON.stringify(topics, jsonSafe)}\n`);
      return;
    }
    const rows = topics.map((t) => [t.name, t.partitions, t.replicationFactor]);
    process.stdout.write(`${formatTable(['TOPIC', 'PARTITIONS', 'REPLICATION-FACTOR'], rows)}\n`);
  } finally {
    await closeQuietly(ferry);
  }
}

async function describeTopic(name: string, opts: FormatOpts): Promise<void> {
  const ferry = connect(opts.bootstrap);
  try {
    const [description] = await ferry.admin().describeTopics([name]);
    if (!description) throw new Error(`broker returned no description for topic ${name}`);
    if (opts.format === 'json') {
      process.stdout.write(`${JSON.stringify(description, jsonSafe)}\n`);
      return;
    }
    process.stdout.write(`${formatTopicDescription(description)}\n`);
  } finally {
    await closeQuietly(ferry);
  }
}

async function deleteTopic(name: string, opts: BootstrapOpts): Promise<void> {
  const ferry = connect(opts.bootstrap);
  try {
    await ferry.admin().deleteTopics([name]);
    process.stdout.write(`deleted topic ${name}\n`);
  } finally {
    await closeQuietly(ferry);
  }
}

/** JSON.stringify replacer: int64 fields may arrive as bigint, which JSON cannot carry. */
export function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}
