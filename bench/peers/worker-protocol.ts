/**
 * Messages between the peer bench and its forked client processes (peer-worker.ts), JSON over
 * child_process IPC. Sequence: the parent forks with a WorkerConfig as argv[2] → the worker
 * connects (and, as consumer, subscribes) and sends `ready` → once every worker is ready the parent
 * sends `start` to all → workers send `progress` about once a second and finally `done` (or
 * `failed`). Every client runs in a worker, so client CPU is measured per process and the parent
 * (orchestration only) stays out of the figures.
 */
import type { ClientConfig, SystemName } from './types.js';

interface CommonConfig {
  workerId: number;
  system: SystemName;
  client: ClientConfig;
  targets: string[];
}

export interface ProducerConfig extends CommonConfig {
  role: 'produce';
  count: number;
  messageSize: number;
  /** Values per sendChunk() call (also the largest burst a paced producer sends at once). */
  chunk: number;
  /** Unacknowledged values allowed at once. */
  outstandingMax: number;
  /** Values per second for this worker; absent = as fast as the window allows. */
  ratePerSec?: number;
}

export interface ConsumerConfig extends CommonConfig {
  role: 'consume';
  /** Done once this many values have been read. */
  expected: number;
  /** Records may still be arriving (e2e): read with blocking/long polls. */
  live: boolean;
  /** Values carry an 8-byte send stamp: record end-to-end latency. */
  stamped: boolean;
  /** Values stamped within this long after the start are counted but left out of the latency histogram. */
  warmupMs: number;
  /** Give up after this long without a value (the run then reports how far it got). */
  idleTimeoutMs: number;
}

export type WorkerConfig = ProducerConfig | ConsumerConfig;

export interface WorkerResult {
  workerId: number;
  role: 'produce' | 'consume';
  /** Values acknowledged (producer) or read (consumer). */
  count: number;
  failed: number;
  /** Value bytes acknowledged or read. */
  bytes: number;
  /** From `start` to the last ack (producer) or the last value read (consumer). */
  elapsedMs: number;
  /** CPU seconds (user + system) this process used between `start` and `done`. */
  cpuSeconds: number;
  /** Consumer: false when it stopped on the idle timeout before `expected`. */
  complete: boolean;
  /** HdrHistogram (µs), compressed base64: ack latency (producer) or end-to-end latency (consumer). */
  histogram: string;
  firstError?: string;
}

export type ParentMessage = { type: 'start' };

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'progress'; count: number }
  | { type: 'done'; result: WorkerResult }
  | { type: 'failed'; error: string };
