/**
 * Round-robin (Kafka's RoundRobinAssignor): every partition of every subscribed topic, sorted by topic
 * then partition, is dealt to the members in sorted order, skipping members not subscribed to its
 * topic. Example: topics t (3 partitions) and u (2), members a, b → a: t0, t2, u1; b: t1, u0.
 */
import { fromPairs, type Assignment } from '../topic-partitions.js';
import { sortedMembers, sortedTopics, type Assignor, type AssignorInput } from './types.js';

export const roundRobinAssignor: Assignor = {
  name: 'roundrobin',
  assign(input: AssignorInput): Map<string, Assignment> {
    const members = sortedMembers(input.members);
    const pairs = new Map<string, Array<[string, number]>>(members.map((m) => [m.id, []]));
    let cursor = 0;
    for (const topic of sortedTopics(input.topics)) {
      if (!members.some((m) => m.topics.has(topic))) continue;
      for (let p = 0; p < input.topics.get(topic)!; p++) {
        while (!members[cursor % members.length]!.topics.has(topic)) cursor++;
        pairs.get(members[cursor % members.length]!.id)!.push([topic, p]);
        cursor++;
      }
    }
    return new Map([...pairs].map(([id, list]) => [id, fromPairs(list)]));
  },
};
