/**
 * Sticky (the default): keep every partition where it is when that is still valid, and balance the
 * partition counts.
 *
 *  1. Keep: each member keeps the partitions of its previous target that still exist and that it
 *     still subscribes to.
 *  2. Place: every partition nobody kept goes to the subscribed member with the fewest partitions
 *     (ties: member order), partitions with the fewest candidates first.
 *  3. Balance: while some member has at least two more partitions than a member that could take one
 *     of them, move one (from the most loaded member; its highest-numbered eligible partition).
 *
 * With identical subscriptions this ends with counts differing by at most one, and a partition only
 * moves when its member left, unsubscribed, or held more than its share. With different
 * subscriptions the result is balanced as far as single moves can improve it (not always optimal).
 * Cost: O(P · M) per move, at most P moves.
 */
import { fromPairs, pairsOf, tpKey, type Assignment } from '../topic-partitions.js';
import { sortedMembers, sortedTopics, type Assignor, type AssignorInput, type AssignorMember } from './types.js';

export const stickyAssignor: Assignor = {
  name: 'sticky',
  assign(input: AssignorInput): Map<string, Assignment> {
    const members = sortedMembers(input.members);
    const owned = new Map<string, Array<[string, number]>>(members.map((m) => [m.id, []]));
    const taken = new Set<string>();
    const valid = (m: AssignorMember, topic: string, p: number) => m.topics.has(topic) && p < (input.topics.get(topic) ?? 0);

    for (const m of members) {
      const previous = input.previous.get(m.id);
      if (!previous) continue;
      for (const [topic, p] of [...pairsOf(previous)].sort(comparePairs)) {
        if (!valid(m, topic, p) || taken.has(tpKey(topic, p))) continue;
        taken.add(tpKey(topic, p));
        owned.get(m.id)!.push([topic, p]);
      }
    }

    const free: Array<{ topic: string; p: number; candidates: AssignorMember[] }> = [];
    for (const topic of sortedTopics(input.topics)) {
      const candidates = members.filter((m) => m.topics.has(topic));
      if (candidates.length === 0) continue;
      for (let p = 0; p < input.topics.get(topic)!; p++) if (!taken.has(tpKey(topic, p))) free.push({ topic, p, candidates });
    }
    free.sort((a, b) => a.candidates.length - b.candidates.length);
    for (const { topic, p, candidates } of free) {
      let best = candidates[0]!;
      for (const c of candidates) if (owned.get(c.id)!.length < owned.get(best.id)!.length) best = c;
      owned.get(best.id)!.push([topic, p]);
    }

    const moveLimit = [...input.topics.values()].reduce((a, b) => a + b, 0);
    for (let moves = 0; moves < moveLimit && moveOne(members, owned); moves++);
    return new Map([...owned].map(([id, list]) => [id, fromPairs(list)]));
  },
};

function comparePairs(a: [string, number], b: [string, number]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1];
}

/** One balancing move; false when no move reduces the imbalance. */
function moveOne(members: AssignorMember[], owned: Map<string, Array<[string, number]>>): boolean {
  const count = (m: AssignorMember) => owned.get(m.id)!.length;
  const byLoad = [...members].sort((a, b) => count(b) - count(a));
  const minCount = count(byLoad[byLoad.length - 1]!);
  for (const donor of byLoad) {
    if (count(donor) < minCount + 2) return false;
    const list = owned.get(donor.id)!;
    const order = list.map((_, i) => i).sort((i, j) => comparePairs(list[j]!, list[i]!));
    for (const i of order) {
      const [topic] = list[i]!;
      let receiver: AssignorMember | undefined;
      for (const m of members) {
        if (m !== donor && m.topics.has(topic) && count(m) <= count(donor) - 2 && (!receiver || count(m) < count(receiver))) receiver = m;
      }
      if (!receiver) continue;
      owned.get(receiver.id)!.push(list[i]!);
      list.splice(i, 1);
      return true;
    }
  }
  return false;
}
