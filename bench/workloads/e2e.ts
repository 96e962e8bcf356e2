/**
 * e2e: producer processes and a consumer (in this process) run at the same time on a fresh topic.
 * Each value carries its send time (payload.ts; with --rate, its scheduled send time), and the
 * consumer records now − send time for every record: end-to-end latency through produce, append,
 * high-watermark advance and fetch. Figures: throughput as received, e2e p50/p99/p99.9, and the
 * producers' ack latency for comparison.
 */
import { createBenchTopic, partitionIds, perSecond, round, workerConfigs, type BenchContext } from '../context.js';
import { newHistogram, recordNs, summarize } from '../histogram.js';
import { readStamp } from '../payload.js';
import { ProgressLine } from '../progress.js';
import type { RunResult } from '../report.js';
import { TopicReader } from '../topic-reader.js';
import { ProducerPool } from '../worker-pool.js';

/** After the producers finish, wait at most this long without a record for the rest to arrive. */
const IDLE_TIMEOUT_MS = 30_000;

export async function benchE2e(ctx: BenchContext, run: number): Promise<RunResult> {
  const topic = await createBenchTopic(ctx, run);
  const e2e = newHistogram();
  let unstamped = 0;
  const reader = new TopicReader(ctx.ferry, topic, partitionIds(ctx.opts.partitions), (records) => {
    const now = process.hrtime.bigint();
    for (const r of records) {
      const stamp = readStamp(r.value);
      if (stamp === null) unstamped++;
      else recordNs(e2e, now - stamp);
    }
  });
  const pool = new ProducerPool(workerConfigs(ctx, topic, { stamp: true }));
  const progress = new ProgressLine(`e2e ${run}/${ctx.opts.runs}`, () => reader.count, () => `(${pool.acked.toLocaleString('en-US')} acked)`);
  try {
    // The consumer is positioned before anything is sent, so it sees every record.
    await reader.start();
    await pool.prepare();
    progress.start();
    const startMs = performance.now();
    const produced = await pool.run();
    const done = await reader.waitFor(produced.acked, IDLE_TIMEOUT_MS);
    progress.stop();
    if (!done.complete) process.stderr.write(`warning: received ${done.count} of ${produced.acked} acknowledged records\n`);
    if (produced.failed > 0) process.stderr.write(`warning: ${produced.failed} records failed (first: ${produced.firstError})\n`);
    const elapsedMs = done.atMs - startMs;
    const lat = summarize(e2e);
    const ack = summarize(produced.ackHistogram);
    return {
      run,
      figures: {
        'msgs/s': round(perSecond(done.count, elapsedMs)),
        'MB/s': round(perSecond(done.bytes, elapsedMs) / 1e6, 3),
        'e2e p50 ms': lat.p50Ms,
        'e2e p99 ms': lat.p99Ms,
        'e2e p99.9 ms': lat.p999Ms,
        'ack p99 ms': ack.p99Ms,
      },
      details: {
        topic,
        produced: produced.acked,
        failed: produced.failed,
        received: done.count,
        unstamped,
        elapsedMs: round(elapsedMs, 3),
        e2eLatency: lat,
        ackLatency: ack,
        workers: produced.workers,
        firstError: produced.firstError,
      },
    };
  } finally {
    progress.stop();
    pool.close();
    await reader.close();
  }
}
