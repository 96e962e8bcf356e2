/**
 * Sends a partition leader's ISR change (an AlterPartitionProposal from its LeaderPartition core)
 * to the active controller and reads back the controller's answer for that partition. A call that
 * fails outright rejects; the leader's tick resends the same proposal later.
 */
import type { AlterPartitionResponse__Output } from '../../generated/ferry/v1/AlterPartitionResponse.js';
import type { AlterPartitionProposal } from '../../replication/isr/index.js';
import type { AlterPartitionOutcome } from '../replication/replica-manager.js';
import type { PartitionReplica } from '../replication/partition-replica.js';
import type { ClusterNode } from './cluster-node.js';

const ALTER_PARTITION_TIMEOUT_MS = 5_000;

export async function sendAlterPartition(cluster: ClusterNode, brokerId: number, replica: PartitionReplica, proposal: AlterPartitionProposal, brokerEpoch: number): Promise<AlterPartitionOutcome> {
  const res = await cluster.channel.call<AlterPartitionResponse__Output>('AlterPartition', {
    brokerId,
    brokerEpoch,
    topics: [{
      topic: replica.topic,
      topicId: replica.topicId,
      partitions: [{ partition: replica.partition, leaderEpoch: proposal.leaderEpoch, partitionEpoch: proposal.partitionEpoch, newIsr: proposal.newIsr }],
    }],
  }, ALTER_PARTITION_TIMEOUT_MS);
  const p = res.topics.find((t) => t.topicId === replica.topicId)?.partitions.find((x) => x.partition === replica.partition);
  if (!p) return { accepted: false, state: null };
  const state = p.state ? { leaderEpoch: p.state.leaderEpoch, partitionEpoch: p.state.partitionEpoch, isr: p.state.isr } : null;
  return { accepted: p.error === 'ALTER_PARTITION_NONE', state };
}
