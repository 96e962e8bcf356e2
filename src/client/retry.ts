/**
 * Exponential backoff with jitter, and a retry loop for idempotent requests (metadata, admin reads,
 * list offsets). Produce does its own per-batch retrying in the sender, using `backoffMs`.
 *
 * Schedule: the n-th retry (n = 1, 2, ...) waits min(maxMs, initialMs * 2^(n-1)) scaled by a random
 * factor in [1 - JITTER, 1 + JITTER], and never more than maxMs. Jitter spreads clients that failed
 * together so they do not all come back at the same instant.
 */
import { isRetriableForClient, toFerryError } from './errors.js';
import type { FerryError } from '../protocol/errors.js';
import type { RetryOptions } from './types.js';

export const JITTER_FRACTION = 0.2;
export const BACKOFF_MULTIPLIER = 2;

export const DEFAULT_RETRY: RetryOptions = { retries: 5, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 };

/** Wait before retry number `retry` (1-based). `random` returns [0, 1). */
export function backoffMs(retry: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = initialMs * Math.pow(BACKOFF_MULTIPLIER, Math.max(0, retry - 1));
  const base = Math.min(maxMs, exp);
  const jittered = base * (1 - JITTER_FRACTION + 2 * JITTER_FRACTION * random());
  return Math.max(0, Math.min(maxMs, Math.round(jittered)));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface RetryHooks {
  /** Called before each backoff (e.g. to mark metadata stale). */
  onRetry?: (err: FerryError, retry: number, delayMs: number) => void;
  /** Aborts further retries (e.g. the client closed). */
  isCancelled?: () => boolean;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/**
 * Runs `fn` until it succeeds, a non-retriable FerryError comes back, or `retries` retries are spent.
 * Always rejects with a FerryError.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions, hooks: RetryHooks = {}): Promise<T> {
  const wait = hooks.sleep ?? sleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (raw) {
      const err = toFerryError(raw);
      if (!isRetriableForClient(err) || attempt >= opts.retries || hooks.isCancelled?.()) throw err;
      const delay = backoffMs(attempt + 1, opts.initialRetryTimeMs, opts.maxRetryTimeMs, hooks.random);
      hooks.onRetry?.(err, attempt + 1, delay);
      await wait(delay);
    }
  }
}
