/**
 * `ferry group list|describe|lag|reset-offsets|delete`: consumer-group administration through the
 * SDK's admin client.
 *
 * Human output is a plain table on stdout; `--format json` (list, describe, lag) prints one JSON
 * document. `reset-offsets` takes exactly one of --to-earliest / --to-latest / --to-timestamp MS /
 * --to-offset N and works only on a group without members (NON_EMPTY_GROUP otherwise); it prints
 * the offsets it set. Failures reach the shared error boundary (`ferry: CODE: message`, exit 1).
 */
import { Option, type Command } from 'commander';
import type { ResetTarget } from '../../src/client/index.js';
import { addBootstrapOption, action, closeQuietly, connect, parseNonNegativeInt } from './common.js';
import { formatTable } from './table.js';
import { jsonSafe } from './topic.js';

interface BootstrapOpts {
  bootstrap: string;
}

interface FormatOpts extends BootstrapOpts {
  format: 'text' | 'json';
}

interface ResetOpts extends BootstrapOpts {
  topic: string;
  toEarliest?: boolean;
  toLatest?: boolean;
  toTimestamp?: number;
  toOffset?: number;
}

const formatOption = () => new Option('--format <format>', 'output format').choices(['text', 'json']).default('text');
const RESET_FLAGS = ['toEarliest', 'toLatest', 'toTimestamp', 'toOffset'] as const;

export function registerGroupCommand(program: Command): void {
  const group = program.command('group').description('list, describe, show lag of, reset offsets of and delete consumer groups');

  addBootstrapOption(group.command('list').description('list consumer groups').addOption(formatOption())).action(action(listGroups));

  addBootstrapOption(
    group.command('describe').description('state, assignor and members (with assignments) of a group').argument('<group>', 'group id').addOption(formatOption()),
  ).action(action(describeGroup));

  addBootstrapOption(
    group.command('lag').description('committed offset, log end and lag per partition').argument('<group>', 'group id').addOption(formatOption()),
  ).action(action(groupLag));

  addBootstrapOption(
    group
      .command('reset-offsets')
      .description("move an inactive group's committed offsets of a topic")
      .argument('<group>', 'group id')
      .requiredOption('--topic <topic>', 'topic whose partitions to reset')
      .addOption(new Option('--to-earliest', 'to the log start').conflicts(['toLatest', 'toTimestamp', 'toOffset']))
      .addOption(new Option('--to-latest', 'to the log end').conflicts(['toTimestamp', 'toOffset']))
      .addOption(new Option('--to-timestamp <ms>', 'to the first offset at or after this time (ms since the epoch)').argParser(parseNonNegativeInt).conflicts(['toOffset']))
      .addOption(new Option('--to-offset <n>', 'to offset N in every partition (clamped to the log)').argParser(parseNonNegativeInt)),
  ).action(action(resetOffsets));

  addBootstrapOption(group.command('delete').description('delete a group without members and its committed offsets').argument('<group>', 'group id')).action(
    action(deleteGroup),
  );
}

async function listGroups(opts: FormatOpts): Promise<void> {
  const ferry = connect(opts.bootstrap);
  try {
    const groups = await ferry.admin().listGroups();
    if (opts.format === 'json') {
      process.stdout.write(`${JSON.stringify(groups, jsonSafe)}\n`);
      return;
    }
    process.stdout.write(`${formatTable(['GROUP', 'STATE', 'MEMBERS'], groups.map((g) => [g.groupId, g.state, g.members]))}\n`);
  } finally {
    await closeQuietly(ferry);
  }
}

const partitionsText = (parts: { topic: string; partition: number }[]) => {
  const by = new Map<string, number[]>();
  for (const p of parts) by.set(p.topic, [...(by.get(p.topic) ?? []), p.partition]);
  return [...by].map(([t, ps]) => `${t}:${ps.sort((a, b) => a - b).join(',')}`).join(' ') || '-';
};

async function describeGroup(groupId: string, opts: FormatOpts): Promise<void> {
  const ferry = connect(opts.bootstrap);
  try {
    const d = await ferry.admin().describeGroup(groupId);
    if (opts.format === 'json') {
      process.stdout.write(`${JSON.stringify(d, jsonSafe)}\n`);
      return;
    }
    const lines = [
      `Group: ${d.groupId}  State: ${d.state}  Epoch: ${d.groupEpoch}  AssignmentEpoch: ${d.assignmentEpoch}  Assignor: ${d.assignor || '-'}  Members: ${d.members.length}`,
      '',
      formatTable(
        ['MEMBER-ID', 'INSTANCE-ID', 'CLIENT-ID', 'HOST', 'EPOCH', 'ASSIGNMENT', 'TARGET'],
        d.members.map((m) => [m.memberId, m.instanceId || '-', m.clientId || '-', m.clientHost || '-', m.memberEpoch, partitionsText(m.assignment), partitionsText(m.targetAssignment)]),
      ),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await closeQuietly(ferry);
  }
}

async function groupLag(groupId: string, opts: FormatOpts): Promise<void> {
  const ferry = connect(opts.bootstrap);
  try {
    const rows = await ferry.admin().groupLag(groupId);
    if (opts.format === 'json') {
      process.stdout.write(`${JSON.stringify(rows, jsonSafe)}\n`);
      return;
    }
    const total = rows.reduce((n, r) => n + (r.lag ?? 0), 0);
    const table = formatTable(
      ['TOPIC', 'PARTITION', 'COMMITTED', 'LOG-END', 'LAG', 'MEMBER'],
      rows.map((r) => [r.topic, r.partition, r.committed < 0 ? '-' : r.committed, r.logEnd < 0 ? '-' : r.logEnd, r.lag ?? '-', r.memberId || '-']),
    );
    process.stdout.write(`${table}\n\nTotal lag: ${total}\n`);
  } finally {
    await closeQuietly(ferry);
  }
}

async function resetOffsets(groupId: string, opts: ResetOpts): Promise<void> {
  const chosen = RESET_FLAGS.filter((f) => opts[f] !== undefined);
  if (chosen.length !== 1) throw new Error('reset-offsets needs exactly one of --to-earliest, --to-latest, --to-timestamp MS, --to-offset N');
  const target: ResetTarget = opts.toEarliest
    ? 'earliest'
    : opts.toLatest
      ? 'latest'
      : opts.toTimestamp !== undefined
        ? { timestamp: opts.toTimestamp }
        : { offset: opts.toOffset! };
  const ferry = connect(opts.bootstrap);
  try {
    const offsets = await ferry.admin().resetGroupOffsets(groupId, opts.topic, target);
    process.stdout.write(`${formatTable(['TOPIC', 'PARTITION', 'NEW-OFFSET'], offsets.map((o) => [o.topic, o.partition, o.offset]))}\n`);
  } finally {
    await closeQuietly(ferry);
  }
}

async function deleteGroup(groupId: string, opts: BootstrapOpts): Promise<void> {
  const ferry = connect(opts.bootstrap);
  try {
    await ferry.admin().deleteGroups([groupId]);
    process.stdout.write(`deleted group ${groupId}\n`);
  } finally {
    await closeQuietly(ferry);
  }
}
