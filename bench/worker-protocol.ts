/**
 * Messages between the bench parent and its forked producer workers (child_process IPC, JSON).
 *
 * Sequence: parent forks with a WorkerConfig as argv[2] → worker connects, warms up metadata and
 * sends `ready` → once all are ready the parent sends `start` → workers send `progress` about once
 * a second and finally `done` (or `failed`). The parent measures wall time from `start` to the last
 * `done`, so connection set-up is not counted.
 */

export interface WorkerConfig {
  workerId: number;
  bootstrap: string;
  topic: string;
  /** Records this worker sends. */
  count: number;
  messageSize: number;
  acks: 0 | 1 | -1;
  idempotent?: boolean;
  batchSize?: number;
  lingerMs?: number;
  /** Stamp each value with its send time (e2e). */
  stamp: boolean;
  /** Records per second for this worker; absent = as fast as possible. */
  ratePerSec?: number;
  /** Unacknowledged records allowed at once. */
  outstandingMax: number;
  /** send(): a promise per record; batch: sendBatch() of `chunk` records, one promise per call. */
  api: 'send' | 'batch';
  chunk: number;
}

export interface WorkerResult {
  workerId: number;
  acked: number;
  failed: number;
  /** Value bytes acknowledged. */
  bytes: number;
  elapsedMs: number;
  /** Ack latency (send() call to its promise resolving), HdrHistogram compressed base64, µs. */
  ackHistogram: string;
  firstError?: string;
}

export type ParentMessage = { type: 'start' };

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'progress'; acked: number; failed: number }
  | { type: 'done'; result: WorkerResult }
  | { type: 'failed'; error: string };
