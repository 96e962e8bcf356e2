/**
 * A client process of the peer bench (forked by pool.ts; the conversation is in worker-protocol.ts).
 *
 * Producer: sends `count` values of `messageSize` bytes through the system's adapter, `chunk` values
 * per call, with at most `outstandingMax` unacknowledged, and records each chunk's ack latency for
 * all its values. Paced (e2e): value i is due at start + i / rate and carries that *scheduled* time
 * (CLOCK_MONOTONIC, the same in every process), so a producer that falls behind, or a window that
 * fills, shows up as latency rather than as a slower schedule (no coordinated omission). Pacing runs
 * on a ~1 ms timer: values due within the same millisecond leave together.
 *
 * Consumer: reads until `expected` values arrived (or `idleTimeoutMs` passed without one); with
 * `stamped`, records receipt time − stamp for every value sent after the warm-up (JIT, connection
 * and cache warm-up would otherwise dominate the tail of a short run).
 */
import { selfCpuSeconds } from './cpu.js';
import { encodeHistogram, newHistogram } from '../histogram.js';
import { stampedValue, templateValue } from '../payload.js';
import { loadSystem } from './systems.js';
import type { PeerConsumer, PeerProducer } from './types.js';
import type { ConsumerConfig, ParentMessage, ProducerConfig, WorkerConfig, WorkerMessage, WorkerResult } from './worker-protocol.js';

const PROGRESS_INTERVAL_MS = 1000;
const IDLE_CHECK_MS = 250;

function send(message: WorkerMessage): void {
  process.send?.(message);
}

// The parent is gone (Ctrl-C, crash): nobody will read our results, so stop now.
process.on('disconnect', () => process.exit(finishedCleanly ? 0 : 1));
let finishedCleanly = false;

const started = new Promise<void>((resolve) => {
  process.on('message', (m: ParentMessage) => {
    if (m.type === 'start') resolve();
  });
});

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
  const system = await loadSystem(config.system);
  if (config.role === 'produce') {
    const producer = await system.openProducer(config.client, { paced: config.ratePerSec !== undefined });
    try {
      const result = await produce(config, producer);
      send({ type: 'done', result });
    } finally {
      await producer.close().catch(() => undefined);
    }
  } else {
    const consumer = await system.openConsumer(config.client);
    try {
      const result = await consume(config, consumer);
      send({ type: 'done', result });
    } finally {
      await consumer.close().catch(() => undefined);
    }
  }
}

async function produce(config: ProducerConfig, producer: PeerProducer): Promise<WorkerResult> {
  const template = templateValue(config.messageSize);
  const unpaced: Buffer[] = new Array<Buffer>(config.chunk).fill(template);
  const histogram = newHistogram();
  const stats = { acked: 0, failed: 0, outstanding: 0, firstError: undefined as string | undefined };
  let lastAckMs = 0;
  let wake: (() => void) | undefined;
  const settle = (n: number) => {
    stats.outstanding -= n;
    if (wake && stats.outstanding < config.outstandingMax) {
      const w = wake;
      wake = undefined;
      w();
    }
  };
  let chunkIndex = 0;
  /** Sends one chunk; `fromMs` is when its oldest value was due (or sent), for ack latency. */
  const sendChunk = (values: Buffer[], fromMs: number) => {
    const n = values.length;
    const target = config.targets[chunkIndex++ % config.targets.length]!;
    stats.outstanding += n;
    producer.sendChunk(target, values).then(
      () => {
        lastAckMs = performance.now();
        stats.acked += n;
        histogram.recordValueWithCount(Math.max(0, Math.round((lastAckMs - fromMs) * 1000)), n);
        settle(n);
      },
      (err: unknown) => {
        stats.failed += n;
        stats.firstError ??= err instanceof Error ? err.message : String(err);
        settle(n);
      },
    );
  };
  /** Lets the client's I/O run (setImmediate, not a microtask), and waits while the window is full. */
  const yieldOrWait = async () => {
    if (stats.outstanding >= config.outstandingMax) await new Promise<void>((resolve) => (wake = resolve));
    else await new Promise<void>((resolve) => setImmediate(resolve));
  };

  send({ type: 'ready' });
  await started;
  const progress = setInterval(() => send({ type: 'progress', count: stats.acked }), PROGRESS_INTERVAL_MS);
  const cpuStart = selfCpuSeconds();
  const startMs = performance.now();
  const startNs = process.hrtime.bigint();
  if (config.ratePerSec === undefined) {
    for (let sent = 0; sent < config.count; ) {
      const n = Math.min(config.chunk, config.count - sent);
      sendChunk(n === config.chunk ? unpaced : unpaced.slice(0, n), performance.now());
      sent += n;
      await yieldOrWait();
    }
  } else {
    const msPerValue = 1000 / config.ratePerSec;
    const nsPerValue = 1e9 / config.ratePerSec;
    for (let next = 0; next < config.count; ) {
      const nowMs = performance.now() - startMs;
      const due = Math.min(config.count, Math.floor(nowMs / msPerValue) + 1);
      if (due <= next) {
        await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.floor(next * msPerValue - nowMs))));
        continue;
      }
      while (next < due && stats.outstanding < config.outstandingMax) {
        const n = Math.min(config.chunk, due - next);
        const values = new Array<Buffer>(n);
        for (let k = 0; k < n; k++) values[k] = stampedValue(template, startNs + BigInt(Math.round((next + k) * nsPerValue)));
        sendChunk(values, startMs + next * msPerValue);
        next += n;
      }
      await yieldOrWait();
    }
  }
  while (stats.outstanding > 0) await new Promise<void>((resolve) => (wake = resolve));
  clearInterval(progress);
  return {
    workerId: config.workerId,
    role: 'produce',
    count: stats.acked,
    failed: stats.failed,
    bytes: stats.acked * config.messageSize,
    elapsedMs: lastAckMs > 0 ? lastAckMs - startMs : performance.now() - startMs,
    cpuSeconds: selfCpuSeconds() - cpuStart,
    complete: stats.failed === 0,
    histogram: encodeHistogram(histogram),
    ...(stats.firstError !== undefined ? { firstError: stats.firstError } : {}),
  };
}

async function consume(config: ConsumerConfig, consumer: PeerConsumer): Promise<WorkerResult> {
  const histogram = newHistogram();
  let count = 0;
  let bytes = 0;
  let lastValueMs = performance.now();
  let finish: ((complete: boolean) => void) | undefined;
  let failure: unknown;
  const finished = new Promise<boolean>((resolve) => (finish = resolve));
  /** Stamps before this (ns, CLOCK_MONOTONIC) belong to the warm-up; set at the start signal. */
  let recordFromNs = Infinity;
  const sink = (values: Uint8Array[]) => {
    const nowNs = config.stamped ? Number(process.hrtime.bigint()) : 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      bytes += v.length;
      if (config.stamped && v.length >= 8) {
        const stampNs = stampOf(v);
        if (stampNs >= recordFromNs) histogram.recordValue(Math.max(0, Math.round((nowNs - stampNs) / 1000)));
      }
    }
    count += values.length;
    lastValueMs = performance.now();
    if (count >= config.expected) finish?.(true);
  };
  const opts = {
    live: config.live,
    onError: (err: unknown) => {
      failure ??= err;
      finish?.(false);
    },
  };
  // Live (e2e): subscribed before anything is sent. Stored data: reading starts with the clock.
  if (config.live) await consumer.start(config.targets, sink, opts);
  send({ type: 'ready' });
  await started;
  const progress = setInterval(() => send({ type: 'progress', count }), PROGRESS_INTERVAL_MS);
  const cpuStart = selfCpuSeconds();
  const startMs = performance.now();
  recordFromNs = Number(process.hrtime.bigint()) + config.warmupMs * 1e6;
  lastValueMs = startMs;
  if (!config.live) await consumer.start(config.targets, sink, opts);
  const idle = setInterval(() => {
    if (performance.now() - lastValueMs > config.idleTimeoutMs) finish?.(false);
  }, IDLE_CHECK_MS);
  if (config.expected === 0) finish?.(true);
  const complete = await finished;
  finish = undefined;
  clearInterval(idle);
  clearInterval(progress);
  const doneMs = complete ? performance.now() : lastValueMs;
  const firstError = failure !== undefined ? (failure instanceof Error ? failure.message : String(failure)) : complete ? undefined : `stalled after ${count} of ${config.expected} values`;
  return {
    workerId: config.workerId,
    role: 'consume',
    count,
    failed: 0,
    bytes,
    elapsedMs: doneMs - startMs,
    cpuSeconds: selfCpuSeconds() - cpuStart,
    complete,
    histogram: encodeHistogram(histogram),
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

/** The send stamp (payload.ts: big-endian int64 ns) as a number, without allocating. */
function stampOf(v: Uint8Array): number {
  const hi = ((v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!) >>> 0;
  const lo = ((v[4]! << 24) | (v[5]! << 16) | (v[6]! << 8) | v[7]!) >>> 0;
  return hi * 2 ** 32 + lo;
}

main().then(
  () => {
    finishedCleanly = true;
    process.disconnect?.();
  },
  (err: unknown) => {
    send({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exitCode = 1;
    process.disconnect?.();
  },
);
