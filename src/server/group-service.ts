/**
 * GroupService (proto/ferry/v1/group.proto): consumer group membership, committed offsets and group
 * admin, answered by the group coordinator (group-coordinator-runtime.ts → src/coordinator).
 *
 * Errors: a failure of the whole request (UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH,
 * STALE_MEMBER_EPOCH, COORDINATOR_LOAD_IN_PROGRESS, INVALID_GROUP_ID, ...) is a gRPC status with the
 * Ferry error code in trailing metadata (grpc-errors.ts), like every other service; per-partition and
 * per-group failures travel in the response's `error` fields. The responses' top-level `error`
 * fields are left unset.
 *
 * On a single node this broker coordinates every group; FindCoordinator names itself. In a cluster
 * the coordinator is the leader of the group's __consumer_offsets partition: FindCoordinator names
 * it from the metadata image (COORDINATOR_NOT_AVAILABLE while there is none), other brokers answer
 * NOT_COORDINATOR, and ListGroups lists the groups of the partitions this broker leads.
 * `client_id` in DescribeGroups comes from the SDK's user agent (`ferry-js/<clientId>`),
 * `client_host` from the connection's peer address.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { CommitResponse } from '../coordinator/api.js';
import type { AlterGroupOffsetsRequest__Output } from '../generated/ferry/v1/AlterGroupOffsetsRequest.js';
import type { AlterGroupOffsetsResponse } from '../generated/ferry/v1/AlterGroupOffsetsResponse.js';
import type { CommitOffsetsRequest__Output } from '../generated/ferry/v1/CommitOffsetsRequest.js';
import type { CommitOffsetsResponse } from '../generated/ferry/v1/CommitOffsetsResponse.js';
import type { DeleteGroupsRequest__Output } from '../generated/ferry/v1/DeleteGroupsRequest.js';
import type { DeleteGroupsResponse } from '../generated/ferry/v1/DeleteGroupsResponse.js';
import type { DescribeGroupsRequest__Output } from '../generated/ferry/v1/DescribeGroupsRequest.js';
import type { DescribeGroupsResponse } from '../generated/ferry/v1/DescribeGroupsResponse.js';
import type { FetchOffsetsRequest__Output } from '../generated/ferry/v1/FetchOffsetsRequest.js';
import type { FetchOffsetsResponse } from '../generated/ferry/v1/FetchOffsetsResponse.js';
import type { FindCoordinatorRequest__Output } from '../generated/ferry/v1/FindCoordinatorRequest.js';
import type { FindCoordinatorResponse } from '../generated/ferry/v1/FindCoordinatorResponse.js';
import type { GroupDescription } from '../generated/ferry/v1/GroupDescription.js';
import type { GroupHeartbeatRequest__Output } from '../generated/ferry/v1/GroupHeartbeatRequest.js';
import type { GroupHeartbeatResponse } from '../generated/ferry/v1/GroupHeartbeatResponse.js';
import type { GroupServiceHandlers } from '../generated/ferry/v1/GroupService.js';
import type { ListGroupsRequest__Output } from '../generated/ferry/v1/ListGroupsRequest.js';
import type { ListGroupsResponse } from '../generated/ferry/v1/ListGroupsResponse.js';
import type { OffsetCommitTopic__Output } from '../generated/ferry/v1/OffsetCommitTopic.js';
import type { OffsetCommitTopicResult } from '../generated/ferry/v1/OffsetCommitTopicResult.js';
import { validateGroupId } from '../coordinator/membership.js';
import { ErrorCode, FerryError, toWireError } from '../protocol/errors.js';
import { asFerryError } from './grpc-errors.js';
import type { GroupCoordinatorRuntime } from './group-coordinator-runtime.js';
import type { BrokerLifecycle } from './lifecycle.js';
import type { BrokerIdentity } from './metadata-service.js';
import { unary } from './unary.js';

const SDK_USER_AGENT = /ferry-js\/(\S+)/;

function clientIdOf(call: grpc.ServerUnaryCall<unknown, unknown>): string {
  const ua = call.metadata.get('user-agent')[0];
  return (typeof ua === 'string' ? SDK_USER_AGENT.exec(ua)?.[1] : undefined) ?? '';
}

function clientHostOf(call: grpc.ServerUnaryCall<unknown, unknown>): string {
  const peer = call.getPeer();
  const i = peer.lastIndexOf(':');
  return i > 0 ? peer.slice(0, i) : peer;
}

function commitInput(topics: OffsetCommitTopic__Output[]) {
  return topics.map((t) => ({
    topic: t.topic,
    partitions: t.partitions.map((p) => ({ partition: p.partition, offset: p.offset, metadata: p.metadata, leaderEpoch: p.leaderEpoch })),
  }));
}

function commitResults(res: CommitResponse): OffsetCommitTopicResult[] {
  return res.topics.map((t) => ({
    topic: t.topic,
    partitions: t.partitions.map((p) => (p.error ? { partition: p.partition, error: toWireError(p.error) } : { partition: p.partition })),
  }));
}

export function groupService(
  groups: GroupCoordinatorRuntime,
  identity: () => BrokerIdentity,
  lifecycle: BrokerLifecycle,
  logger: Logger,
): GroupServiceHandlers {
  return {
    FindCoordinator: unary<FindCoordinatorRequest__Output, FindCoordinatorResponse>(logger, 'FindCoordinator', async (req) => {
      lifecycle.checkAcceptingRequests();
      validateGroupId(req.groupId);
      return groups.coordinatorOf(req.groupId, identity());
    }),

    Heartbeat: unary<GroupHeartbeatRequest__Output, GroupHeartbeatResponse>(logger, 'Heartbeat', async (req, call) => {
      lifecycle.checkAcceptingRequests();
      const request = { ...req, clientId: clientIdOf(call), clientHost: clientHostOf(call) };
      return groups.run(req.groupId, (shard, now) => shard.heartbeat(request, now));
    }),

    CommitOffsets: unary<CommitOffsetsRequest__Output, CommitOffsetsResponse>(logger, 'CommitOffsets', async (req) => {
      lifecycle.checkAcceptingRequests();
      const request = { groupId: req.groupId, memberId: req.memberId, memberEpoch: req.memberEpoch, topics: commitInput(req.topics) };
      const res = await groups.run(req.groupId, (shard, now) => shard.commitOffsets(request, now));
      return { topics: commitResults(res) };
    }),

    FetchOffsets: unary<FetchOffsetsRequest__Output, FetchOffsetsResponse>(logger, 'FetchOffsets', async (req) => {
      lifecycle.checkAcceptingRequests();
      const topics = req.topics.map((t) => ({ topic: t.topic, partitions: t.partitions }));
      return groups.read(req.groupId, (shard) => shard.fetchOffsets(req.groupId, topics));
    }),

    ListGroups: unary<ListGroupsRequest__Output, ListGroupsResponse>(logger, 'ListGroups', async (req) => {
      lifecycle.checkAcceptingRequests();
      const listed = await groups.readAll((shard) => shard.listGroups(req.statesFilter));
      return { groups: listed.sort((a, b) => (a.groupId < b.groupId ? -1 : 1)) };
    }),

    DescribeGroups: unary<DescribeGroupsRequest__Output, DescribeGroupsResponse>(logger, 'DescribeGroups', async (req) => {
      lifecycle.checkAcceptingRequests();
      const out: GroupDescription[] = [];
      for (const groupId of req.groupIds) {
        try {
          validateGroupId(groupId);
          const d = await groups.read(groupId, (shard) => shard.describeGroup(groupId));
          if (!d) throw new FerryError(ErrorCode.GROUP_ID_NOT_FOUND, `group ${groupId} does not exist`);
          out.push(d);
        } catch (err) {
          out.push({ groupId, state: 'DEAD', error: toWireError(asFerryError(err)) });
        }
      }
      return { groups: out };
    }),

    DeleteGroups: unary<DeleteGroupsRequest__Output, DeleteGroupsResponse>(logger, 'DeleteGroups', async (req) => {
      lifecycle.checkAcceptingRequests();
      const results = [];
      for (const groupId of req.groupIds) {
        try {
          validateGroupId(groupId);
          const [r] = await groups.run(groupId, (shard) => shard.deleteGroups([groupId]));
          results.push(r!.error ? { groupId, error: toWireError(r!.error) } : { groupId });
        } catch (err) {
          results.push({ groupId, error: toWireError(asFerryError(err)) });
        }
      }
      return { results };
    }),

    AlterGroupOffsets: unary<AlterGroupOffsetsRequest__Output, AlterGroupOffsetsResponse>(logger, 'AlterGroupOffsets', async (req) => {
      lifecycle.checkAcceptingRequests();
      const topics = commitInput(req.topics);
      const res = await groups.run(req.groupId, (shard, now) => shard.alterOffsets(req.groupId, topics, now));
      return { topics: commitResults(res) };
    }),
  };
}
