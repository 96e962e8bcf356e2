/**
 * Checks one run's history (history.ts). Violations (any fails the run):
 *  - lost: an acknowledged record (acks=all) is nowhere in the final read;
 *  - misplaced: an acknowledged record is in the final read, but not at the partition/offset its ack
 *    named (that offset holds another record, or nothing);
 *  - conflict: one partition/offset seen holding two different records (acks, deliveries, final read);
 *  - reordered: two acknowledged records of one producer in one partition whose offsets are not in
 *    send order (a retried batch stored twice explains an inversion: such pairs are not counted);
 *  - vanished: a record a group member was delivered (consumers read below the high watermark only)
 *    is not at that offset in the final read;
 *  - replica: a broker's replica (its segment files after the run) in the partition's final ISR holds
 *    a different record than the final read at an offset below the high watermark, or a record where
 *    the final read has a gap (a divergence a later failover would expose). A replica out of the ISR
 *    (the harness waits up to 30 s for full ISRs) may still be truncating a divergent tail: counted
 *    as not converged, not a violation;
 *  - group: the committed offset of a partition, as FetchOffsets answered over time, moves backwards;
 *    a FetchOffsets invoked after a commit was acknowledged answers less than it; a record below an
 *    acknowledged commit was never delivered to any member; a commit past the final log end.
 *  - duplicated, when the run's producers were idempotent (the 'run' event says so): a record
 *    stored more than once. Each record is sent once by the workload, so only a producer retry can
 *    store it twice, which idempotence must prevent (the leader answers a re-sent batch with its
 *    original offsets).
 * Counted, not violations: duplicated when the producers were not idempotent (a retry after a lost
 * answer stores the record again), failed sends (outcome unknown).
 */
import type { HistoryEvent } from './history.js';

type Ev<T extends HistoryEvent['type']> = Extract<HistoryEvent, { type: T }>;

export interface CheckResult {
  ok: boolean;
  seed: number;
  ops: number;
  acked: number;
  failed: number;
  lost: number;
  misplaced: number;
  conflicts: number;
  duplicated: number;
  reordered: number;
  vanished: number;
  groupViolations: number;
  /** Replica offsets below the high watermark disagreeing with the final read. */
  replicaDivergent: number;
  /** Replicas (node/partition) missing some offsets below the high watermark (lagging: counted, not a violation). */
  replicasLagging: number;
  /** Replicas out of their partition's ISR at the end (the ISR never became full again). */
  outOfIsr: number;
  /** Offsets where a replica out of the ISR disagreed with the final read (not converged yet). */
  unconvergedOffsets: number;
  delivered: number;
  commitsAcked: number;
  unavailableSeconds: number;
  faults: Record<string, number>;
  /** Human-readable violations (the first 50 of each kind). */
  violations: string[];
  /** Violations of tolerated kinds (CheckOptions.tolerate): reported, not failing. */
  known: string[];
}

function seqOf(id: string): number {
  const i = id.lastIndexOf('-');
  return Number(id.slice(i + 1));
}

/** Violation kinds (the prefix of each violation line). */
export const VIOLATION_KINDS = ['incomplete', 'lost', 'misplaced', 'conflict', 'reordered', 'duplicated', 'vanished', 'replica', 'group-backwards', 'group-lost-commit', 'group-past-end', 'group-undelivered'] as const;

export interface CheckOptions {
  /**
   * Violation kinds of known, reported bugs (docs/CHAOS.md): listed under `known` and in the counts,
   * but they do not fail the run. For CI, so a known bug does not hide a new one.
   */
  tolerate?: readonly string[];
}

export function check(events: readonly HistoryEvent[], opts: CheckOptions = {}): CheckResult {
  const tolerate = new Set(opts.tolerate ?? []);
  const known: string[] = [];
  const of = <T extends HistoryEvent['type']>(type: T) => events.filter((e): e is Ev<T> => e.type === type);
  const run = of('run')[0];
  const sends = of('send');
  const acks = of('ack');
  const fails = of('send-fail');
  const delivers = of('deliver');
  const finals = of('final');
  const violations: string[] = [];
  const cap = new Map<string, number>();
  const report = (kind: string, text: string) => {
    const n = (cap.get(kind) ?? 0) + 1;
    cap.set(kind, n);
    const into = tolerate.has(kind) ? known : violations;
    if (n <= 50) into.push(`${kind}: ${text}`);
    else if (n === 51) into.push(`${kind}: … more`);
  };

  // The final read: partition -> offset -> id; id -> where it is.
  const final = new Map<number, Ev<'final'>>();
  for (const f of finals) final.set(f.partition, f);
  const idAt = (p: number, o: number): string | null | undefined => {
    const f = final.get(p);
    if (!f || o < f.logStart || o >= f.end) return undefined;
    return f.ids[o - f.logStart] ?? null;
  };
  const where = new Map<string, Array<[number, number]>>();
  for (const f of finals) {
    f.ids.forEach((id, i) => {
      if (id === null) return;
      let w = where.get(id);
      if (!w) where.set(id, (w = []));
      w.push([f.partition, f.logStart + i]);
    });
  }
  if (finals.length === 0) report('incomplete', 'no final read in the history');

  let duplicated = 0;
  for (const [id, w] of where) if (w.length > 1) {
    duplicated++;
    if (run?.idempotent) report('duplicated', `${id} stored ${w.length} times (${w.map(([p, o]) => `${p}@${o}`).join(', ')}) by an idempotent producer`);
  }

  // Acknowledged records.
  let lost = 0;
  let misplaced = 0;
  // Without a final read (the cluster never came back), the replicas' files still tell whether an
  // acknowledged record survives anywhere.
  const replicaEvents = of('replica');
  const onSomeReplica = (p: number, o: number, id: string) => replicaEvents.some((r) => r.partition === p && r.ids[o - r.start] === id);
  for (const a of acks) {
    if (!final.has(a.partition)) {
      if (replicaEvents.length > 0 && !onSomeReplica(a.partition, a.offset, a.id)) {
        lost++;
        report('lost', `${a.id} acked at ${a.partition}@${a.offset} (t=${a.t} ms) is on no replica (no final read: the partition had no leader)`);
      }
      continue; // otherwise reported as incomplete
    }
    const at = idAt(a.partition, a.offset);
    if (at === a.id) continue;
    const w = where.get(a.id);
    if (!w) {
      lost++;
      report('lost', `${a.id} acked at ${a.partition}@${a.offset} (t=${a.t} ms) is not in the final read (offset holds ${at === undefined ? 'nothing: beyond the log end ' + final.get(a.partition)!.end : JSON.stringify(at)})`);
    } else {
      misplaced++;
      report('misplaced', `${a.id} acked at ${a.partition}@${a.offset} (t=${a.t} ms) is at ${w.map(([p, o]) => `${p}@${o}`).join(', ')}; ${a.partition}@${a.offset} holds ${at === undefined ? 'nothing' : JSON.stringify(at)}`);
    }
  }

  // One offset, one record: acks, deliveries and the final read together.
  const seen = new Map<string, { id: string; src: string }>();
  let conflicts = 0;
  const observe = (p: number, o: number, id: string, src: string) => {
    const k = `${p}@${o}`;
    const prev = seen.get(k);
    if (!prev) seen.set(k, { id, src });
    else if (prev.id !== id) {
      conflicts++;
      report('conflict', `${k} holds ${prev.id} (${prev.src}) and ${id} (${src})`);
    }
  };
  for (const f of finals) f.ids.forEach((id, i) => id !== null && observe(f.partition, f.logStart + i, id, 'final read'));
  for (const a of acks) observe(a.partition, a.offset, a.id, `ack to ${a.producer} t=${a.t}`);
  for (const d of delivers) observe(d.partition, d.offset, d.id, `delivered to ${d.member} t=${d.t}`);

  // Records a member was delivered must still be there.
  let vanished = 0;
  const deliveredAt = new Set<string>();
  for (const d of delivers) {
    deliveredAt.add(`${d.partition}@${d.offset}`);
    if (!final.has(d.partition)) continue;
    const at = idAt(d.partition, d.offset);
    if (at !== d.id && !(at === undefined && d.offset < final.get(d.partition)!.logStart)) {
      vanished++;
      report('vanished', `${d.id} delivered to ${d.member} from ${d.partition}@${d.offset} (t=${d.t}) is not there in the final read (${at === undefined ? 'beyond the log end ' + final.get(d.partition)!.end : JSON.stringify(at)})`);
    }
  }

  // Per producer and partition, acked offsets follow send order.
  let reordered = 0;
  const byPP = new Map<string, Ev<'ack'>[]>();
  for (const a of acks) {
    const k = `${a.producer}/${a.partition}`;
    let l = byPP.get(k);
    if (!l) byPP.set(k, (l = []));
    l.push(a);
  }
  for (const [k, l] of byPP) {
    l.sort((x, y) => seqOf(x.id) - seqOf(y.id));
    for (let i = 1; i < l.length; i++) {
      const prev = l[i - 1]!;
      const cur = l[i]!;
      if (cur.offset > prev.offset) continue;
      // Explained if the earlier record also sits below the later one (stored twice by a retry).
      const copies = where.get(prev.id) ?? [];
      if (copies.some(([p, o]) => p === cur.partition && o < cur.offset)) continue;
      reordered++;
      report('reordered', `${k}: ${prev.id} acked at offset ${prev.offset} but ${cur.id}, sent after it, at ${cur.offset}`);
    }
  }

  // Consumer group.
  let groupViolations = 0;
  const polls = of('committed').sort((a, b) => a.invokedT - b.invokedT);
  const lastPolled = new Map<number, { offset: number; t: number }>();
  for (const poll of polls) {
    for (const [p, o] of poll.offsets) {
      const prev = lastPolled.get(p);
      if (prev && o < prev.offset) {
        groupViolations++;
        report('group-backwards', `committed offset of partition ${p} moved backwards: ${prev.offset} (FetchOffsets at t=${prev.t}) then ${o} (t=${poll.invokedT})`);
      }
      lastPolled.set(p, { offset: o, t: poll.invokedT });
    }
  }
  const commitsOk = of('commit-ok');
  for (const c of commitsOk) {
    const later = polls.find((poll) => poll.invokedT > c.t && poll.offsets.some(([p, o]) => p === c.partition && o < c.offset));
    if (later) {
      const o = later.offsets.find(([p]) => p === c.partition)![1];
      groupViolations++;
      report('group-lost-commit', `commit of ${c.partition}@${c.offset} by ${c.member} acknowledged at t=${c.t}, but FetchOffsets invoked at t=${later.invokedT} answered ${o}`);
    }
  }
  const maxCommit = new Map<number, Ev<'commit-ok'>>();
  for (const c of commitsOk) if ((maxCommit.get(c.partition)?.offset ?? -1) < c.offset) maxCommit.set(c.partition, c);
  for (const [p, c] of maxCommit) {
    const f = final.get(p);
    if (!f) continue;
    if (c.offset > f.end) {
      groupViolations++;
      report('group-past-end', `commit of ${p}@${c.offset} (${c.member}, t=${c.t}) is past the final log end ${f.end}`);
    }
    const missing: number[] = [];
    for (let o = f.logStart; o < Math.min(c.offset, f.end); o++) {
      if (f.ids[o - f.logStart] !== null && !deliveredAt.has(`${p}@${o}`)) missing.push(o);
    }
    if (missing.length > 0) {
      groupViolations++;
      report('group-undelivered', `partition ${p}: ${missing.length} records below the acknowledged commit ${c.offset} were never delivered (first offsets ${missing.slice(0, 5).join(', ')})`);
    }
  }

  // Every replica agrees with the final read below the high watermark.
  let replicaDivergent = 0;
  let replicasLagging = 0;
  let unconvergedOffsets = 0;
  const isrView = of('isr').pop();
  const inIsr = (node: number, p: number) => !isrView || (isrView.partitions.find((x) => x.partition === p)?.isr.includes(node) ?? false);
  let outOfIsr = 0;
  for (const p of isrView?.partitions ?? []) outOfIsr += p.replicas.filter((r) => !p.isr.includes(r)).length;
  for (const r of of('replica')) {
    const f = final.get(r.partition);
    if (!f) continue;
    const member = inIsr(r.node, r.partition);
    let missing = 0;
    for (let o = f.logStart; o < f.end; o++) {
      const want = f.ids[o - f.logStart] ?? null;
      const i = o - r.start;
      const have = i >= 0 && i < r.ids.length ? r.ids[i] ?? null : undefined;
      if (have === undefined) {
        if (want !== null) missing++;
        continue;
      }
      if (have !== want && !(have === null && want === null)) {
        if (have === null) {
          missing++;
          continue;
        }
        if (!member) {
          unconvergedOffsets++;
          continue;
        }
        replicaDivergent++;
        report('replica', `node ${r.node}'s replica of partition ${r.partition} holds ${have} at offset ${o}, the final read ${JSON.stringify(want)}`);
      }
    }
    if (missing > 0) replicasLagging++;
  }

  // Unavailability: whole seconds between the first send and the producers' stop without an ack.
  const stopT = of('phase').find((p) => p.name === 'producers-stopped')?.t ?? (sends.length ? sends[sends.length - 1]!.t : 0);
  const firstT = sends[0]?.t ?? 0;
  const ackSeconds = new Set(acks.map((a) => Math.floor(a.t / 1000)));
  let unavailableSeconds = 0;
  for (let s = Math.ceil(firstT / 1000); s < Math.floor(stopT / 1000); s++) if (!ackSeconds.has(s)) unavailableSeconds++;

  const faults: Record<string, number> = {};
  for (const f of of('fault-start')) faults[f.kind] = (faults[f.kind] ?? 0) + 1;

  return {
    ok: violations.length === 0,
    seed: run?.seed ?? -1,
    ops: sends.length,
    acked: acks.length,
    failed: fails.length,
    lost,
    misplaced,
    conflicts,
    duplicated,
    reordered,
    vanished,
    groupViolations,
    replicaDivergent,
    replicasLagging,
    outOfIsr,
    unconvergedOffsets,
    delivered: delivers.length,
    commitsAcked: commitsOk.length,
    unavailableSeconds,
    faults,
    violations,
    known,
  };
}

export function summaryLine(r: CheckResult): string {
  const faults = Object.entries(r.faults).map(([k, v]) => `${k}:${v}`).join(',') || 'none';
  return (
    `seed=${r.seed} ops=${r.ops} acked=${r.acked} failed=${r.failed} lost=${r.lost} duplicated=${r.duplicated} reordered=${r.reordered} ` +
    `misplaced=${r.misplaced} conflicts=${r.conflicts} vanished=${r.vanished} group=${r.groupViolations} replica=${r.replicaDivergent} lagging=${r.replicasLagging} outOfIsr=${r.outOfIsr} unconverged=${r.unconvergedOffsets} delivered=${r.delivered} ` +
    `commits=${r.commitsAcked} unavailable=${r.unavailableSeconds}s faults=${faults} => ${r.ok ? 'OK' : 'FAIL'}` +
    (r.known.length ? ` (${r.known.length} tolerated: ${[...new Set(r.known.map((k) => k.split(':')[0]))].join(', ')})` : '')
  );
}
