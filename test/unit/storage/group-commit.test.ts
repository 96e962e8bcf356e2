import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../../src/storage/group-commit.js';
import { append, batch, openLog, tempDir, eventually } from './helpers.js';

describe('group commit', () => {
  it('many concurrent appends with flush.mode=always share fsyncs and all resolve durable', async () => {
    const log = await openLog(tempDir(), { flushMode: 'always' });
    const n = 200;
    const results = await Promise.all(Array.from({ length: n }, () => append(log, batch(2))));
    expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: n }, (_, i) => i * 2));
    expect(log.flushedOffset).toBe(2 * n);
    expect(log.highWatermark).toBe(2 * n);
    expect(log.fsyncCount).toBeGreaterThanOrEqual(1);
    expect(log.fsyncCount).toBeLessThan(n / 4); // shared, not one per append
    await log.close();
  });

  it('an append resolves only after an fsync that started after its write', async () => {
    let leo = 0;
    const started: number[] = [];
    let release: (() => void) | null = null;
    const gc = new GroupCommit(
      0,
      () => {
        const target = leo;
        started.push(target);
        return new Promise<number>((resolve) => (release = () => resolve(target)));
      },
      () => undefined,
    );
    leo = 10;
    let firstDone = false;
    const first = gc.waitFor(10).then(() => (firstDone = true));
    leo = 20; // written while the first fsync runs
    let secondDone = false;
    const second = gc.waitFor(20).then(() => (secondDone = true));
    const third = gc.waitFor(20);
    expect(started).toEqual([10]);
    release!();
    await first;
    expect(secondDone).toBe(false);
    expect(started).toEqual([10, 20]); // one more fsync shared by the two later waiters
    release!();
    await Promise.all([second, third]);
    expect(gc.fsyncCount).toBe(2);
    expect(firstDone && secondDone).toBe(true);
  });

  it('flush.mode=interval fsyncs on its timer; highWatermark follows the LEO', async () => {
    const log = await openLog(tempDir(), { flushMode: 'interval', flushIntervalMs: 300 });
    await append(log, batch(4));
    expect(log.highWatermark).toBe(4);
    expect(log.flushedOffset).toBe(0);
    await eventually(() => log.flushedOffset === 4);
    await log.close();
  });

  it('flush.mode=os never fsyncs on append, but a roll makes the old segment durable', async () => {
    const log = await openLog(tempDir(), { flushMode: 'os', segmentBytes: 500 });
    for (let i = 0; i < 6; i++) await append(log, batch(3));
    expect(log.fsyncCount).toBe(0);
    expect(log.segmentCount).toBeGreaterThan(1);
    expect(log.flushedOffset).toBe(log.segmentBaseOffsets().at(-1));
    await log.close();
  });
});
