/** Shared test helpers for the storage unit tests: temp dirs, batches, a silent logger. */
import fs from 'node:fs';
import os from 'node:os';
import { pino } from 'pino';
import { validateBatches, type ValidatedBatches } from '../../../src/protocol/record-batch.js';
import { encodeRecordBatch } from '../../../src/protocol/record-builder.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../../src/storage/log-config.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';

export const silent = pino({ level: 'silent' });

export function tempDir(): string {
  return fs.mkdtempSync(os.tmpdir() + '/ferry-');
}

export function config(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, flushMode: 'os', ...overrides };
}

/** A batch of `count` records with values of `valueBytes` bytes and the given timestamp. */
export function batch(count: number, opts: { valueBytes?: number; timestamp?: number; tag?: string } = {}): Buffer {
  const records = [];
  for (let i = 0; i < count; i++) {
    const v = Buffer.alloc(opts.valueBytes ?? 20, (opts.tag ?? 'x') + i);
    records.push({ key: `k${i}`, value: v, timestamp: (opts.timestamp ?? 1_000_000) + i });
  }
  return encodeRecordBatch(records);
}

export function validated(buf: Buffer): ValidatedBatches {
  return validateBatches(buf, { maxBatchBytes: 16 * 1024 * 1024 });
}

export async function append(log: PartitionLog, buf: Buffer, epoch = 0) {
  return log.appendAsLeader(buf, validated(buf), epoch);
}

export async function openLog(dir: string, overrides: Partial<LogConfig> = {}): Promise<PartitionLog> {
  return PartitionLog.open({ dir, topic: 't', partition: 0, config: config(overrides), logger: silent });
}

/** Polls `condition` until true (every 10 ms, up to `timeoutMs`): timers under load fire late. */
export async function eventually(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
