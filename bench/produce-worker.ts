/**
 * A producer process of the bench (forked by worker-pool.ts; see worker-protocol.ts for the
 * conversation). Sends `count` records to one topic through the SDK producer, with `send()` (a
 * promise per record) or `sendBatch()` (a promise per chunk: the idiomatic bulk call in Node, as
 * KafkaJS's `send({ messages })`), and measures ack latency from the call to its promise resolving.
 *
 * At most `outstandingMax` records are unacknowledged at once, so memory stays bounded, and the loop
 * yields to the event loop regularly so the SDK's I/O runs. With a rate, the send time stamped into
 * a value is the record's *scheduled* time, not the moment it went out: if the producer falls
 * behind, that delay counts as latency (no coordinated omission).
 */
import { Ferry } from '../src/client/index.js';
import { encodeHistogram, newHistogram } from './histogram.js';
import { stampedValue, templateValue } from './payload.js';
import type { ParentMessage, WorkerConfig, WorkerMessage, WorkerResult } from './worker-protocol.js';

const PROGRESS_INTERVAL_MS = 1000;
/** send() mode: let the event loop turn (requests go out, acks come in) every this many records. */
const YIELD_EVERY_RECORDS = 1000;

function send(message: WorkerMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
  const ferry = new Ferry({ bootstrap: config.bootstrap, clientId: `ferry-bench-${config.workerId}` });
  const producer = ferry.producer({
    acks: config.acks,
    idempotent: config.idempotent === true,
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
  const stats = { acked: 0, failed: 0, bytes: 0, firstError: undefined as string | undefined, outstanding: 0 };
  let wake: (() => void) | undefined;
  const settle = (records: number) => {
    stats.outstanding -= records;
    if (wake && stats.outstanding < config.outstandingMax) {
      const w = wake;
      wake = undefined;
      w();
    }
  };
  const fail = (err: unknown, records: number) => {
    stats.failed += records;
    stats.firstError ??= err instanceof Error ? `${(err as { code?: string }).code ?? 'ERROR'}: ${err.message}` : String(err);
    settle(records);
  };
  const progressTimer = setInterval(() => send({ type: 'progress', acked: stats.acked, failed: stats.failed }), PROGRESS_INTERVAL_MS);

  const startNs = process.hrtime.bigint();
  if (config.api === 'batch' && !config.ratePerSec && !config.stamp) {
    // One sendBatch() promise per chunk; every record of a chunk gets the chunk's ack latency.
    const records = Array.from({ length: config.chunk }, () => ({ value: template }));
    for (let sent = 0; sent < config.count; sent += config.chunk) {
      const batch = sent + config.chunk <= config.count ? records : records.slice(0, config.count - sent);
      const n = batch.length;
      const sentMs = performance.now();
      stats.outstanding += n;
      producer.sendBatch(config.topic, batch).then(
        () => {
          stats.acked += n;
          stats.bytes += n * template.length;
          histogram.recordValueWithCount(Math.round((performance.now() - sentMs) * 1000), n);
          settle(n);
        },
        (err: unknown) => fail(err, n),
      );
      await yieldOrWait();
    }
  } else {
    // One send() promise per record. With a rate, the stamp is the record's *scheduled* send time:
    // if the producer falls behind, that delay counts as latency (no coordinated omission).
    const msPerRecord = config.ratePerSec ? 1000 / config.ratePerSec : 0;
    const startMs = performance.now();
    for (let i = 0; i < config.count; i++) {
      let sentMs = performance.now();
      let stampNs: bigint | undefined;
      if (msPerRecord > 0) {
        const dueMs = startMs + i * msPerRecord;
        if (dueMs > sentMs) await sleepMs(dueMs - sentMs);
        stampNs = process.hrtime.bigint() - BigInt(Math.max(0, Math.round((performance.now() - dueMs) * 1e6)));
        sentMs = dueMs;
      } else if (config.stamp) {
        stampNs = process.hrtime.bigint();
      }
      const value = stampNs !== undefined ? stampedValue(template, stampNs) : template;
      stats.outstanding++;
      producer.send({ topic: config.topic, value }).then(
        () => {
          stats.acked++;
          stats.bytes += value.length;
          histogram.recordValue(Math.round((performance.now() - sentMs) * 1000));
          settle(1);
        },
        (err: unknown) => fail(err, 1),
      );
      if (i % YIELD_EVERY_RECORDS === 0 || stats.outstanding >= config.outstandingMax) await yieldOrWait();
    }
  }
  await producer.flush().catch(() => undefined);
  while (stats.outstanding > 0) await new Promise<void>((resolve) => (wake = resolve));
  const { acked, failed, bytes, firstError } = stats;

  /**
   * The SDK's I/O (sending requests, reading acks) runs on this same thread: a tight loop of sends
   * must let the event loop turn (setImmediate, not a resolved promise) or nothing goes out until
   * it stops. Beyond that, wait while too many records are unacknowledged.
   */
  async function yieldOrWait(): Promise<void> {
    if (stats.outstanding >= config.outstandingMax) await new Promise<void>((resolve) => (wake = resolve));
    else await new Promise<void>((resolve) => setImmediate(resolve));
  }
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
function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.floor(ms))));
}

main().then(
  () => process.disconnect?.(),
  (err: unknown) => {
    send({ type: 'failed', error: err instanceof Error ? err.message : String(err) });
    process.exitCode = 1;
    process.disconnect?.();
  },
);
