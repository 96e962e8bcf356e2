/**
 * Which records each member received, as half-open key ranges per partition (keys: offsets or
 * stream sequence numbers, see group-protocol.ts). A member reads a partition in order, so its
 * ranges stay few (a new one starts only where it was handed the partition or re-read it); the
 * exactly-once check then merges all members' ranges per partition instead of holding a set of
 * every record.
 */

export class KeyLedger {
  /** partition → flattened ranges [s0, e0, s1, e1, ...] in arrival order. */
  readonly ranges = new Map<number, number[]>();
  count = 0;

  add(partition: number, flat: readonly number[]): void {
    let list = this.ranges.get(partition);
    if (!list) this.ranges.set(partition, (list = []));
    for (let i = 0; i < flat.length; i += 2) {
      const s = flat[i]!;
      const e = flat[i + 1]!;
      this.count += e - s;
      const n = list.length;
      if (n > 0 && list[n - 1] === s) list[n - 1] = e;
      else list.push(s, e);
    }
  }
}

export interface Coverage {
  /** Records received, counting every copy. */
  received: number;
  /** Distinct keys received inside [0, expected). */
  distinct: number;
  /** received − distinct: copies beyond the first (re-deliveries), including any outside the range. */
  duplicates: number;
  /** Keys in [0, expected) nobody received. */
  missing: number;
  /** Per partition, for the report. */
  partitions: { partition: number; expected: number; distinct: number; duplicates: number; missing: number }[];
}

/** Merges the ledgers' ranges per partition against the expected key count of each partition. */
export function coverage(ledgers: readonly KeyLedger[], expected: readonly number[]): Coverage {
  const out: Coverage = { received: 0, distinct: 0, duplicates: 0, missing: 0, partitions: [] };
  for (let p = 0; p < expected.length; p++) {
    const pairs: [number, number][] = [];
    for (const l of ledgers) {
      const flat = l.ranges.get(p) ?? [];
      for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
    }
    pairs.sort((a, b) => a[0] - b[0]);
    const want = expected[p]!;
    let received = 0;
    let distinct = 0;
    let reach = 0; // everything below `reach` is covered (clipped to [0, want))
    for (const [s, e] of pairs) {
      received += e - s;
      const from = Math.max(s, reach);
      const to = Math.min(e, want);
      if (to > from) {
        distinct += to - from;
        reach = to;
      }
    }
    const duplicates = received - distinct;
    const missing = want - distinct;
    out.received += received;
    out.distinct += distinct;
    out.duplicates += duplicates;
    out.missing += missing;
    out.partitions.push({ partition: p, expected: want, distinct, duplicates, missing });
  }
  return out;
}
