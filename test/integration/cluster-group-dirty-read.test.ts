// Regression test of chaos bug 2 (docs/CHAOS.md; seeds 1033, 2000): the group coordinator answered
// FetchOffsets from its in-memory state while an offset commit's acks=all append was still waiting
// for the followers — so a reader saw a commit that was never acknowledged and that a later
// coordinator did not have (the committed offset moved backwards). Here the coordinator's followers
// are paused (SIGSTOP), a commit hangs on acks=all, and a FetchOffsets sent meanwhile must not
// answer with the pending value before the commit itself is answered.
import { afterEach, describe, expect, it } from 'vitest';
import { dumpClusterLogs, FAST_CLUSTER_CONFIG, startCluster, until, waitForReplicas, type ClusterHandle } from '../helpers/cluster.js';

let cluster: ClusterHandle | undefined;

afterEach(async (ctx) => {
  if (cluster && (ctx.task.result?.state === 'fail' || process.env.DUMP_CLUSTER_LOGS)) console.log(`cluster logs: ${dumpClusterLogs(cluster, ctx.task.name)}`);
  for (const b of cluster?.brokers ?? []) b.resume();
  await cluster?.cleanup();
  cluster = undefined;
});

const GROUP = 'dirty-read-group';

interface Settled {
  at: number;
  value?: unknown;
  error?: string;
}

function settle(p: Promise<unknown>): Promise<Settled> {
  return p.then((value) => ({ at: Date.now(), value }), (err: unknown) => ({ at: Date.now(), error: String((err as Error).message ?? err) }));
}

describe('group coordinator reads, 3 broker processes', () => {
  it('FetchOffsets does not answer with a commit whose acks=all append is still pending', async () => {
    const c = (cluster = await startCluster(3, { ...FAST_CLUSTER_CONFIG }));
    const admin = c.raw(1);
    await admin.call('admin', 'CreateTopics', { topics: [{ name: 'orders', numPartitions: 1, replicationFactor: 3 }] });
    await waitForReplicas(c, ['orders', '__consumer_offsets']);
    const coordinatorId = await until('a coordinator', async () => {
      const res = await admin.call('group', 'FindCoordinator', { groupId: GROUP }).catch(() => undefined);
      return res && !res.error && Number(res.nodeId) > 0 ? Number(res.nodeId) : undefined;
    }, 20_000, 200);
    const coordinator = c.raw(coordinatorId);
    const commit = (offset: number) => coordinator.call('group', 'CommitOffsets', {
      groupId: GROUP, memberId: '', memberEpoch: -1, topics: [{ topic: 'orders', partitions: [{ partition: 0, offset }] }],
    });
    const fetchOffset = async (): Promise<number> => {
      const res = await coordinator.call('group', 'FetchOffsets', { groupId: GROUP, topics: [{ topic: 'orders', partitions: [0] }] });
      if (res.error) throw new Error(`FetchOffsets: ${JSON.stringify(res.error)}`);
      return Number(res.topics[0].partitions[0].offset);
    };
    await until('a first commit acknowledged', async () => {
      const res = await commit(10).catch(() => undefined);
      return res && !res.error && !res.topics[0].partitions[0].error ? res : undefined;
    }, 20_000, 200);
    expect(await fetchOffset()).toBe(10);

    // The coordinator's followers stop: its next commit is appended locally but cannot be acknowledged.
    const followers = [1, 2, 3].filter((id) => id !== coordinatorId);
    for (const id of followers) c.broker(id).pause();
    const pendingCommit = settle(commit(20));
    await new Promise((r) => setTimeout(r, 300)); // the commit is applied in memory and its append waits
    const read = settle(fetchOffset());
    const first = await Promise.race([read, pendingCommit]);
    const readOutcome = await read;
    const commitOutcome = await pendingCommit;
    console.log(`[dirty read] commit(20) ${JSON.stringify(commitOutcome)}; FetchOffsets ${JSON.stringify(readOutcome)}; first: ${first === readOutcome ? 'read' : 'commit'}`);
    // Before the fix the read answered 20 at once, while the commit was still unanswered.
    if (readOutcome.value === 20) expect(readOutcome.at).toBeGreaterThanOrEqual(commitOutcome.at);
    const commitAcked = commitOutcome.value !== undefined && !(commitOutcome.value as { error?: unknown }).error
      && !(commitOutcome.value as { topics: Array<{ partitions: Array<{ error?: unknown }> }> }).topics[0]!.partitions[0]!.error;
    if (!commitAcked) expect(readOutcome.value).not.toBe(20);

    for (const id of followers) c.broker(id).resume();
  }, 60_000);
});
