/**
 * Range (Kafka's RangeAssignor, per topic): the members subscribing to a topic, in sorted order, get
 * contiguous ranges of its partitions; with P partitions and M members each gets floor(P/M) and the
 * first P mod M get one more. Example: 7 partitions, members a, b, c → a: 0-2, b: 3-4, c: 5-6.
 * Partitions of different topics with the same number land on the same member (useful for joins).
 */
import { fromPairs, type Assignment } from '../topic-partitions.js';
import { sortedMembers, sortedTopics, type Assignor, type AssignorInput } from './types.js';

export const rangeAssignor: Assignor = {
  name: 'range',
  assign(input: AssignorInput): Map<string, Assignment> {
    const pairs = new Map<string, Array<[string, number]>>();
    const members = sortedMembers(input.members);
    for (const m of members) pairs.set(m.id, []);
    for (const topic of sortedTopics(input.topics)) {
      const count = input.topics.get(topic)!;
      const subscribers = members.filter((m) => m.topics.has(topic));
      if (subscribers.length === 0) continue;
      const per = Math.floor(count / subscribers.length);
      const extra = count % subscribers.length;
      let next = 0;
      subscribers.forEach((m, i) => {
        const take = per + (i < extra ? 1 : 0);
        for (let p = next; p < next + take; p++) pairs.get(m.id)!.push([topic, p]);
        next += take;
      });
    }
    return new Map([...pairs].map(([id, list]) => [id, fromPairs(list)]));
  },
};
