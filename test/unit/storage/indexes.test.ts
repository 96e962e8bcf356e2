import { describe, expect, it } from 'vitest';
import { OffsetIndex } from '../../../src/storage/offset-index.js';
import { TimeIndex } from '../../../src/storage/time-index.js';

describe('OffsetIndex', () => {
  it('finds the largest entry at or below an offset, and (base, 0) below the first', () => {
    const ix = new OffsetIndex(100, 4096);
    ix.append(110, 1000);
    ix.append(125, 2000);
    ix.append(140, 3000);
    expect(ix.lookup(100)).toEqual({ offset: 100, position: 0 });
    expect(ix.lookup(109)).toEqual({ offset: 100, position: 0 });
    expect(ix.lookup(110)).toEqual({ offset: 110, position: 1000 });
    expect(ix.lookup(139)).toEqual({ offset: 125, position: 2000 });
    expect(ix.lookup(10_000)).toEqual({ offset: 140, position: 3000 });
  });

  it('grows past its initial capacity, reports full at segment.index.bytes, and round-trips the file image', () => {
    const ix = new OffsetIndex(0, 8 * 1000);
    let i = 0;
    while (ix.append(i * 10, i * 100 + 1)) i++;
    expect(i).toBe(1000);
    expect(ix.isFull).toBe(true);
    const back = OffsetIndex.fromBuffer(ix.toBuffer(), 0, 8 * 1000, 1_000_000)!;
    expect(back.entryCount).toBe(1000);
    for (let k = 0; k < 1000; k++) expect(back.lookup(k * 10 + 5)).toEqual({ offset: k * 10, position: k * 100 + 1 });
  });

  it('truncates by offset and by position', () => {
    const ix = new OffsetIndex(0, 4096);
    for (let k = 1; k <= 5; k++) ix.append(k * 10, k * 100);
    ix.truncateToOffset(30);
    expect(ix.lastEntry()).toEqual({ offset: 20, position: 200 });
    ix.truncateToPosition(200);
    expect(ix.lastEntry()).toEqual({ offset: 10, position: 100 });
  });

  it('rejects corrupt images', () => {
    const ix = new OffsetIndex(0, 4096);
    ix.append(10, 100);
    ix.append(20, 200);
    const buf = ix.toBuffer();
    expect(OffsetIndex.fromBuffer(buf.subarray(0, 12), 0, 4096, 1000)).toBeNull(); // not whole entries
    expect(OffsetIndex.fromBuffer(buf, 0, 4096, 150)).toBeNull(); // position past the log
    const swapped = Buffer.concat([buf.subarray(8), buf.subarray(0, 8)]);
    expect(OffsetIndex.fromBuffer(swapped, 0, 4096, 1000)).toBeNull(); // not increasing
  });
});

describe('TimeIndex', () => {
  it('keeps strictly increasing timestamps and finds the last entry before a target', () => {
    const ix = new TimeIndex(50, 4096);
    expect(ix.maybeAppend(1000, 50)).toBe(true);
    expect(ix.maybeAppend(1000, 60)).toBe(false);
    expect(ix.maybeAppend(2000, 70)).toBe(true);
    expect(ix.maybeAppend(3000, 90)).toBe(true);
    expect(ix.lookupBefore(1000)).toBeNull();
    expect(ix.lookupBefore(1001)).toEqual({ timestamp: 1000, offset: 50 });
    expect(ix.lookupBefore(3000)).toEqual({ timestamp: 2000, offset: 70 });
    expect(ix.lookupBefore(9999)).toEqual({ timestamp: 3000, offset: 90 });
    const back = TimeIndex.fromBuffer(ix.toBuffer(), 50, 4096, 100)!;
    expect(back.lastEntry()).toEqual({ timestamp: 3000, offset: 90 });
    expect(TimeIndex.fromBuffer(ix.toBuffer(), 50, 4096, 90)).toBeNull(); // offset past the segment end
    back.truncateToOffset(70);
    expect(back.lastEntry()).toEqual({ timestamp: 1000, offset: 50 });
  });

  it('reserves the last slot for the seal entry', () => {
    const ix = new TimeIndex(0, 12 * 3);
    expect(ix.maybeAppend(1, 0)).toBe(true);
    expect(ix.maybeAppend(2, 1)).toBe(true);
    expect(ix.isFull).toBe(true);
    expect(ix.maybeAppend(3, 2)).toBe(false);
    expect(ix.maybeAppend(3, 2, true)).toBe(true);
  });
});
