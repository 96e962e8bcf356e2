/** PartitionLog + producer state: duplicates on the append path, rebuild at open and after truncation. */
import { describe, expect, it } from 'vitest';
import { batchBaseOffset, iterateBatches } from '../../../src/protocol/record-batch.js';
import { encodeRecordBatch } from '../../../src/protocol/record-builder.js';
import { ErrorCode, FerryError } from '../../../src/protocol/errors.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { append, config, silent, tempDir } from './helpers.js';

function idem(producerId: number, epoch: number, seq: number, count: number, tag = 'v'): Buffer {
  const records = [];
  for (let i = 0; i < count; i++) records.push({ key: null, value: `${tag}-${seq + i}`, timestamp: Date.now() });
  return encodeRecordBatch(records, { producerId, producerEpoch: epoch, baseSequence: seq });
}

function open(dir: string, segmentBytes = 1024 * 1024): Promise<PartitionLog> {
  return PartitionLog.open({ dir, topic: 't', partition: 0, config: config({ segmentBytes }), logger: silent });
}

async function batchCount(log: PartitionLog): Promise<number> {
  const read = await log.read(log.logStartOffset, 64 << 20, { maxOffset: log.logEndOffset });
  return [...iterateBatches(read.records)].length;
}

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as FerryError).code;
  }
  return 'NONE';
}

describe('PartitionLog idempotence', () => {
  it('stores a re-sent batch once and answers with the original offsets', async () => {
    const log = await open(tempDir());
    await append(log, Buffer.concat([idem(-1, -1, -1, 2)])); // a non-idempotent batch first
    const first = await append(log, idem(5, 0, 0, 3));
    expect(first).toMatchObject({ baseOffset: 2, lastOffset: 4 });
    await append(log, idem(-1, -1, -1, 1)); // someone else writes in between
    const again = await append(log, idem(5, 0, 0, 3));
    expect(again).toMatchObject({ baseOffset: 2, lastOffset: 4 });
    expect(log.logEndOffset).toBe(6);
    expect(await batchCount(log)).toBe(3);
    expect(await rejection(append(log, idem(5, 0, 7, 1)))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await append(log, idem(5, 0, 3, 1))).toMatchObject({ baseOffset: 6 });
    await log.close();
  });

  it('rebuilds the state from the log after a restart (several segments)', async () => {
    const dir = tempDir();
    let log = await open(dir, 1024);
    for (let seq = 0; seq < 60; seq += 3) await append(log, idem(9, 2, seq, 3, 'x'.repeat(30)));
    expect(log.segmentCount).toBeGreaterThan(2);
    await log.close();
    log = await open(dir, 1024);
    expect(await append(log, idem(9, 2, 57, 3, 'x'.repeat(30)))).toMatchObject({ baseOffset: 57, lastOffset: 59 });
    expect(await rejection(append(log, idem(9, 1, 60, 1)))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(await append(log, idem(9, 2, 60, 1))).toMatchObject({ baseOffset: 60 });
    await log.close();
  });

  it('rebuilds the state after a truncation: a truncated batch is new again, not a duplicate', async () => {
    const log = await open(tempDir());
    await append(log, idem(3, 0, 0, 2));
    await append(log, idem(3, 0, 2, 2));
    await log.truncateTo(2);
    expect(log.logEndOffset).toBe(2);
    expect(await append(log, idem(3, 0, 2, 2))).toMatchObject({ baseOffset: 2, lastOffset: 3 });
    expect(await batchCount(log)).toBe(2);
    await log.restartAt(10);
    // state rebuilt from an empty log: the producer is unknown, any sequence is accepted
    expect(await append(log, idem(3, 0, 9, 1))).toMatchObject({ baseOffset: 10 });
    await log.close();
  });

  it('a follower keeps its state current from what it appends, and checks with it once it leads', async () => {
    const a = await open(tempDir());
    const b = await open(tempDir());
    // a leads: its state is loaded by this append; b follows
    await append(a, idem(8, 0, 0, 1));
    await b.appendAsFollower(Buffer.from((await a.read(0, 1 << 20, { maxOffset: a.logEndOffset })).records));
    // leadership moves to b, a follows (its state is loaded: it is updated, not rebuilt)
    await append(b, idem(4, 0, 0, 2), 1);
    await append(b, idem(8, 0, 1, 1), 1);
    await a.appendAsFollower(Buffer.from((await b.read(1, 1 << 20, { maxOffset: b.logEndOffset })).records));
    expect(a.logEndOffset).toBe(4);
    // back to a: a retry of what b appended is a duplicate, the next sequences follow b's
    expect(await append(a, idem(4, 0, 0, 2), 2)).toMatchObject({ baseOffset: 1, lastOffset: 2 });
    expect(await append(a, idem(8, 0, 1, 1), 2)).toMatchObject({ baseOffset: 3, lastOffset: 3 });
    expect(await rejection(append(a, idem(8, 0, 3, 1), 2))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await append(a, idem(4, 0, 2, 1), 2)).toMatchObject({ baseOffset: 4 });
    await a.close();
    await b.close();
  });

  it('checks and appends atomically under concurrent appends of the same batch', async () => {
    const log = await open(tempDir());
    const results = await Promise.all([1, 2, 3, 4].map(() => append(log, idem(11, 0, 0, 5))));
    expect(new Set(results.map((r) => r.baseOffset))).toEqual(new Set([0]));
    expect(log.logEndOffset).toBe(5);
    await log.close();
  });
});
