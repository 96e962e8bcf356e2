/**
 * Consumer-group administration (the Admin client's group methods): list, describe, lag, offset
 * reset, delete, committed offsets.
 *
 * Routing: ListGroups goes to every broker (each coordinator knows only its own groups — in a
 * cluster, those of the __consumer_offsets partitions it leads), learnt from a metadata request
 * first so a single bootstrap address suffices, and the answers are merged by group id;
 * everything about one group goes to its coordinator
 * (FindCoordinator, cached per call), retried on coordinator moves as the consumer does.
 *
 * Failures: a per-group or per-partition `Error` in an answer is thrown as its FerryError naming
 * the group (and partition). `resetGroupOffsets` refuses a group with members (NON_EMPTY_GROUP) —
 * the coordinator checks again, this is for a clear message — and clamps an explicit offset into
 * [log start, log end] as Kafka's tool does.
 */
import type { AlterGroupOffsetsResponse__Output } from '../generated/ferry/v1/AlterGroupOffsetsResponse.js';
import type { DeleteGroupsResponse__Output } from '../generated/ferry/v1/DeleteGroupsResponse.js';
import type { DescribeGroupsResponse__Output } from '../generated/ferry/v1/DescribeGroupsResponse.js';
import type { FetchOffsetsResponse__Output } from '../generated/ferry/v1/FetchOffsetsResponse.js';
import type { ListGroupsResponse__Output } from '../generated/ferry/v1/ListGroupsResponse.js';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { awaitConnected, unary } from './connection-pool.js';
import type { ClientContext } from './context.js';
import { CoordinatorLink, findCoordinator } from './coordinator.js';
import { fromResponseError, toFerryError } from './errors.js';
import { listOffsets, specToTimestamp } from './list-offsets.js';
import { committedFromResponse } from './offset-committer.js';
import { fromWire, toWire, tpKey } from './rebalance.js';
import type {
  CommittedOffset,
  GroupDescriptionInfo,
  GroupListingInfo,
  OffsetToCommit,
  PartitionLag,
  ResetTarget,
  TopicPartition,
} from './types.js';

/** Group states in which offsets may be reset (no member could be consuming). */
const INACTIVE_STATES = new Set(['EMPTY', 'DEAD', '']);

function checkGroupId(groupId: string): void {
  if (typeof groupId !== 'string' || groupId === '') throw new FerryError(ErrorCode.INVALID_GROUP_ID, 'a group id must be a non-empty string');
}

export class GroupAdmin {
  constructor(private readonly ctx: ClientContext) {}

  async listGroups(statesFilter: string[] = []): Promise<GroupListingInfo[]> {
    // Every broker the cluster has, not only the bootstrap list (a failure leaves the known ones).
    await this.ctx.metadata.cluster([], false).catch(() => undefined);
    const groups = new Map<string, GroupListingInfo>();
    let answered = 0;
    let lastError: FerryError | null = null;
    await Promise.all(
      this.ctx.metadata.addresses().map(async (address) => {
        try {
          const clients = this.ctx.pool.get(address);
          await awaitConnected(clients, this.ctx.connectTimeoutMs);
          const res = await unary<ListGroupsResponse__Output>((o, cb) => clients.group.ListGroups({ statesFilter }, o, cb), this.ctx.requestTimeoutMs);
          answered++;
          for (const g of res.groups) groups.set(g.groupId, { groupId: g.groupId, state: g.state, members: g.members });
        } catch (err) {
          lastError = toFerryError(err);
        }
      }),
    );
    if (answered === 0 && lastError) throw lastError;
    return [...groups.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  async describeGroup(groupId: string): Promise<GroupDescriptionInfo> {
    checkGroupId(groupId);
    const res = await new CoordinatorLink(this.ctx, groupId).callWithRetry<DescribeGroupsResponse__Output>((c, o, cb) =>
      c.DescribeGroups({ groupIds: [groupId] }, o, cb),
    );
    const g = res.groups.find((x) => x.groupId === groupId) ?? res.groups[0];
    if (!g) throw new FerryError(ErrorCode.GROUP_ID_NOT_FOUND, `group ${groupId} not found`);
    const err = fromResponseError(g.error);
    if (err) throw new FerryError(err.code, `group ${groupId}: ${err.message}`);
    return {
      groupId: g.groupId,
      state: g.state,
      groupEpoch: g.groupEpoch,
      assignmentEpoch: g.assignmentEpoch,
      assignor: g.assignor,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberEpoch: m.memberEpoch,
        subscribedTopics: m.subscribedTopicNames,
        subscribedPattern: m.subscribedTopicRegex,
        assignment: fromWire(m.assignment),
        targetAssignment: fromWire(m.targetAssignment),
      })),
    };
  }

  /** Committed offsets of the group (of `partitions` only when given); offset -1 = none. */
  async fetchCommitted(groupId: string, partitions?: TopicPartition[]): Promise<CommittedOffset[]> {
    checkGroupId(groupId);
    const res = await new CoordinatorLink(this.ctx, groupId).callWithRetry<FetchOffsetsResponse__Output>((c, o, cb) =>
      c.FetchOffsets({ groupId, topics: partitions ? toWire(partitions) : [] }, o, cb),
    );
    return committedFromResponse(res);
  }

  /** Per partition with a commit or an owner: committed, log end, lag and owner. Sorted by topic, partition. */
  async groupLag(groupId: string): Promise<PartitionLag[]> {
    const committed = await this.fetchCommitted(groupId);
    const owners = new Map<string, string>();
    try {
      for (const m of (await this.describeGroup(groupId)).members) for (const p of m.assignment) owners.set(tpKey(p.topic, p.partition), m.memberId);
    } catch (err) {
      if (toFerryError(err).code !== ErrorCode.GROUP_ID_NOT_FOUND) throw err;
    }
    const rows = new Map<string, PartitionLag>();
    for (const c of committed) {
      if (c.offset < 0) continue;
      rows.set(tpKey(c.topic, c.partition), { topic: c.topic, partition: c.partition, committed: c.offset, logEnd: -1, lag: null, memberId: '' });
    }
    for (const [k, memberId] of owners) {
      const row = rows.get(k);
      if (row) row.memberId = memberId;
      else {
        const [topic, partition] = k.split('\u0000') as [string, string];
        rows.set(k, { topic, partition: Number(partition), committed: -1, logEnd: -1, lag: null, memberId });
      }
    }
    const byTopic = new Map<string, PartitionLag[]>();
    for (const r of rows.values()) {
      let list = byTopic.get(r.topic);
      if (!list) byTopic.set(r.topic, (list = []));
      list.push(r);
    }
    await Promise.all(
      [...byTopic].map(async ([topic, list]) => {
        try {
          const ends = await listOffsets(this.ctx, list.map((r) => ({ topic, partition: r.partition, timestamp: specToTimestamp('latest') })));
          ends.forEach((e, i) => {
            const r = list[i]!;
            r.logEnd = e.offset;
            r.lag = r.committed >= 0 ? Math.max(0, e.offset - r.committed) : null;
          });
        } catch (err) {
          // A deleted topic keeps its commits until they expire; show them without a log end.
          this.ctx.logger.debug({ topic, err: toFerryError(err).message }, 'no log end offsets for lag');
        }
      }),
    );
    return [...rows.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  /** Sets the committed offsets of every partition of `topic` for an inactive group; returns them. */
  async resetGroupOffsets(groupId: string, topic: string, target: ResetTarget): Promise<OffsetToCommit[]> {
    checkGroupId(groupId);
    try {
      const d = await this.describeGroup(groupId);
      if (!INACTIVE_STATES.has(d.state) || d.members.length > 0) {
        throw new FerryError(ErrorCode.NON_EMPTY_GROUP, `group ${groupId} is ${d.state} with ${d.members.length} member(s): stop its consumers before resetting offsets`);
      }
    } catch (err) {
      if (toFerryError(err).code !== ErrorCode.GROUP_ID_NOT_FOUND) throw err;
    }
    const t = await this.ctx.metadata.getTopic(topic);
    const partitions = Array.from({ length: t.numPartitions }, (_, i) => i);
    const offsets = await this.targetOffsets(topic, partitions, target);
    const request = {
      groupId,
      topics: [{ topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.offset, metadata: '', leaderEpoch: -1 })) }],
    };
    const res = await new CoordinatorLink(this.ctx, groupId).callWithRetry<AlterGroupOffsetsResponse__Output>((c, o, cb) =>
      c.AlterGroupOffsets(request, o, cb),
    );
    for (const tr of res.topics) {
      for (const p of tr.partitions) {
        const err = fromResponseError(p.error);
        if (err) throw new FerryError(err.code, `group ${groupId}, ${tr.topic}-${p.partition}: ${err.message}`);
      }
    }
    return offsets;
  }

  private async targetOffsets(topic: string, partitions: number[], target: ResetTarget): Promise<OffsetToCommit[]> {
    const at = (spec: 'earliest' | 'latest' | { timestamp: number }) =>
      listOffsets(this.ctx, partitions.map((partition) => ({ topic, partition, timestamp: specToTimestamp(spec) })));
    if (target && typeof target === 'object' && 'offset' in target) {
      if (!Number.isSafeInteger(target.offset) || target.offset < 0) throw new FerryError(ErrorCode.INVALID_COMMIT_OFFSET, `invalid offset ${target.offset}`);
      const [lo, hi] = await Promise.all([at('earliest'), at('latest')]);
      return partitions.map((partition, i) => ({ topic, partition, offset: Math.min(hi[i]!.offset, Math.max(lo[i]!.offset, target.offset)) }));
    }
    const found = await at(target);
    const latest = found.some((f) => f.offset < 0) ? await at('latest') : [];
    // No record at or after the timestamp: the end, as Kafka's tool does.
    return partitions.map((partition, i) => ({ topic, partition, offset: found[i]!.offset >= 0 ? found[i]!.offset : latest[i]!.offset }));
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    if (!Array.isArray(groupIds) || groupIds.length === 0) throw new FerryError(ErrorCode.INVALID_REQUEST, 'deleteGroups() needs at least one group id');
    for (const id of groupIds) checkGroupId(id);
    const byCoordinator = new Map<string, string[]>();
    for (const id of groupIds) {
      const address = await findCoordinator(this.ctx, id);
      let list = byCoordinator.get(address);
      if (!list) byCoordinator.set(address, (list = []));
      list.push(id);
    }
    const results = await Promise.all(
      [...byCoordinator].map(([address, ids]) => {
        const client = this.ctx.pool.get(address).group;
        return unary<DeleteGroupsResponse__Output>((o, cb) => client.DeleteGroups({ groupIds: ids }, o, cb), this.ctx.requestTimeoutMs);
      }),
    );
    for (const res of results) {
      for (const r of res.results) {
        const err = fromResponseError(r.error);
        if (err) throw new FerryError(err.code, `group ${r.groupId}: ${err.message}`);
      }
    }
  }
}
