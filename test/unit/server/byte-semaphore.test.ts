import { describe, expect, it } from 'vitest';
import { ByteSemaphore } from '../../../src/server/byte-semaphore.js';

describe('ByteSemaphore', () => {
  it('admits up to its capacity at once, then queues in order and admits on release', async () => {
    const s = new ByteSemaphore(100);
    const a = await s.acquire(60, 1_000);
    const b = await s.acquire(40, 1_000);
    expect(a && b).toBeTruthy();
    const order: string[] = [];
    const c = s.acquire(50, 1_000).then((r) => (order.push('c'), r));
    const d = s.acquire(10, 1_000).then((r) => (order.push('d'), r)); // fits after c, waits behind it (FIFO)
    expect(s.queuedBytes).toBe(60);
    a!();
    a!(); // a second release is ignored
    expect(await c).toBeTruthy();
    expect(await d).toBeTruthy();
    expect(order).toEqual(['c', 'd']);
    expect(s.heldBytes).toBe(100);
  });

  it('refuses at once when the waiting room (another capacity) is full, and after waitMs otherwise', async () => {
    const s = new ByteSemaphore(100);
    await s.acquire(100, 0);
    const waiting = s.acquire(80, 30);
    expect(await s.acquire(30, 1_000)).toBeNull(); // 80 + 30 waiting > 100
    expect(await s.acquire(1, 0)).toBeNull(); // no wait allowed
    expect(await waiting).toBeNull(); // timed out
    expect(s.queuedBytes).toBe(0);
  });

  it('admits a request larger than the capacity only while nothing else is held', async () => {
    const s = new ByteSemaphore(100);
    const small = await s.acquire(10, 0);
    const big = s.acquire(500, 1_000);
    expect(s.heldBytes).toBe(10);
    small!();
    const release = await big;
    expect(s.heldBytes).toBe(500);
    expect(await s.acquire(1, 0)).toBeNull();
    release!();
    expect(s.heldBytes).toBe(0);
  });

  it('a head that gives up lets smaller requests behind it in', async () => {
    const s = new ByteSemaphore(100);
    await s.acquire(90, 0);
    const head = s.acquire(50, 20);
    const small = s.acquire(5, 1_000);
    expect(await head).toBeNull();
    expect(await small).toBeTruthy();
    expect(s.heldBytes).toBe(95);
  });
});
