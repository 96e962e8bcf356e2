import { describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { batchBaseOffset, batchLastOffset, batchPartitionLeaderEpoch, iterateBatches, readBatchHeader, stampBatch } from '../../../src/protocol/record-batch.js';
import { decodeBatch } from '../../../src/protocol/record-decoder.js';
import { ErrorCode, FerryError } from '../../../src/protocol/errors.js';
import { append, batch, openLog, tempDir } from './helpers.js';

/** [base, last] of every batch in a read result. */
function ranges(buf: Buffer): Array<[number, number]> {
  return [...iterateBatches(buf)].map(({ pos }) => [batchBaseOffset(buf, pos), batchLastOffset(buf, pos)]);
}

describe('PartitionLog', () => {
  it('assigns offsets, stamps the leader epoch, and reads back whole batches', async () => {
    const log = await openLog(tempDir());
    const r1 = await append(log, batch(3), 5);
    const r2 = await append(log, Buffer.concat([batch(2), batch(4)]), 5);
    expect(r1).toMatchObject({ baseOffset: 0, lastOffset: 2, logAppendTimeMs: -1, logStartOffset: 0 });
    expect(r2).toMatchObject({ baseOffset: 3, lastOffset: 8 });
    expect(log.logEndOffset).toBe(9);
    const read = await log.read(0, 1 << 20);
    expect(ranges(read.records)).toEqual([[0, 2], [3, 4], [5, 8]]);
    expect(batchPartitionLeaderEpoch(read.records, 0)).toBe(5);
    expect(decodeBatch(read.records, 0).records.map((r) => r.offset)).toEqual([0, 1, 2]);
    expect(read).toMatchObject({ highWatermark: 9, logStartOffset: 0, logEndOffset: 9 });
    await log.close();
  });

  it('reads into the caller\'s buffers, leaving the headroom asked for in front of the records', async () => {
    const log = await openLog(tempDir(), { segmentBytes: 2000 });
    for (let i = 0; i < 30; i++) await append(log, batch(1 + (i % 3), { valueBytes: 40 }));
    const allocated: Buffer[] = [];
    const buffers = {
      headroom: 64,
      allocate: (bytes: number) => {
        const b = Buffer.alloc(bytes, 0xaa);
        allocated.push(b);
        return b;
      },
    };
    for (const [offset, maxBytes] of [[0, 1 << 20], [7, 500], [20, 1]] as const) {
      const plain = await log.read(offset, maxBytes);
      const into = await log.read(offset, maxBytes, { buffers });
      expect(into.records.equals(plain.records)).toBe(true);
      const whole = allocated.at(-1)!;
      expect(into.records.buffer).toBe(whole.buffer);
      expect(into.records.byteOffset - whole.byteOffset).toBe(64);
      expect(whole.subarray(0, 64).every((b) => b === 0xaa)).toBe(true);
    }
    await log.close();
  });

  it('reads the active segment\'s hot tail at once and older bytes through the pool, both exact', async () => {
    const log = await openLog(tempDir(), { segmentBytes: 8 * 1024 * 1024 });
    const written: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      const b = batch(4, { valueBytes: 1000, tag: String.fromCharCode(97 + (i % 26)) });
      await append(log, b);
      written.push(b);
    }
    const poolReads = vi.spyOn(fs, 'read');
    try {
      // The last batch: inside the hot tail, no pool read.
      const tail = await log.read(399 * 4, 1 << 20);
      expect(ranges(tail.records)).toEqual([[1596, 1599]]);
      expect(decodeBatch(tail.records, 0).records.map((r) => r.value!.toString())).toEqual(decodeBatch(written[399]!, 0).records.map((r) => r.value!.toString()));
      expect(poolReads).not.toHaveBeenCalled();
      // The first batch (1.6 MB before the end): through the pool.
      const head = await log.read(0, 4000);
      expect(ranges(head.records)).toEqual([[0, 3]]);
      expect(decodeBatch(head.records, 0).records.map((r) => r.value!.toString())).toEqual(decodeBatch(written[0]!, 0).records.map((r) => r.value!.toString()));
      expect(poolReads).toHaveBeenCalled();
    } finally {
      poolReads.mockRestore();
    }
    await log.close();
  });

  it('rolls on segment.bytes and finds the right batch for every offset across segments', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 2000, indexIntervalBytes: 300 });
    const expected: Array<[number, number]> = [];
    for (let i = 0; i < 60; i++) {
      const r = await append(log, batch(1 + (i % 4), { valueBytes: 30 }));
      expected.push([r.baseOffset, r.lastOffset]);
    }
    expect(log.segmentCount).toBeGreaterThan(3);
    for (const seg of fs.readdirSync(dir).filter((n) => n.endsWith('.log'))) expect(fs.statSync(join(dir, seg)).size).toBeLessThanOrEqual(2000);
    for (const [base, last] of expected) {
      for (let o = base; o <= last; o++) {
        const read = await log.read(o, 1); // minOneBatch: exactly the batch holding o
        expect(ranges(read.records)).toEqual([[base, last]]);
      }
    }
    // One read spanning every segment boundary returns everything, in order.
    expect(ranges((await log.read(0, 1 << 20)).records)).toEqual(expected);
    // Reopen (indexes from files for sealed segments) and check again.
    await log.close();
    const again = await openLog(dir, { segmentBytes: 2000, indexIntervalBytes: 300 });
    for (const [base, last] of expected) expect(ranges((await again.read(last, 1)).records)).toEqual([[base, last]]);
    await again.close();
  });

  it('rolls on segment.ms', async () => {
    // Generous margins: under CI load two appends must still land within one segment.ms.
    const log = await openLog(tempDir(), { segmentMs: 400 });
    await append(log, batch(1));
    await append(log, batch(1));
    expect(log.segmentCount).toBe(1);
    await new Promise((r) => setTimeout(r, 450));
    await append(log, batch(1));
    expect(log.segmentBaseOffsets()).toEqual([0, 2]);
    await log.close();
  });

  it('rolls when the offset index is full', async () => {
    const log = await openLog(tempDir(), { segmentIndexBytes: 4096, indexIntervalBytes: 0 });
    for (let i = 0; i < 600; i++) await append(log, batch(1, { valueBytes: 1 }));
    expect(log.segmentCount).toBeGreaterThan(1);
    expect(ranges((await log.read(555, 1)).records)).toEqual([[555, 555]]);
    await log.close();
  });

  it('honours maxBytes, minOneBatch and maxOffset; never returns a partial batch', async () => {
    const log = await openLog(tempDir(), { segmentBytes: 1500 });
    const sizes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const b = batch(5, { valueBytes: 40 });
      sizes.push(b.length);
      await append(log, b);
    }
    const one = sizes[0]!;
    expect(ranges((await log.read(0, one * 2 + 10)).records)).toEqual([[0, 4], [5, 9]]);
    expect(ranges((await log.read(0, 10)).records)).toEqual([[0, 4]]); // minOneBatch default
    expect((await log.read(0, 10, { minOneBatch: false })).records.length).toBe(0);
    expect(ranges((await log.read(12, 1 << 20, { maxOffset: 25 })).records)).toEqual([[10, 14], [15, 19], [20, 24]]);
    expect((await log.read(50, 1000)).records.length).toBe(0); // at the HW: empty, not an error
    await expect(log.read(51, 1000)).rejects.toMatchObject({ code: ErrorCode.OFFSET_OUT_OF_RANGE });
    await log.close();
  });

  it('offsetForTimestamp finds the first batch whose max timestamp reaches the target', async () => {
    const log = await openLog(tempDir(), { segmentBytes: 1200, indexIntervalBytes: 100 });
    for (let i = 0; i < 30; i++) await append(log, batch(2, { timestamp: 10_000 + i * 100 })); // max = base + 1
    expect(await log.offsetForTimestamp(0)).toEqual({ offset: 0, timestamp: 10_001 });
    expect(await log.offsetForTimestamp(10_001)).toEqual({ offset: 0, timestamp: 10_001 });
    expect(await log.offsetForTimestamp(10_002)).toEqual({ offset: 2, timestamp: 10_101 });
    expect(await log.offsetForTimestamp(12_050)).toEqual({ offset: 42, timestamp: 12_101 });
    expect(await log.offsetForTimestamp(12_901)).toEqual({ offset: 58, timestamp: 12_901 });
    expect(await log.offsetForTimestamp(12_902)).toBeNull();
    await log.close();
  });

  it('stamps LogAppendTime and keeps the CRC valid', async () => {
    const log = await openLog(tempDir(), { messageTimestampType: 'LogAppendTime' });
    const before = Date.now();
    const r = await append(log, batch(2, { timestamp: 5 }));
    expect(r.logAppendTimeMs).toBeGreaterThanOrEqual(before);
    const rec = (await log.read(0, 1 << 20)).records;
    const decoded = decodeBatch(rec, 0); // verifies the CRC
    expect(decoded.records.map((x) => x.timestamp)).toEqual([r.logAppendTimeMs, r.logAppendTimeMs]);
    await log.close();
  });

  it('rejects batches over max.message.bytes', async () => {
    const log = await openLog(tempDir(), { maxMessageBytes: 200 });
    await expect(append(log, batch(10, { valueBytes: 50 }))).rejects.toMatchObject({ code: ErrorCode.MESSAGE_TOO_LARGE });
    expect(log.logEndOffset).toBe(0);
    await log.close();
  });

  it('emits highWatermark as it advances (flush.mode=always: after the fsync)', async () => {
    const log = await openLog(tempDir(), { flushMode: 'always' });
    const seen: number[] = [];
    log.on('highWatermark', (hw: number) => seen.push(hw));
    await append(log, batch(3));
    await append(log, batch(2));
    expect(seen).toEqual([3, 5]);
    expect(log.flushedOffset).toBe(5);
    expect(log.highWatermark).toBe(5);
    await log.close();
  });

  it('keeps the leader-epoch cache and answers endOffsetForEpoch', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    await append(log, batch(3), 1);
    await append(log, batch(3), 1);
    await append(log, batch(4), 3);
    await append(log, batch(1), 4);
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 6 });
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 1, endOffset: 6 });
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 3, endOffset: 10 });
    expect(log.endOffsetForEpoch(4)).toEqual({ epoch: 4, endOffset: 11 });
    expect(log.endOffsetForEpoch(0)).toEqual({ epoch: 0, endOffset: 0 });
    await log.close();
    expect(fs.readFileSync(join(dir, 'leader-epoch-checkpoint'), 'utf8')).toBe('0\n3\n1 0\n3 6\n4 10\n');
    const again = await openLog(dir);
    expect(again.endOffsetForEpoch(3)).toEqual({ epoch: 3, endOffset: 10 });
    await again.close();
  });

  it('truncateTo at the log end still drops an epoch that wrote no records (divergence)', async () => {
    const dir = tempDir();
    const again = await openLog(dir);
    await append(again, batch(3), 1);
    // An epoch this replica led without writing in: it starts at the log end.
    await again.assignEpochStartOffset(5);
    expect(again.endOffsetForEpoch(5)).toEqual({ epoch: 5, endOffset: 3 });
    expect(again.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 3 });
    await again.truncateTo(3);
    expect(again.logEndOffset).toBe(3);
    expect(again.endOffsetForEpoch(5)).toEqual({ epoch: -1, endOffset: -1 }); // above the latest: unknown
    expect(again.latestEpoch).toBe(1);
    await again.close();
    expect(fs.readFileSync(join(dir, 'leader-epoch-checkpoint'), 'utf8')).toBe('0\n1\n1 0\n');
  });

  it('restartAt drops the whole log and its epochs and starts empty at an offset; follower appends continue there', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 800 });
    for (let i = 0; i < 10; i++) await append(log, batch(2), 1); // offsets 0..19, several segments
    await log.replicateHighWatermark();
    log.setHighWatermark(20);
    await log.restartAt(100);
    expect([log.logStartOffset, log.logEndOffset, log.highWatermark, log.segmentCount, log.latestEpoch]).toEqual([100, 100, 100, 1, -1]);
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: -1, endOffset: -1 });
    await expect(log.read(5, 1 << 20)).rejects.toMatchObject({ code: ErrorCode.OFFSET_OUT_OF_RANGE });
    const next = batch(3);
    stampBatch(next, 0, 100, 2);
    await log.appendAsFollower(next);
    log.setHighWatermark(103);
    expect(ranges((await log.read(100, 1 << 20)).records)).toEqual([[100, 102]]);
    await log.close();
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.log'))).toEqual(['00000000000000000100.log']);
    const again = await openLog(dir);
    expect([again.logStartOffset, again.logEndOffset, again.latestEpoch]).toEqual([100, 103, 2]);
    await again.close();
  });

  it('truncateTo removes batches across segments, fixes indexes and epochs, and appends continue', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 800, indexIntervalBytes: 100 });
    for (let i = 0; i < 20; i++) await append(log, batch(2), i < 10 ? 1 : 2); // offsets 0..39
    const segsBefore = log.segmentCount;
    await log.truncateTo(15); // inside batch [14, 15]: the whole batch goes
    expect(log.logEndOffset).toBe(14);
    expect(log.segmentCount).toBeLessThan(segsBefore);
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 14 });
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: -1, endOffset: -1 });
    const r = await append(log, batch(3), 3);
    expect(r.baseOffset).toBe(14);
    expect(ranges((await log.read(12, 1 << 20)).records)).toEqual([[12, 13], [14, 16]]);
    await log.close();
    const again = await openLog(dir, { segmentBytes: 800, indexIntervalBytes: 100 });
    expect(again.logEndOffset).toBe(17);
    expect(ranges((await again.read(0, 1 << 20)).records).at(-1)).toEqual([14, 16]);
    await again.close();
  });

  it('checkpoints survive close and reopen', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 600 });
    for (let i = 0; i < 12; i++) await append(log, batch(2));
    await log.close();
    const read = (name: string) => fs.readFileSync(join(dir, name), 'utf8').split('\n')[2];
    expect(read('recovery-point')).toBe('24');
    expect(read('high-watermark')).toBe('24');
    expect(read('log-start-offset')).toBe('0');
    const again = await openLog(dir, { segmentBytes: 600 });
    expect([again.logStartOffset, again.logEndOffset, again.highWatermark]).toEqual([0, 24, 24]);
    expect((await append(again, batch(1))).baseOffset).toBe(24);
    await again.close();
    await expect(again.read(0, 10)).rejects.toBeInstanceOf(FerryError);
  });

  it('appendAsFollower keeps leader offsets and epochs, and rejects gaps backwards', async () => {
    const leader = await openLog(tempDir());
    await append(leader, batch(3), 7);
    await append(leader, batch(2), 8);
    const data = (await leader.read(0, 1 << 20)).records;
    const follower = await openLog(tempDir());
    const r = await follower.appendAsFollower(Buffer.from(data));
    expect(r).toMatchObject({ baseOffset: 0, lastOffset: 4 });
    expect(follower.endOffsetForEpoch(7)).toEqual({ epoch: 7, endOffset: 3 });
    expect(readBatchHeader((await follower.read(3, 10)).records).partitionLeaderEpoch).toBe(8);
    await expect(follower.appendAsFollower(Buffer.from(data))).rejects.toMatchObject({ code: ErrorCode.OFFSET_OUT_OF_RANGE });
    await leader.close();
    await follower.close();
  });
});
