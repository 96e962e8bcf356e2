/**
 * produce: `--producers` processes send `--count` records of `--message-size` bytes to a fresh
 * topic as fast as the window allows. Figures: msgs/s and MB/s over the wall time from the start
 * signal to the last acknowledgement, and per-record ack latency p50/p99/p99.9.
 */
import { createBenchTopic, perSecond, round, workerConfigs, type BenchContext } from '../context.js';
import { summarize } from '../histogram.js';
import { ProgressLine } from '../progress.js';
import type { RunResult } from '../report.js';
import { ProducerPool } from '../worker-pool.js';

export async function benchProduce(ctx: BenchContext, run: number): Promise<RunResult> {
  const topic = await createBenchTopic(ctx, run);
  const pool = new ProducerPool(workerConfigs(ctx, topic, { stamp: false }));
  const progress = new ProgressLine(`produce ${run}/${ctx.opts.runs}`, () => pool.acked);
  try {
    await pool.prepare();
    progress.start();
    const r = await pool.run();
    progress.stop();
    if (r.failed > 0) process.stderr.write(`warning: ${r.failed} records failed (first: ${r.firstError})\n`);
    const ack = summarize(r.ackHistogram);
    return {
      run,
      figures: {
        'msgs/s': round(perSecond(r.acked, r.wallMs)),
        'MB/s': round(perSecond(r.bytes, r.wallMs) / 1e6, 3),
        'ack p50 ms': ack.p50Ms,
        'ack p99 ms': ack.p99Ms,
        'ack p99.9 ms': ack.p999Ms,
      },
      details: { topic, acked: r.acked, failed: r.failed, bytes: r.bytes, wallMs: round(r.wallMs, 3), ackLatency: ack, workers: r.workers, firstError: r.firstError },
    };
  } finally {
    progress.stop();
    pool.close();
  }
}
