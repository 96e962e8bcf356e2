/**
 * The server-side assignor contract. An assignor is a pure function: the same input gives the same
 * output (members and topics are visited in sorted order), so an assignment is reproducible in tests.
 *
 * Input: the members with the topics each subscribes to (only topics that exist), the partition count
 * of every subscribed topic, and the previous target assignment (what stickiness keeps). Output: a
 * target assignment per member; every partition of a topic someone subscribes to goes to exactly one
 * member that subscribes to it. Members absent from the output get nothing.
 */
import type { Assignment } from '../topic-partitions.js';

export interface AssignorMember {
  id: string;
  /** group.instance.id, '' for dynamic members; orders members so a restarted static member keeps its place. */
  instanceId: string;
  rackId: string;
  topics: ReadonlySet<string>;
}

export interface AssignorInput {
  members: readonly AssignorMember[];
  /** topic → partition count, for every topic some member subscribes to. */
  topics: ReadonlyMap<string, number>;
  previous: ReadonlyMap<string, Assignment>;
}

export interface Assignor {
  readonly name: string;
  assign(input: AssignorInput): Map<string, Assignment>;
}

/** Members in a stable order: static members by instance id first, then dynamic ones by member id. */
export function sortedMembers(members: readonly AssignorMember[]): AssignorMember[] {
  const key = (m: AssignorMember) => (m.instanceId ? `0${m.instanceId}` : `1${m.id}`);
  return [...members].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export function sortedTopics(topics: ReadonlyMap<string, number>): string[] {
  return [...topics.keys()].sort();
}
