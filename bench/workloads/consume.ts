/**
 * consume: a consumer reads a whole topic from the earliest offset. The topic is pre-written once
 * (by the producer workers, `--count` records) or is an existing `--topic`; every run reads it all
 * again. Figures: msgs/s and MB/s from the first fetch to the last record counted.
 */
import { partitionIds, perSecond, round, createBenchTopic, workerConfigs, type BenchContext } from '../context.js';
import { ProgressLine } from '../progress.js';
import type { RunResult } from '../report.js';
import { TopicReader } from '../topic-reader.js';
import { ProducerPool } from '../worker-pool.js';

/** Reading stops (and the run fails) after this long without a record. */
const IDLE_TIMEOUT_MS = 30_000;

export interface ConsumeTarget {
  topic: string;
  partitions: number[];
  /** Records between the earliest and latest offsets, all partitions. */
  records: number;
}

/** Pre-writes the topic (or inspects an existing one): done once for all runs. */
export async function prepareConsume(ctx: BenchContext): Promise<ConsumeTarget> {
  let topic = ctx.opts.topic;
  if (topic === undefined) {
    topic = await createBenchTopic(ctx, 0);
    const pool = new ProducerPool(workerConfigs(ctx, topic, { stamp: false }));
    const progress = new ProgressLine('consume: pre-writing', () => pool.acked);
    try {
      await pool.prepare();
      progress.start();
      const r = await pool.run();
      if (r.failed > 0) throw new Error(`pre-writing failed for ${r.failed} records (first: ${r.firstError})`);
    } finally {
      progress.stop();
      pool.close();
    }
  }
  const [description] = await ctx.ferry.admin().describeTopics([topic]);
  if (!description) throw new Error(`topic ${topic} not found`);
  const partitions = description.partitions.map((p) => p.partition).sort((a, b) => a - b);
  const earliest = await ctx.ferry.admin().listOffsets(topic, partitions, 'earliest');
  const latest = await ctx.ferry.admin().listOffsets(topic, partitions, 'latest');
  const start = new Map(earliest.map((o) => [o.partition, o.offset]));
  const records = latest.reduce((sum, o) => sum + (o.offset - (start.get(o.partition) ?? 0)), 0);
  return { topic, partitions: partitions.length > 0 ? partitions : partitionIds(ctx.opts.partitions), records };
}

export async function benchConsume(ctx: BenchContext, target: ConsumeTarget, run: number): Promise<RunResult> {
  const reader = new TopicReader(ctx.ferry, target.topic, target.partitions);
  const progress = new ProgressLine(`consume ${run}/${ctx.opts.runs}`, () => reader.count);
  try {
    const startMs = performance.now();
    await reader.start();
    progress.start();
    const done = await reader.waitFor(target.records, IDLE_TIMEOUT_MS);
    progress.stop();
    if (!done.complete) throw new Error(`consumer stalled at ${done.count} of ${target.records} records`);
    const elapsedMs = done.atMs - startMs;
    return {
      run,
      figures: {
        'msgs/s': round(perSecond(done.count, elapsedMs)),
        'MB/s': round(perSecond(done.bytes, elapsedMs) / 1e6, 3),
      },
      details: { topic: target.topic, records: done.count, bytes: done.bytes, elapsedMs: round(elapsedMs, 3) },
    };
  } finally {
    progress.stop();
    await reader.close();
  }
}
