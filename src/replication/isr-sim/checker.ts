/**
 * The ISR simulation's safety properties, checked as events happen (and once more at the end).
 * A violation throws `InvariantViolation`; the runner prints the seed and the trace.
 *
 *  1. hw-monotonic: a leader's HW never moves backwards within its leader epoch, and is never above
 *     its own LEO or the LEO it recorded for any member of the maximal ISR it counted.
 *  2. committed-unique: no offset holds two different records across the committed prefixes (below
 *     the HW) of all leaders and followers.
 *  3. acked-durable: every acks=all acknowledged record is at its offset on every later leader — a
 *     leader of a newer epoch, checked when it takes over and, for one already leading, at the moment
 *     of the ack — and in the final logs of the leader and every ISR member. "Later" is by leader
 *     epoch: a slow broker may still take up an *older* epoch it was once elected for; it can commit
 *     nothing (its ISR has moved on), so it is only held to what was committed before its epoch.
 *  4. no-divergent-tail: a follower appends only on top of a prefix identical to the leader's, i.e.
 *     any divergent tail was truncated before the leader's records were accepted.
 * A partition that went through an unclean election (allowed per topic) may lose committed records
 * by design: properties 2 and 3 stop applying to it from then on; 1 and 4 still hold.
 */
import type { SimLog } from './sim-log.js';

export class InvariantViolation extends Error {
  constructor(
    readonly property: string,
    detail: string,
  ) {
    super(`${property}: ${detail}`);
    this.name = 'InvariantViolation';
  }
}

interface Ack {
  offset: number;
  id: number;
  leaderEpoch: number;
}

interface LeaderView {
  broker: number;
  epoch: number;
  log: SimLog;
}

export class Checker {
  readonly acked: Ack[][];
  /** committed[p][o] = the record id committed at offset o; commitEpoch[p][o] = the leader epoch that first committed it. */
  private committed: number[][];
  private commitEpoch: number[][];
  private unclean = new Set<number>();
  private leaderHw = new Map<string, number>();
  /** Offsets below which a replica's log was already compared with `committed` (reset on truncation). */
  private verified = new Map<string, number>();
  private leaders: Map<number, LeaderView>[];
  ackCount = 0;
  hwAdvances = 0;
  truncations = 0;

  constructor(partitions: number) {
    this.acked = Array.from({ length: partitions }, () => []);
    this.committed = Array.from({ length: partitions }, () => []);
    this.commitEpoch = Array.from({ length: partitions }, () => []);
    this.leaders = Array.from({ length: partitions }, () => new Map());
  }

  isUnclean(p: number): boolean {
    return this.unclean.has(p);
  }

  onUncleanElection(p: number): void {
    this.unclean.add(p);
  }

  onBecomeLeader(p: number, broker: number, epoch: number, log: SimLog): void {
    this.leaders[p]!.set(broker, { broker, epoch, log });
    if (this.unclean.has(p)) return;
    const epochs = this.commitEpoch[p]!;
    let mustHave = 0; // offsets committed by older epochs (commit epochs never decrease along the log)
    while (mustHave < epochs.length && epochs[mustHave]! < epoch) mustHave++;
    for (const a of this.acked[p]!) {
      if (a.leaderEpoch < epoch && log.entries[a.offset]?.id !== a.id) {
        throw new InvariantViolation('acked-durable', `p${p}: acked record ${a.id}@${a.offset} (epoch ${a.leaderEpoch}) missing on new leader b${broker} epoch ${epoch} (has ${log.entries[a.offset]?.id ?? 'nothing'}, LEO ${log.logEndOffset})`);
      }
    }
    if (log.logEndOffset < mustHave) {
      throw new InvariantViolation('acked-durable', `p${p}: new leader b${broker} epoch ${epoch} LEO ${log.logEndOffset} is below offset ${mustHave} committed in older epochs`);
    }
    this.verifyPrefix(p, `L${broker}:${epoch}`, log, Math.min(log.logEndOffset, this.committed[p]!.length));
  }

  onResign(p: number, broker: number): void {
    this.leaders[p]!.delete(broker);
  }

  onLeaderHw(p: number, broker: number, epoch: number, hw: number, log: SimLog, counted: ReadonlyArray<{ id: number; leo: number }>): void {
    this.hwAdvances++;
    const key = `${p}:${broker}:${epoch}`;
    const prev = this.leaderHw.get(key) ?? -1;
    if (hw < prev) throw new InvariantViolation('hw-monotonic', `p${p}: leader b${broker} epoch ${epoch} HW ${prev} → ${hw}`);
    if (hw > log.logEndOffset) throw new InvariantViolation('hw-monotonic', `p${p}: leader b${broker} HW ${hw} above its LEO ${log.logEndOffset}`);
    for (const m of counted) {
      if (m.leo < hw) throw new InvariantViolation('hw-monotonic', `p${p}: leader b${broker} HW ${hw} above ISR member b${m.id}'s LEO ${m.leo}`);
    }
    this.leaderHw.set(key, hw);
    if (this.unclean.has(p)) return;
    const committed = this.committed[p]!;
    const vkey = `L${broker}:${epoch}`;
    this.verifyPrefix(p, vkey, log, Math.min(hw, committed.length));
    for (let o = committed.length; o < hw; o++) {
      committed.push(log.entries[o]!.id);
      this.commitEpoch[p]!.push(epoch);
    }
    this.verified.set(`${p}/${vkey}`, hw);
  }

  onFollowerHw(p: number, broker: number, log: SimLog): void {
    if (this.unclean.has(p)) return;
    this.verifyPrefix(p, `F${broker}`, log, Math.min(log.highWatermark, this.committed[p]!.length));
  }

  onTruncate(p: number, broker: number, offset: number): void {
    this.truncations++;
    const key = `${p}/F${broker}`;
    const v = this.verified.get(key);
    if (v !== undefined && v > offset) this.verified.set(key, offset);
  }

  /** A follower appends `count` records fetched at `fetchOffset`: its prefix must be the leader's. */
  onFollowerAppend(p: number, broker: number, leader: number, fetchOffset: number, ourHash: number, leaderHash: number): void {
    if (ourHash !== leaderHash) {
      throw new InvariantViolation('no-divergent-tail', `p${p}: follower b${broker} appended at ${fetchOffset} from leader b${leader} on top of a different prefix`);
    }
  }

  onAck(p: number, offset: number, id: number, leaderEpoch: number): void {
    this.ackCount++;
    this.acked[p]!.push({ offset, id, leaderEpoch });
    if (this.unclean.has(p)) return;
    for (const l of this.leaders[p]!.values()) {
      if (l.epoch > leaderEpoch && l.log.entries[offset]?.id !== id) {
        throw new InvariantViolation('acked-durable', `p${p}: record ${id}@${offset} acked at epoch ${leaderEpoch} is missing on b${l.broker}, already leader at epoch ${l.epoch}`);
      }
    }
  }

  /** End of run: every acked record on the leader and on each ISR member. */
  finalCheck(p: number, leader: number, isr: readonly number[], logOf: (broker: number) => SimLog): void {
    if (this.unclean.has(p)) return;
    for (const b of leader >= 0 ? [leader, ...isr] : []) {
      const log = logOf(b);
      for (const a of this.acked[p]!) {
        if (log.entries[a.offset]?.id !== a.id) {
          throw new InvariantViolation('acked-durable', `p${p}: at the end, acked record ${a.id}@${a.offset} missing on ${b === leader ? 'leader' : 'ISR member'} b${b} (LEO ${log.logEndOffset})`);
        }
      }
      this.verifyPrefix(p, `final${b}`, log, Math.min(log.highWatermark, this.committed[p]!.length));
    }
  }

  private verifyPrefix(p: number, who: string, log: SimLog, upTo: number): void {
    const key = `${p}/${who}`;
    const committed = this.committed[p]!;
    const from = Math.min(this.verified.get(key) ?? 0, upTo);
    for (let o = from; o < upTo; o++) {
      if (log.entries[o]?.id !== committed[o]) {
        throw new InvariantViolation('committed-unique', `p${p}: ${who} holds ${log.entries[o]?.id ?? 'nothing'} at committed offset ${o}, committed record is ${committed[o]}`);
      }
    }
    this.verified.set(key, Math.max(this.verified.get(key) ?? 0, upTo));
  }
}
