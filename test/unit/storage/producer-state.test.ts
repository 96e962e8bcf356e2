import { describe, expect, it } from 'vitest';
import { ErrorCode, FerryError } from '../../../src/protocol/errors.js';
import { ProducerStateManager, RUNS_RETAINED, addSequence, type AppendedProducerBatch } from '../../../src/storage/producer-state.js';

const NOW = 1_700_000_000_000;

function b(producerId: number, producerEpoch: number, baseSequence: number, offsetCount: number, baseOffset = -1): AppendedProducerBatch {
  return { producerId, producerEpoch, baseSequence, offsetCount, baseOffset, timestampMs: NOW };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as FerryError).code;
  }
  return 'NONE';
}

describe('ProducerStateManager', () => {
  it('accepts an unknown producer at any sequence and then requires the next one', () => {
    const s = new ProducerStateManager();
    expect(s.check([b(7, 0, 42, 3)])).toEqual({ duplicate: false });
    s.update(b(7, 0, 42, 3, 100));
    expect(s.lastOf(7)).toEqual({ epoch: 0, lastSeq: 44, lastOffset: 102 });
    expect(s.check([b(7, 0, 45, 1)])).toEqual({ duplicate: false });
    expect(codeOf(() => s.check([b(7, 0, 46, 1)]))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER); // gap
    expect(codeOf(() => s.check([b(7, 0, 44, 2)]))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER); // overlaps the end
  });

  it('answers an exact duplicate with its original offsets, for any of the last runs', () => {
    const s = new ProducerStateManager();
    s.update(b(1, 0, 0, 5, 10));
    s.update(b(2, 0, 0, 1, 15)); // another producer in between: producer 1's next batch starts a new run
    s.update(b(1, 0, 5, 5, 16));
    expect(s.check([b(1, 0, 0, 5)])).toEqual({ duplicate: true, baseOffset: 10, lastOffset: 14 });
    expect(s.check([b(1, 0, 5, 5)])).toEqual({ duplicate: true, baseOffset: 16, lastOffset: 20 });
  });

  it('merges contiguous batches into one run, so a retried multi-batch request is a duplicate however it is split', () => {
    const s = new ProducerStateManager();
    for (let i = 0; i < 20; i++) s.update(b(1, 0, i * 10, 10, 1000 + i * 10));
    expect(s.check([b(1, 0, 0, 10)])).toEqual({ duplicate: true, baseOffset: 1000, lastOffset: 1009 });
    expect(s.check([b(1, 0, 50, 10), b(1, 0, 60, 10), b(1, 0, 70, 10)])).toEqual({ duplicate: true, baseOffset: 1050, lastOffset: 1079 });
  });

  it('keeps only the last RUNS_RETAINED runs', () => {
    const s = new ProducerStateManager();
    for (let i = 0; i <= RUNS_RETAINED; i++) s.update(b(1, 0, i, 1, i * 100)); // offsets not contiguous: one run each
    expect(codeOf(() => s.check([b(1, 0, 0, 1)]))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(s.check([b(1, 0, 1, 1)])).toEqual({ duplicate: true, baseOffset: 100, lastOffset: 100 });
  });

  it('refuses a mix of duplicate and new batches, and duplicates that are not contiguous in the log', () => {
    const s = new ProducerStateManager();
    s.update(b(1, 0, 0, 2, 0));
    expect(codeOf(() => s.check([b(1, 0, 0, 2), b(1, 0, 2, 2)]))).toBe(ErrorCode.DUPLICATE_SEQUENCE_NUMBER);
    s.update(b(2, 0, 0, 1, 2));
    s.update(b(1, 0, 2, 2, 3));
    expect(codeOf(() => s.check([b(1, 0, 0, 2), b(1, 0, 2, 2)]))).toBe(ErrorCode.DUPLICATE_SEQUENCE_NUMBER);
  });

  it('checks later batches of one append against the earlier ones', () => {
    const s = new ProducerStateManager();
    expect(s.check([b(1, 0, 0, 2), b(1, 0, 2, 3), b(-1, -1, -1, 4), b(1, 0, 5, 1)])).toEqual({ duplicate: false });
    expect(codeOf(() => s.check([b(1, 0, 0, 2), b(1, 0, 3, 1)]))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  it('fences older epochs and requires a new epoch to start at sequence 0', () => {
    const s = new ProducerStateManager();
    s.update(b(1, 3, 0, 5, 0));
    expect(codeOf(() => s.check([b(1, 2, 5, 1)]))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(codeOf(() => s.check([b(1, 4, 5, 1)]))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(s.check([b(1, 4, 0, 1)])).toEqual({ duplicate: false });
    s.update(b(1, 4, 0, 1, 5));
    // the old epoch's batches are no longer duplicates: their epoch is fenced
    expect(codeOf(() => s.check([b(1, 3, 0, 5)]))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(s.lastOf(1)).toEqual({ epoch: 4, lastSeq: 0, lastOffset: 5 });
  });

  it('wraps sequences after 2^31-1', () => {
    const max = 2 ** 31 - 1;
    expect(addSequence(max, 1)).toBe(0);
    const s = new ProducerStateManager();
    s.update(b(1, 0, max - 1, 4, 0)); // max-1, max, 0, 1
    expect(s.lastOf(1)!.lastSeq).toBe(1);
    expect(s.check([b(1, 0, 2, 1)])).toEqual({ duplicate: false });
    expect(s.check([b(1, 0, max, 2)])).toEqual({ duplicate: true, baseOffset: 1, lastOffset: 2 });
  });

  it('forgets producers unseen for the expiration time', () => {
    const s = new ProducerStateManager();
    s.update(b(1, 0, 0, 1, 0));
    s.update({ ...b(2, 0, 0, 1, 1), timestampMs: NOW + 10_000 });
    expect(s.expire(NOW + 15_000, 10_000)).toBe(1);
    expect(s.lastOf(1)).toBeUndefined();
    expect(s.check([b(1, 0, 9, 1)])).toEqual({ duplicate: false }); // unknown again: accepted
  });
});
