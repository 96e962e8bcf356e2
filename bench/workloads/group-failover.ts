/**
 * group, part 2: failover and join on a steady stream (group-stream.ts, `--rate` records/s on a
 * fresh topic), in one sequence per run so the stream is set up once:
 *  - `--members` members consume until the assignment is stable and every member has records,
 *    then a few seconds more (so auto-commits have happened, as in a long-running group);
 *  - failover: the member owning the most partitions is SIGKILLed; measured from the kill until,
 *    for every partition it owned, a record of that partition reached a survivor (the slowest
 *    partition is the figure). Nobody tells the coordinator, so this is the session timeout plus
 *    the handover; the details split it at the survivors' 'assigned' events;
 *  - join: once the survivors are stable again, a new member process is forked; measured from the
 *    fork, and from its first heartbeat (the moment it calls subscribe(), which sends it), until
 *    its first record;
 *  - the stream stops, every record must arrive: re-deliveries (copies beyond the first, expected
 *    since the victim's last commit) and skipped records (never acceptable) are figures.
 */
import { createBenchTopic, round, type BenchContext } from '../context.js';
import { coverage } from '../group-ledger.js';
import { ledgers, MemberSet, timeline, waitUntil, type Member } from '../group-members.js';
import { monoMs } from '../group-protocol.js';
import { SeqStream } from '../group-stream.js';
import { ProgressLine, fmtInt } from '../progress.js';
import type { RunResult } from '../report.js';

/** Records/s of the stream without --rate: steady load, well below what the group can consume. */
const DEFAULT_RATE = 20_000;
const STABLE_TIMEOUT_MS = 60_000;
/** Steady consumption before the kill: longer than auto.commit.interval.ms (5 s) so commits exist. */
const STEADY_MS = 6_000;
/** Well beyond the default session timeout (10 s) plus a handover. */
const FAILOVER_TIMEOUT_MS = 60_000;
/** Survivors consume alone this long before the join, so the join starts from a quiet group. */
const QUIET_BEFORE_JOIN_MS = 2_000;
const JOIN_TIMEOUT_MS = 60_000;
const DRAIN_TIMEOUT_MS = 60_000;

export async function benchFailoverAndJoin(ctx: BenchContext, run: number): Promise<Omit<RunResult, 'run'>> {
  const o = ctx.opts;
  const topic = await createBenchTopic(ctx, run);
  const groupId = `bench-group-stream-${Date.now().toString(36)}-${run}`;
  const stream = new SeqStream(ctx.ferry, topic, o.partitions, o.rate ?? DEFAULT_RATE, o.messageSize, o.acks);
  const set = new MemberSet({ bootstrap: ctx.bootstrap, topic, groupId, key: 'seq' });
  let phase = 'forming';
  const progress = new ProgressLine(`group ${run}/${o.runs} stream`, () => set.received(), () => `${phase}; ${set.owners()}`);
  const stable = () => set.stable(o.partitions);
  const must = async (what: string, cond: () => boolean, timeoutMs: number) => {
    if (!(await waitUntil(set, cond, timeoutMs))) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${set.owners()})`);
  };
  try {
    stream.start();
    for (let i = 1; i <= o.members; i++) set.spawn(`s${i}`, true);
    await Promise.all(set.members.map((m) => m.whenReady()));
    const t0 = monoMs();
    for (const m of set.members) m.start();
    progress.start();
    await must('a stable assignment', () => stable() && set.live().every((m) => m.firstBatchAtMs !== undefined), STABLE_TIMEOUT_MS);
    phase = 'steady';
    await sleep(STEADY_MS);

    // ── failover ──
    const victim = [...set.live()].sort((a, b) => b.owned.size - a.owned.size)[0]!;
    const victimParts = [...victim.owned].sort((a, b) => a - b);
    const survivors = set.live().filter((m) => m !== victim);
    const resumed = new Map<number, { member: string; atMs: number }>();
    let killMs = Infinity;
    const onBatch = (m: Member, p: number, atMs: number) => {
      if (atMs > killMs && victimParts.includes(p) && !resumed.has(p)) resumed.set(p, { member: m.name, atMs });
    };
    for (const m of survivors) m.onBatch = onBatch;
    killMs = victim.kill();
    phase = `killed ${victim.name} [${victimParts.join(',')}]`;
    await must(`survivors to consume partitions ${victimParts.join(',')}`, () => resumed.size === victimParts.length, FAILOVER_TIMEOUT_MS);
    const failover = victimParts.map((p) => {
      const assigned = survivors.flatMap((m) => m.events.filter((e) => e.type === 'assigned' && e.atMs > killMs && e.partitions!.includes(p)));
      const r = resumed.get(p)!;
      const assignedAtMs = Math.min(...assigned.map((e) => e.atMs));
      return { partition: p, to: r.member, assignedAfterMs: round(assignedAtMs - killMs, 1), firstRecordAfterMs: round(r.atMs - killMs, 1) };
    });
    const failoverMs = Math.max(...failover.map((f) => f.firstRecordAfterMs));
    process.stderr.write(
      `  failover: ${victim.name} SIGKILLed owning [${victimParts.join(',')}]; ` +
        failover.map((f) => `p${f.partition}→${f.to} assigned +${fmtInt(f.assignedAfterMs)} ms, records +${fmtInt(f.firstRecordAfterMs)} ms`).join('; ') +
        '\n',
    );
    await must('a stable assignment after the failover', stable, STABLE_TIMEOUT_MS);
    phase = `steady (${survivors.length} members)`;
    await sleep(QUIET_BEFORE_JOIN_MS);

    // ── join ──
    const joiner = set.spawn(`s${o.members + 1}`, false);
    phase = `${joiner.name} joining`;
    await must(`${joiner.name}'s first record`, () => joiner.firstBatchAtMs !== undefined, JOIN_TIMEOUT_MS);
    const join = {
      member: joiner.name,
      processStartToReadyMs: round(joiner.readyAtMs! - joiner.forkedAtMs, 1),
      firstHeartbeatAfterForkMs: round(joiner.subscribingAtMs! - joiner.forkedAtMs, 1),
      joinedAfterHeartbeatMs: joiner.joinedAtMs !== undefined ? round(joiner.joinedAtMs - joiner.subscribingAtMs!, 1) : null,
      assignedAfterHeartbeatMs: firstAssigned(joiner) !== undefined ? round(firstAssigned(joiner)! - joiner.subscribingAtMs!, 1) : null,
      firstRecordAfterForkMs: round(joiner.firstBatchAtMs! - joiner.forkedAtMs, 1),
      firstRecordAfterHeartbeatMs: round(joiner.firstBatchAtMs! - joiner.subscribingAtMs!, 1),
    };
    process.stderr.write(
      `  join: ${joiner.name} up ${fmtInt(join.firstHeartbeatAfterForkMs)} ms after fork; after its first heartbeat: joined +${join.joinedAfterHeartbeatMs} ms, ` +
        `assigned +${join.assignedAfterHeartbeatMs} ms, first record +${join.firstRecordAfterHeartbeatMs} ms\n`,
    );
    await must('a stable assignment after the join', stable, STABLE_TIMEOUT_MS);

    // ── drain and check ──
    phase = 'draining';
    await stream.stop();
    const expected = stream.sentPerPartition;
    await must('every record sent to arrive', () => coverage(ledgers(set.members), expected).missing === 0, DRAIN_TIMEOUT_MS).catch(() => undefined);
    progress.stop();
    const cov = coverage(ledgers(set.members), expected);
    const victimRedelivered = cov.partitions.filter((p) => victimParts.includes(p.partition)).reduce((n, p) => n + p.duplicates, 0);
    // The victim's partitions receive rate × share records/s, so the re-delivered count says how long
    // before the kill its last commit was (auto-commit every 5 s: expect 0–5 s).
    const rate = o.rate ?? DEFAULT_RATE;
    const sinceCommitMs = round((victimRedelivered / ((rate * victimParts.length) / o.partitions)) * 1000);
    process.stderr.write(
      `  stream: ${fmtInt(cov.received)} records received of ${fmtInt(stream.ackedTotal)} acknowledged (${stream.failed} failed sends); ` +
        `re-delivered ${cov.duplicates} (${victimRedelivered} on the victim's partitions: its last commit ~${fmtInt(sinceCommitMs)} ms before the kill), skipped ${cov.missing}\n`,
    );
    return {
      figures: {
        'failover ms': failoverMs,
        redelivered: cov.duplicates,
        skipped: cov.missing,
        'join ms': join.firstRecordAfterForkMs,
        'join hb ms': join.firstRecordAfterHeartbeatMs,
      },
      details: {
        stream: { topic, groupId, ratePerSec: rate, acked: stream.ackedTotal, failedSends: stream.failed, firstError: stream.firstError },
        failover: { victim: victim.name, partitions: victimParts, perPartition: failover, redeliveredOnVictimPartitions: victimRedelivered, lastCommitBeforeKillMs: sinceCommitMs },
        join,
        coverage: { received: cov.received, distinct: cov.distinct, duplicates: cov.duplicates, missing: cov.missing, partitions: cov.partitions },
        events: timeline(set.members, t0),
      },
    };
  } finally {
    progress.stop();
    await stream.stop();
    await set.stopAll();
  }
}

function firstAssigned(m: Member): number | undefined {
  return m.events.find((e) => e.type === 'assigned' && (e.partitions?.length ?? 0) > 0)?.atMs;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
