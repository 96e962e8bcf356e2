/**
 * A producer process of the bench (forked by worker-pool.ts; see worker-protocol.ts for the
 * conversation). Sends `count` records to one topic through the SDK producer and measures each
 * record's ack latency: from the send() call to its promise resolving.
 *
 * At most `outstandingMax` sends are unacknowledged at once, so memory stays bounded and the loop
 * yields to the event loop (where batches are flushed) whenever the window is full. With a rate,
 * the send time stamped into a value is the record's *scheduled* time, not the moment it went out:
 * if the producer falls behind, that delay counts as latency (no coordinated omission).
 */
import { Ferry } from '../src/client/index.js';
import { encodeHistogram, newHistogram, recordNs } from './histogram.js';
import { stampedValue, templateValue } from './payload.js';
import type { ParentMessage, WorkerConfig, WorkerMessage, WorkerResult } from './worker-protocol.js';

const PROGRESS_INTERVAL_MS = 1000;

function send(message: WorkerMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
  const ferry = new Ferry({ bootstrap: config.bootstrap, clientId: `ferry-bench-${config.workerId}` });
  const producer = ferry.producer({
    acks: config.acks,
    ...(config.batchSize !== undefined ? { batchSize: config.batchSize } : {}),
    ...(config.lingerMs !== undefined ? { lingerMs: config.lingerMs } : {}),
  });
  // Learn the topic's leaders before the clock starts.
  await ferry.admin().metadata([config.topic]);

  const started = new Promise<void>((resolve) => {
    process.on('message', (m: ParentMessage) => {
      if (m.type === 'start') resolve();
    });
  });
  send({ type: 'ready' });
  await started;

  const histogram = newHistogram();
  const template = templateValue(config.messageSize);
  let acked = 0;
  let failed = 0;
  let bytes = 0;
  let firstError: string | undefined;
  let outstanding = 0;
  let wake: (() => void) | undefined;
  const settle = () => {
    outstanding--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  const progressTimer = setInterval(() => send({ type: 'progress', acked, failed }), PROGRESS_INTERVAL_MS);

  const startNs = process.hrtime.bigint();
  const nsPerRecord = config.ratePerSec ? 1e9 / config.ratePerSec : 0;
  for (let i = 0; i < config.count; i++) {
    let stampNs = process.hrtime.bigint();
    if (nsPerRecord > 0) {
      const dueNs = startNs + BigInt(Math.round(i * nsPerRecord));
      if (dueNs > stampNs) {
        await sleepNs(dueNs - stampNs);
        stampNs = process.hrtime.bigint();
      }
      stampNs = dueNs;
    }
    const value = config.stamp ? stampedValue(template, stampNs) : template;
    const sentNs = stampNs;
    outstanding++;
    producer.send({ topic: config.topic, value }).then(
      () => {
        acked++;
        bytes += value.length;
        recordNs(histogram, process.hrtime.bigint() - sentNs);
        settle();
      },
      (err: unknown) => {
        failed++;
        firstError ??= err instanceof Error ? `${(err as { code?: string }).code ?? 'ERROR'}: ${err.message}` : String(err);
        settle();
      },
    );
    if (outstanding >= config.outstandingMax) await new Promise<void>((resolve) => (wake = resolve));
  }
  await producer.flush().catch(() => undefined);
  while (outstanding > 0) await new Promise<void>((resolve) => (wake = resolve));
  const elapsedMs = Number(process.hrtime.bigint() - startNs) / 1e6;
  clearInterval(progressTimer);

  const result: WorkerResult = {
    workerId: config.workerId,
    acked,
    failed,
    bytes,
    elapsedMs,
    ackHistogram: encodeHistogram(histogram),
    ...(firstError !== undefined ? { firstError } : {}),
  };
  send({ type: 'done', result });
  await producer.close().catch(() => undefined);
  await ferry.close().catch(() => undefined);
}

/** Sleeps at least ~1 ms (timer granularity); rate pacing catches up in bursts after each sleep. */
function sleepNs(ns: bigint): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.floor(Number(ns) / 1e6))));
}

main().then(
  () => process.disconnect?.(),
  (err: unknown) => {
    send({ type: 'failed', error: err instanceof Error ? err.message : String(err) });
    process.exitCode = 1;
    process.disconnect?.();
  },
);
