/**
 * What changed for one broker between two metadata images (KRaft's TopicsDelta.localChanges): the
 * input of the broker's replica manager, which makes local partitions leaders or followers and
 * deletes the logs of removed ones.
 *
 *  - leaders:   this broker leads the partition in `next` and its registration changed (new
 *               leadership, new leader epoch, or just an ISR change the leader must adopt);
 *               `prev` tells which (null = the partition is new to this broker or it did not lead).
 *  - followers: this broker is an assigned replica but not the leader in `next` (including offline
 *               partitions, leader = -1) and the registration changed;
 *  - removed:   this broker was a replica in `prev` and is not in `next`: `deleted` when the topic
 *               (by id) is gone — delete the log — otherwise it was reassigned away — stop the
 *               replica and delete the log too (there are no reassignments yet, kept for them).
 *
 * Unchanged topics and partitions are skipped by reference (images share unchanged objects), so
 * the cost is proportional to what changed plus the number of topics.
 */
import type { BrokerId, PartitionRegistration } from '../replication/isr/index.js';
import type { MetadataImage, TopicImage } from './metadata-image.js';

export interface LocalPartitionChange {
  topic: string;
  topicId: string;
  partition: number;
  registration: PartitionRegistration;
  /** The previous registration when this broker already held the same role; null otherwise. */
  prev: PartitionRegistration | null;
}

export interface LocalRemoval {
  topic: string;
  topicId: string;
  partition: number;
  /** The topic was deleted (rather than this replica moved away). */
  deleted: boolean;
}

export interface LocalChanges {
  leaders: LocalPartitionChange[];
  followers: LocalPartitionChange[];
  removed: LocalRemoval[];
}

export function localChanges(prev: MetadataImage, next: MetadataImage, brokerId: BrokerId): LocalChanges {
  const out: LocalChanges = { leaders: [], followers: [], removed: [] };
  for (const t of next.topicList()) {
    const old = prev.topicById(t.id);
    if (old === t) continue;
    diffTopic(old, t, brokerId, out);
  }
  for (const old of prev.topicList()) {
    if (next.topicById(old.id)) continue;
    old.partitions.forEach((reg, partition) => {
      if (reg.replicas.includes(brokerId)) out.removed.push({ topic: old.name, topicId: old.id, partition, deleted: true });
    });
  }
  return out;
}

function diffTopic(old: TopicImage | undefined, t: TopicImage, brokerId: BrokerId, out: LocalChanges): void {
  t.partitions.forEach((reg, partition) => {
    const before = old?.partitions[partition];
    if (before === reg) return;
    const wasReplica = before?.replicas.includes(brokerId) ?? false;
    const ref = { topic: t.name, topicId: t.id, partition, registration: reg };
    if (!reg.replicas.includes(brokerId)) {
      if (wasReplica) out.removed.push({ topic: t.name, topicId: t.id, partition, deleted: false });
    } else if (reg.leader === brokerId) {
      out.leaders.push({ ...ref, prev: before && before.leader === brokerId ? before : null });
    } else {
      out.followers.push({ ...ref, prev: before && wasReplica && before.leader !== brokerId ? before : null });
    }
  });
}
