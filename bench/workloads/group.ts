/**
 * group: issue 3's consumer-group speed figures, each run in two parts.
 *  1. Throughput: `--members` member processes (group-member-worker.ts) join one fresh group
 *     together and read the pre-written `--count` records (once for all runs, like `consume`);
 *     msgs/s from the first record any member received to the last, and an exactly-once check
 *     over all members' offsets (duplicates and missing records are figures, per-member counts
 *     are in the details).
 *  2. Failover and join on a steady stream (group-failover.ts).
 * Members use default consumer configs except autoOffsetReset 'earliest' (a fresh group must see
 * what was written before it joined); the broker uses its defaults (session timeout 10 s).
 */
import { perSecond, round, type BenchContext } from '../context.js';
import { coverage } from '../group-ledger.js';
import { ledgers, MemberSet, timeline, waitUntil } from '../group-members.js';
import { monoMs } from '../group-protocol.js';
import { ProgressLine, fmtInt } from '../progress.js';
import type { RunResult } from '../report.js';
import { prepareConsume } from './consume.js';
import { benchFailoverAndJoin } from './group-failover.js';

/** A run fails after this long without a new record. */
const IDLE_TIMEOUT_MS = 30_000;
/** After the last record, how long to wait for a balanced assignment (for the report only). */
const BALANCE_WAIT_MS = 5_000;

export interface GroupTarget {
  topic: string;
  /** Records per partition (offsets 0..n-1: the topic is fresh). */
  expected: number[];
  records: number;
}

/** Pre-writes `--count` records once; `--rate` is the stream's rate, not the pre-write's. */
export async function prepareGroup(ctx: BenchContext): Promise<GroupTarget> {
  const { rate: _streamRate, ...opts } = ctx.opts;
  const t = await prepareConsume({ ...ctx, opts });
  const latest = await ctx.ferry.admin().listOffsets(t.topic, t.partitions, 'latest');
  const expected = new Array<number>(t.partitions.length).fill(0);
  for (const o of latest) expected[o.partition] = o.offset;
  return { topic: t.topic, expected, records: t.records };
}

export async function benchGroup(ctx: BenchContext, target: GroupTarget, run: number): Promise<RunResult> {
  const tp = await throughput(ctx, target, run);
  const fj = await benchFailoverAndJoin(ctx, run);
  return { run, figures: { ...tp.figures, ...fj.figures }, details: { throughput: tp.details, ...fj.details } };
}

async function throughput(ctx: BenchContext, target: GroupTarget, run: number): Promise<Omit<RunResult, 'run'>> {
  const groupId = `bench-group-tp-${Date.now().toString(36)}-${run}`;
  const set = new MemberSet({ bootstrap: ctx.bootstrap, topic: target.topic, groupId, key: 'offset' });
  const progress = new ProgressLine(`group ${run}/${ctx.opts.runs} throughput`, () => set.received(), () => set.owners());
  try {
    for (let i = 1; i <= ctx.opts.members; i++) set.spawn(`t${i}`, true);
    // Forked and connected first, then started together, so process start-up is not measured.
    await Promise.all(set.members.map((m) => m.whenReady()));
    progress.start();
    const startMs = monoMs();
    for (const m of set.members) m.start();

    let lastCount = 0;
    let lastChangeMs = monoMs();
    let doneAtMs = 0;
    const done = await waitUntil(
      set,
      () => {
        const n = set.received();
        if (n !== lastCount) [lastCount, lastChangeMs] = [n, monoMs()];
        if (monoMs() - lastChangeMs > IDLE_TIMEOUT_MS) throw new Error(`group stalled at ${fmtInt(n)} of ${fmtInt(target.records)} records`);
        if (n < target.records || coverage(ledgers(set.members), target.expected).missing > 0) return false;
        doneAtMs = Math.max(...set.members.map((m) => m.lastBatchAtMs ?? 0));
        return true;
      },
      Infinity,
    );
    progress.stop();
    if (!done) throw new Error('unreachable');
    // A short run can end before the group has settled (members learn of a newer target only at their
    // next heartbeat, 1 s apart): note when the assignment was balanced, as context for msgs/s.
    const balanced = await waitUntil(set, () => set.stable(ctx.opts.partitions), BALANCE_WAIT_MS);
    const balancedAfterMs = balanced ? round(monoMs() - startMs) : null;
    const firstMs = Math.min(...set.members.map((m) => m.firstBatchAtMs ?? Infinity));
    const cov = coverage(ledgers(set.members), target.expected);
    const perMember = set.members.map((m) => ({
      name: m.name,
      records: m.ledger.count,
      partitionsAtEnd: [...m.owned].sort((a, b) => a - b),
      joinedAfterMs: m.joinedAtMs !== undefined ? round(m.joinedAtMs - startMs, 1) : null,
      firstRecordAfterMs: m.firstBatchAtMs !== undefined ? round(m.firstBatchAtMs - startMs, 1) : null,
      lastRecordAfterMs: m.lastBatchAtMs !== undefined ? round(m.lastBatchAtMs - startMs, 1) : null,
    }));
    process.stderr.write(
      `  throughput: ${fmtInt(cov.received)} records in ${fmtInt(doneAtMs - firstMs)} ms; first record ${fmtInt(firstMs - startMs)} ms after start; ` +
        `per member ${perMember.map((m) => `${m.name}=${fmtInt(m.records)} (${m.firstRecordAfterMs}–${m.lastRecordAfterMs} ms)`).join(' ')}; duplicates ${cov.duplicates}, missing ${cov.missing}; ` +
        (balanced ? `assignment balanced by ${fmtInt(balancedAfterMs!)} ms after start\n` : `assignment still unbalanced ${BALANCE_WAIT_MS} ms later: ${set.owners()}\n`),
    );
    return {
      figures: { 'msgs/s': round(perSecond(cov.distinct, doneAtMs - firstMs)), dup: cov.duplicates, missing: cov.missing },
      details: {
        topic: target.topic,
        groupId,
        records: target.records,
        received: cov.received,
        elapsedMs: round(doneAtMs - firstMs, 3),
        startToFirstRecordMs: round(firstMs - startMs, 1),
        balancedAfterMs,
        members: perMember,
        partitions: cov.partitions,
        events: timeline(set.members, startMs),
      },
    };
  } finally {
    progress.stop();
    await set.stopAll();
  }
}
