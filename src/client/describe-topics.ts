/**
 * Admin.describeTopics: each partition's leader, leader epoch, replicas and ISR plus the topic's
 * configs from any broker, and each partition's offsets (log start, high watermark, log end, size)
 * from its leader.
 *
 * Why two steps: a broker reports offsets of its own replicas only — -1 for a partition it holds no
 * replica of, a follower's lagging view for one it follows. So once the first broker answered,
 * every other broker that leads some of the described partitions is asked too (in parallel), and
 * its figures replace the first answer's for the partitions it leads. This is a report: a leader
 * that cannot be asked leaves the first answer's figures in place rather than failing the call.
 */
import type { DescribeTopicsResponse__Output } from '../generated/ferry/v1/DescribeTopicsResponse.js';
import { callAnyBroker } from './any-broker.js';
import { unary } from './connection-pool.js';
import type { ClientContext } from './context.js';
import { fromResponseError, toFerryError, withTopic } from './errors.js';
import type { ConfigEntry, PartitionDescription, TopicDescription } from './types.js';

function fromWire(res: DescribeTopicsResponse__Output): TopicDescription[] {
  return res.topics.map((t) => {
    const err = fromResponseError(t.error);
    if (err) throw withTopic(err, t.name);
    return {
      name: t.name,
      topicId: t.topicId,
      isInternal: t.isInternal,
      partitions: t.partitions.map((p) => ({
        partition: p.partition,
        leaderId: p.leaderId,
        leaderEpoch: p.leaderEpoch,
        replicas: p.replicas,
        isr: p.isr,
        logStartOffset: p.logStartOffset,
        highWatermark: p.highWatermark,
        logEndOffset: p.logEndOffset,
        sizeBytes: p.sizeBytes,
      })),
      configs: t.configs.map((c) => ({ name: c.name, value: c.value, source: c.source as ConfigEntry['source'] })),
    };
  });
}

export async function describeTopics(ctx: ClientContext, names: string[], isCancelled: () => boolean): Promise<TopicDescription[]> {
  const { res, address: answeredBy } = await callAnyBroker<DescribeTopicsResponse__Output>(ctx, (c, o, cb) => c.admin.DescribeTopics({ names }, o, cb), {
    isCancelled,
  });
  const topics = fromWire(res);
  await takeOffsetsFromLeaders(ctx, topics, answeredBy);
  return topics;
}

/** Replaces offsets with the leaders' own, for partitions led by a broker other than `answeredBy`. */
async function takeOffsetsFromLeaders(ctx: ClientContext, topics: TopicDescription[], answeredBy: string): Promise<void> {
  const leaderIds = new Set(topics.flatMap((t) => t.partitions.map((p) => p.leaderId)).filter((id) => id >= 0));
  if (leaderIds.size === 0) return;
  if ([...leaderIds].some((id) => ctx.metadata.brokerAddress(id) === undefined)) {
    // Learn the broker list (and the leaders' addresses) first; no auto-creation: these exist.
    await ctx.metadata.cluster(topics.map((t) => t.name), false).catch(() => undefined);
  }
  const byAddress = new Map<string, Set<string>>();
  for (const t of topics) {
    for (const p of t.partitions) {
      const address = p.leaderId >= 0 ? ctx.metadata.brokerAddress(p.leaderId) : undefined;
      if (address === undefined || address === answeredBy) continue;
      let names = byAddress.get(address);
      if (!names) byAddress.set(address, (names = new Set()));
      names.add(t.name);
    }
  }
  await Promise.all(
    [...byAddress].map(async ([address, names]) => {
      let answer: TopicDescription[];
      try {
        const client = ctx.pool.get(address).admin;
        answer = fromWire(await unary<DescribeTopicsResponse__Output>((o, cb) => client.DescribeTopics({ names: [...names] }, o, cb), ctx.requestTimeoutMs));
      } catch (err) {
        ctx.logger.debug({ address, err: toFerryError(err).message }, 'describe: a leader could not report its offsets');
        return;
      }
      const leaderId = [...leaderIds].find((id) => ctx.metadata.brokerAddress(id) === address);
      for (const t of answer) {
        const target = topics.find((x) => x.name === t.name);
        if (!target) continue;
        for (const p of t.partitions) {
          const mine = target.partitions.find((x) => x.partition === p.partition);
          if (mine && mine.leaderId === leaderId && p.logEndOffset >= 0) copyOffsets(p, mine);
        }
      }
    }),
  );
}

function copyOffsets(from: PartitionDescription, to: PartitionDescription): void {
  to.logStartOffset = from.logStartOffset;
  to.highWatermark = from.highWatermark;
  to.logEndOffset = from.logEndOffset;
  to.sizeBytes = from.sizeBytes;
}
