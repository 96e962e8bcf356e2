/**
 * Sets of topic-partitions ("assignments"): topic → set of partition numbers.
 *
 * Contract: every function here returns a new value and never mutates its arguments, so an
 * assignment held in coordinator state can be shared freely. Topics with no partitions are dropped,
 * so two assignments holding the same partitions are `equals` whatever their history. The JSON
 * form (`AssignmentJson`, used in records) and the wire form (`TopicPartitionsList`) are sorted by
 * topic then partition, so encoding is deterministic.
 */

export type Assignment = ReadonlyMap<string, ReadonlySet<number>>;
export type AssignmentJson = Record<string, number[]>;
export type TopicPartitionsList = Array<{ topic: string; partitions: number[] }>;

export const EMPTY_ASSIGNMENT: Assignment = new Map();

function build(entries: Iterable<[string, Iterable<number>]>): Assignment {
  const out = new Map<string, Set<number>>();
  for (const [topic, partitions] of entries) {
    let set = out.get(topic);
    for (const p of partitions) {
      if (!set) out.set(topic, (set = new Set()));
      set.add(p);
    }
  }
  return out;
}

export function assignmentOf(json: AssignmentJson): Assignment {
  return build(Object.entries(json));
}

export function fromList(list: ReadonlyArray<{ topic: string; partitions: readonly number[] }>): Assignment {
  return build(list.map((t) => [t.topic, t.partitions]));
}

export function fromPairs(pairs: Iterable<readonly [string, number]>): Assignment {
  const out = new Map<string, Set<number>>();
  for (const [topic, p] of pairs) {
    let set = out.get(topic);
    if (!set) out.set(topic, (set = new Set()));
    set.add(p);
  }
  return out;
}

export function toJson(a: Assignment): AssignmentJson {
  const out: AssignmentJson = {};
  for (const topic of [...a.keys()].sort()) out[topic] = [...a.get(topic)!].sort((x, y) => x - y);
  return out;
}

export function toList(a: Assignment): TopicPartitionsList {
  return Object.entries(toJson(a)).map(([topic, partitions]) => ({ topic, partitions }));
}

export function* pairsOf(a: Assignment): Generator<[string, number]> {
  for (const [topic, set] of a) for (const p of set) yield [topic, p];
}

export function size(a: Assignment): number {
  let n = 0;
  for (const set of a.values()) n += set.size;
  return n;
}

export function isEmpty(a: Assignment): boolean {
  return size(a) === 0;
}

export function has(a: Assignment, topic: string, partition: number): boolean {
  return a.get(topic)?.has(partition) ?? false;
}

export function union(a: Assignment, b: Assignment): Assignment {
  return build([...a, ...b]);
}

/** Partitions of `a` not in `b`. */
export function minus(a: Assignment, b: Assignment): Assignment {
  return fromPairs([...pairsOf(a)].filter(([t, p]) => !has(b, t, p)));
}

export function intersect(a: Assignment, b: Assignment): Assignment {
  return fromPairs([...pairsOf(a)].filter(([t, p]) => has(b, t, p)));
}

export function overlaps(a: Assignment, b: Assignment): boolean {
  for (const [t, p] of pairsOf(a)) if (has(b, t, p)) return true;
  return false;
}

export function equals(a: Assignment, b: Assignment): boolean {
  return size(a) === size(b) && !overlapsComplement(a, b);
}

function overlapsComplement(a: Assignment, b: Assignment): boolean {
  for (const [t, p] of pairsOf(a)) if (!has(b, t, p)) return true;
  return false;
}

/** A stable string for one partition, used as a map key. Topic names cannot contain ':'. */
export function tpKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/** Human-readable form for logs: "orders-0,orders-3,payments-1". */
export function describe(a: Assignment): string {
  return toList(a)
    .flatMap((t) => t.partitions.map((p) => `${t.topic}-${p}`))
    .join(',');
}
