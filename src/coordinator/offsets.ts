/**
 * Committed offsets: commit, fetch, admin overwrite, expiry.
 *
 * Who may commit (KIP-848):
 *  - a member, at exactly its current epoch: a higher epoch is FENCED_MEMBER_EPOCH, a lower one
 *    STALE_MEMBER_EPOCH (it must heartbeat to learn its epoch first), an unknown member id
 *    UNKNOWN_MEMBER_ID. These fail the whole request.
 *  - anyone with member_id "" and member_epoch < 0 (admin tools, consumers without a group
 *    membership), but only while the group has no members (else UNKNOWN_MEMBER_ID).
 * Per partition: an unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION, a negative offset
 * INVALID_COMMIT_OFFSET, metadata over OFFSET_METADATA_BYTES_MAX OFFSET_METADATA_TOO_LARGE; the
 * other partitions of the request still commit.
 *
 * Expiry: while a group has no members, an offset expires offsets.retention.minutes after the later of
 * its commit and the moment the group became empty. A group left with no members, no offsets is
 * forgotten (tombstones for its metadata).
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';
import type { CommitRequest, CommitResponse, CoordinatorResult, FetchedOffsets, OffsetCommitInput } from './api.js';
import { Group } from './group.js';
import { Writer, type ShardContext } from './group-ops.js';
import { validateGroupId } from './membership.js';

/** Kafka's offset.metadata.max.bytes default. */
export const OFFSET_METADATA_BYTES_MAX = 4096;

export function commitOffsets(shard: ShardContext, req: CommitRequest, nowMs: number): CoordinatorResult<CommitResponse> {
  validateGroupId(req.groupId);
  const group = shard.groups.get(req.groupId);
  if (req.memberId === '' && req.memberEpoch < 0) {
    if (group && group.members.size > 0) {
      throw new FerryError(ErrorCode.UNKNOWN_MEMBER_ID, `group ${req.groupId} has ${group.members.size} members; only a member may commit (at its epoch)`);
    }
  } else {
    const member = group?.members.get(req.memberId);
    if (!group || !member) throw new FerryError(ErrorCode.UNKNOWN_MEMBER_ID, `member ${req.memberId} is not in group ${req.groupId}`);
    const epoch = member.current.epoch;
    if (req.memberEpoch > epoch) {
      throw new FerryError(ErrorCode.FENCED_MEMBER_EPOCH, `commit at epoch ${req.memberEpoch} but member ${req.memberId} is at ${epoch}`);
    }
    if (req.memberEpoch < epoch) {
      throw new FerryError(ErrorCode.STALE_MEMBER_EPOCH, `commit at epoch ${req.memberEpoch} but member ${req.memberId} is at ${epoch}; heartbeat first`);
    }
  }
  return writeOffsets(shard, req.groupId, req.topics, nowMs);
}

/** Admin overwrite of an inactive group's offsets (reset-offsets). */
export function alterOffsets(shard: ShardContext, groupId: string, topics: OffsetCommitInput[], nowMs: number): CoordinatorResult<CommitResponse> {
  validateGroupId(groupId);
  const group = shard.groups.get(groupId);
  if (group && group.members.size > 0) {
    throw new FerryError(ErrorCode.NON_EMPTY_GROUP, `group ${groupId} has ${group.members.size} active members; stop them before altering offsets`);
  }
  return writeOffsets(shard, groupId, topics, nowMs);
}

function writeOffsets(shard: ShardContext, groupId: string, topics: OffsetCommitInput[], nowMs: number): CoordinatorResult<CommitResponse> {
  const w = new Writer(shard);
  if (!shard.groups.has(groupId)) shard.groups.set(groupId, new Group(groupId));
  const response: CommitResponse = { topics: [] };
  for (const t of topics) {
    const results: CommitResponse['topics'][number]['partitions'] = [];
    response.topics.push({ topic: t.topic, partitions: results });
    const count = shard.topics.get(t.topic);
    for (const p of t.partitions) {
      let error: FerryError | null = null;
      if (count === undefined || !Number.isInteger(p.partition) || p.partition < 0 || p.partition >= count) {
        error = new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown partition ${t.topic}-${p.partition}`);
      } else if (!Number.isSafeInteger(p.offset) || p.offset < 0) {
        error = new FerryError(ErrorCode.INVALID_COMMIT_OFFSET, `offset ${p.offset} for ${t.topic}-${p.partition} is negative`);
      } else if (Buffer.byteLength(p.metadata) > OFFSET_METADATA_BYTES_MAX) {
        error = new FerryError(ErrorCode.OFFSET_METADATA_TOO_LARGE, `metadata for ${t.topic}-${p.partition} exceeds ${OFFSET_METADATA_BYTES_MAX} bytes`);
      } else {
        w.write({ kind: 'offset', group: groupId, topic: t.topic, partition: p.partition, value: { offset: p.offset, leaderEpoch: p.leaderEpoch, metadata: p.metadata, commitMs: nowMs } });
      }
      results.push({ partition: p.partition, error });
    }
  }
  const group = shard.groups.get(groupId);
  if (group?.isForgettable) shard.groups.delete(groupId);
  return { response, records: w.records, events: w.events };
}

/** Committed offsets; `topics` empty = all. Partitions with nothing committed answer offset -1. */
export function fetchOffsets(shard: ShardContext, groupId: string, topics: Array<{ topic: string; partitions: number[] }>): FetchedOffsets {
  validateGroupId(groupId);
  const group = shard.groups.get(groupId);
  const out: FetchedOffsets = { topics: [] };
  if (topics.length === 0) {
    if (!group) return out;
    for (const topic of [...group.offsets.keys()].sort()) {
      const byPartition = group.offsets.get(topic)!;
      out.topics.push({
        topic,
        partitions: [...byPartition.keys()].sort((a, b) => a - b).map((p) => {
          const o = byPartition.get(p)!;
          return { partition: p, offset: o.offset, metadata: o.metadata, leaderEpoch: o.leaderEpoch };
        }),
      });
    }
    return out;
  }
  for (const t of topics) {
    out.topics.push({
      topic: t.topic,
      partitions: t.partitions.map((p) => {
        const o = group?.offsets.get(t.topic)?.get(p);
        return o ? { partition: p, offset: o.offset, metadata: o.metadata, leaderEpoch: o.leaderEpoch } : { partition: p, offset: -1, metadata: '', leaderEpoch: -1 };
      }),
    });
  }
  return out;
}

/** Tombstones for expired offsets of empty groups, and for empty groups with nothing left. */
export function expireOffsets(shard: ShardContext, w: Writer, nowMs: number): void {
  const retentionMs = shard.config.offsetsRetentionMs;
  for (const group of [...shard.groups.values()]) {
    if (group.members.size > 0) continue;
    let expired = 0;
    for (const [topic, byPartition] of [...group.offsets]) {
      for (const [partition, o] of [...byPartition]) {
        if (nowMs - Math.max(o.commitMs, group.emptySinceMs) < retentionMs) continue;
        w.write({ kind: 'offset', group: group.id, topic, partition, value: null });
        expired++;
      }
    }
    if (expired > 0) w.event({ msg: 'committed offsets expired', group: group.id, expired, retentionMs });
    if (group.offsets.size === 0 && nowMs - group.emptySinceMs >= retentionMs) forgetGroup(w, group);
  }
}

/** Tombstones for everything a memberless group still has on record. */
export function forgetGroup(w: Writer, group: Group): void {
  const id = group.id;
  for (const [topic, byPartition] of [...group.offsets]) {
    for (const partition of [...byPartition.keys()]) w.write({ kind: 'offset', group: id, topic, partition, value: null });
  }
  for (const member of [...group.targets.keys()]) w.write({ kind: 'target', group: id, member, value: null });
  if (group.assignmentEpoch > 0) w.write({ kind: 'target-meta', group: id, value: null });
  if (group.hasMetadata) w.write({ kind: 'group', group: id, value: null });
}
