import { afterEach, describe, expect, it, vi } from 'vitest';
import { FETCH_RESPONSE_HEADROOM, FetchBufferPool, POOL_IDLE_MS, POOL_MAX_BUFFERS, POOLED_MAX_BYTES, POOLED_MIN_BYTES, REPLICA_POOLED_MIN_BYTES } from '../../../src/server/fetch-buffers.js';

const MiB = 1024 * 1024;

describe('FetchBufferPool', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reuses a released read buffer for the next fetch', () => {
    const pool = new FetchBufferPool();
    const first = pool.lease();
    expect(first.headroom).toBe(FETCH_RESPONSE_HEADROOM);
    const a = first.allocate(4 * MiB);
    expect(a.length).toBe(4 * MiB);
    first.release();
    first.release(); // idempotent: the buffer is pooled once
    expect(pool.size).toBe(1);
    const b = pool.lease().allocate(3 * MiB + 5);
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(3 * MiB + 5);
    expect(pool.stats).toEqual({ allocated: 1, reused: 1 });
    expect(pool.size).toBe(0);
  });

  it('never hands out a buffer still leased', () => {
    const pool = new FetchBufferPool();
    const l1 = pool.lease();
    const a = l1.allocate(MiB);
    const b = pool.lease().allocate(MiB);
    expect(b.buffer).not.toBe(a.buffer);
    l1.release();
    const c = pool.lease().allocate(MiB);
    expect(c.buffer).toBe(a.buffer);
  });

  it('leaves small and huge reads out of the pool', () => {
    const pool = new FetchBufferPool();
    const lease = pool.lease();
    lease.allocate(POOLED_MIN_BYTES - 1);
    lease.allocate(POOLED_MAX_BYTES + 1);
    lease.release();
    expect(pool.size).toBe(0);
    expect(pool.stats).toEqual({ allocated: 0, reused: 0 });
  });

  it('keeps at most POOL_MAX_BUFFERS, preferring the largest', () => {
    const pool = new FetchBufferPool();
    const lease = pool.lease();
    for (let i = 1; i <= POOL_MAX_BUFFERS + 2; i++) lease.allocate(i * MiB);
    lease.release();
    expect(pool.size).toBe(POOL_MAX_BUFFERS);
    // The two smallest (1 and 2 MiB) were dropped: a 1 MiB read takes the smallest kept (3 MiB).
    expect(pool.lease().allocate(MiB).buffer.byteLength).toBe(3 * MiB);
  });

  it('empties itself after going unused for the idle time', () => {
    vi.useFakeTimers();
    const pool = new FetchBufferPool(1000);
    const lease = pool.lease();
    lease.allocate(MiB);
    lease.release();
    vi.advanceTimersByTime(600);
    const again = pool.lease(); // used again: the idle clock restarts
    again.allocate(MiB);
    again.release();
    vi.advanceTimersByTime(600);
    expect(pool.size).toBe(1);
    vi.advanceTimersByTime(500);
    expect(pool.size).toBe(0);
  });

  it('carves successive reads of one lease from the same pooled buffer while they fit', () => {
    const pool = new FetchBufferPool();
    const lease = pool.lease();
    const a = lease.allocate(300 * 1024);
    const b = lease.allocate(400 * 1024);
    const c = lease.allocate(400 * 1024); // 1100 KiB: past the 1 MiB buffer, so a second one
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteOffset).toBe(a.byteOffset + a.length);
    expect(c.buffer).not.toBe(a.buffer);
    a.fill(1);
    b.fill(2);
    expect(a.every((x) => x === 1)).toBe(true); // regions never overlap
    lease.release();
    expect(pool.stats).toEqual({ allocated: 2, reused: 0 });
    expect(pool.size).toBe(2);
  });

  it('pools small reads when made with a lower minimum (the leader\'s pool for follower fetches)', () => {
    const pool = new FetchBufferPool(POOL_IDLE_MS, REPLICA_POOLED_MIN_BYTES);
    const first = pool.lease();
    const a = first.allocate(REPLICA_POOLED_MIN_BYTES);
    first.allocate(REPLICA_POOLED_MIN_BYTES - 1); // carved from the same buffer
    first.release();
    const b = pool.lease().allocate(64 * 1024);
    expect(b.buffer).toBe(a.buffer);
    expect(pool.stats).toEqual({ allocated: 1, reused: 1 });
    const small = pool.lease().allocate(REPLICA_POOLED_MIN_BYTES - 1);
    expect(small.buffer).not.toBe(a.buffer); // below the minimum: Node's slab
    expect(pool.stats).toEqual({ allocated: 1, reused: 1 });
  });
});
