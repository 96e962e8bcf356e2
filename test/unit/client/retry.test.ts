import { describe, expect, it } from 'vitest';
import { backoffMs, withRetry } from '../../../src/client/retry.js';
import { ErrorCode, FerryError } from '../../../src/protocol/errors.js';

describe('backoffMs', () => {
  it('doubles from the initial backoff and caps at the maximum (no jitter at random=0.5)', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, 100, 1000, mid))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('jitters within ±20 % and never above the maximum', () => {
    expect(backoffMs(1, 100, 1000, () => 0)).toBe(80);
    expect(backoffMs(1, 100, 1000, () => 0.999999)).toBe(120);
    expect(backoffMs(10, 100, 1000, () => 0.999999)).toBe(1000);
    expect(backoffMs(10, 100, 1000, () => 0)).toBe(800);
  });
});

describe('withRetry', () => {
  const opts = { retries: 3, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 };

  it('retries retriable errors with the backoff schedule, then succeeds', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async () => {
        if (++calls < 3) throw new FerryError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'moved');
        return 'ok';
      },
      opts,
      { sleep: async (ms) => void delays.push(ms), random: () => 0.5 },
    );
    expect(result).toBe('ok');
    expect(delays).toEqual([100, 200]);
  });

  it('gives up after `retries` retries with the last error', async () => {
    let calls = 0;
    const p = withRetry(
      async () => {
        calls++;
        throw new FerryError(ErrorCode.REQUEST_TIMED_OUT, 'slow');
      },
      opts,
      { sleep: async () => {} },
    );
    await expect(p).rejects.toMatchObject({ code: ErrorCode.REQUEST_TIMED_OUT });
    expect(calls).toBe(4);
  });

  it('does not retry non-retriable errors', async () => {
    let calls = 0;
    const p = withRetry(
      async () => {
        calls++;
        throw new FerryError(ErrorCode.INVALID_CONFIG, 'bad');
      },
      opts,
      { sleep: async () => {} },
    );
    await expect(p).rejects.toMatchObject({ code: ErrorCode.INVALID_CONFIG });
    expect(calls).toBe(1);
  });
});
