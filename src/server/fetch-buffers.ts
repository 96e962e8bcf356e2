/**
 * Reused read buffers for the fetch path.
 *
 * A 16 MiB fetch used to allocate a fresh 16 MiB buffer for the read, which the kernel had to map
 * and zero page by page (~4,000 page faults) before the read could fill it, and which added to the
 * external memory that makes V8 run a mark-compact about once a fetch. Measured on a 1 KiB
 * single-partition consume, reusing the buffer cut the broker's CPU per fetch by a quarter (see
 * docs/BENCHMARKS.md, "Closing the peer gaps").
 *
 * Life of a buffer: each read of a fetch (readPartitions) takes a `FetchBuffers` lease; the log
 * reads records into buffers allocated from it, with FETCH_RESPONSE_HEADROOM free bytes in front
 * where encodeFetchResponse writes the wire headers (src/protocol/fetch-response-encoder.ts); the
 * lease is released once gRPC has serialized the response (the FetchService serializer runs the
 * partitions' AFTER_SERIALIZE hook, grpc-definitions.ts). A lease never released (a long poll that
 * reads again, a call cancelled before its answer) just leaves its buffers to the garbage
 * collector.
 *
 * Only reads of at least the pool's minimum (POOLED_MIN_BYTES for consumer fetches) use the pool;
 * the partition leader's pool for follower fetches (replica-service.ts) takes every read of at least
 * REPLICA_POOLED_MIN_BYTES, since a follower keeping up fetches often and little (tens of KiB), and
 * fresh buffers of that size were what kept V8's garbage collector busy under replication.
 * Successive reads of one lease share a pooled buffer while they fit (a fetch of many small
 * partitions takes one buffer, not one each). At most POOL_MAX_BUFFERS wait in the pool, each at
 * most POOLED_MAX_BYTES, and the pool empties after POOL_IDLE_MS without use, so an idle broker
 * holds nothing.
 */
import type { ReadBuffers } from '../storage/log-reader.js';

/** Free bytes in front of each read, for the response headers (topic name included: ≤ 249 bytes). */
export const FETCH_RESPONSE_HEADROOM = 512;

export const POOLED_MIN_BYTES = 256 * 1024;
/** Below this, Buffer.allocUnsafe takes the bytes from Node's shared slab: no buffer of their own. */
export const REPLICA_POOLED_MIN_BYTES = 4 * 1024;
export const POOLED_MAX_BYTES = 32 * 1024 * 1024;
export const POOL_MAX_BUFFERS = 4;
export const POOL_IDLE_MS = 10_000;
/** Pooled buffers are sized in these steps, so a slightly larger read can reuse one. */
const SIZE_STEP = 1024 * 1024;

export class FetchBufferPool {
  private readonly free: ArrayBuffer[] = [];
  private lastUseMs = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  /** Buffers handed out and taken from the pool (reuses), for tests and diagnostics. */
  readonly stats = { allocated: 0, reused: 0 };

  constructor(
    private readonly idleMs = POOL_IDLE_MS,
    private readonly minPooledBytes = POOLED_MIN_BYTES,
  ) {}

  lease(): FetchBuffers {
    return new FetchBuffers(this);
  }

  /** Buffers waiting for reuse. */
  get size(): number {
    return this.free.length;
  }

  /** @internal A buffer of `bytes` bytes: a view of a pooled ArrayBuffer when one is big enough. */
  take(bytes: number): { buf: Buffer; pooled: ArrayBuffer | null } {
    if (bytes < this.minPooledBytes || bytes > POOLED_MAX_BYTES) return { buf: Buffer.allocUnsafe(bytes), pooled: null };
    this.lastUseMs = Date.now();
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const cap = this.free[i]!.byteLength;
      if (cap >= bytes && (best < 0 || cap < this.free[best]!.byteLength)) best = i;
    }
    let ab: ArrayBuffer;
    if (best >= 0) {
      ab = this.free.splice(best, 1)[0]!;
      this.stats.reused++;
    } else {
      const cap = Math.min(POOLED_MAX_BYTES, Math.ceil(bytes / SIZE_STEP) * SIZE_STEP);
      ab = Buffer.allocUnsafeSlow(cap).buffer as ArrayBuffer;
      this.stats.allocated++;
    }
    return { buf: Buffer.from(ab, 0, bytes), pooled: ab };
  }

  /** @internal Takes buffers back once nothing refers to their contents any more. */
  give(buffers: readonly ArrayBuffer[]): void {
    for (const ab of buffers) {
      if (this.free.length >= POOL_MAX_BUFFERS) {
        // Keep the biggest ones: they serve any read.
        let smallest = 0;
        for (let i = 1; i < this.free.length; i++) if (this.free[i]!.byteLength < this.free[smallest]!.byteLength) smallest = i;
        if (this.free[smallest]!.byteLength >= ab.byteLength) continue;
        this.free.splice(smallest, 1);
      }
      this.free.push(ab);
    }
    this.lastUseMs = Date.now();
    this.armIdleTimer();
  }

  /** Drops every pooled buffer. */
  clear(): void {
    this.free.length = 0;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** Empties the pool once it has gone unused for idleMs (checked by one unref'd timer). */
  private armIdleTimer(delayMs = this.idleMs): void {
    if (this.idleTimer || this.free.length === 0) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const idle = Date.now() - this.lastUseMs;
      if (idle >= this.idleMs) this.free.length = 0;
      else this.armIdleTimer(this.idleMs - idle);
    }, delayMs);
    this.idleTimer.unref();
  }
}

/** The read buffers of one fetch answer (see the top of this file). */
export class FetchBuffers implements ReadBuffers {
  readonly headroom = FETCH_RESPONSE_HEADROOM;
  private held: ArrayBuffer[] = [];
  private released = false;
  /** Bytes handed out from the start of the last pooled buffer taken (the rest is free for the next read). */
  private lastUsed = 0;

  constructor(private readonly pool: FetchBufferPool) {}

  allocate(bytes: number): Buffer {
    const last = this.held[this.held.length - 1];
    if (last && this.lastUsed + bytes <= last.byteLength) {
      const buf = Buffer.from(last, this.lastUsed, bytes);
      this.lastUsed += bytes;
      return buf;
    }
    const { buf, pooled } = this.pool.take(bytes);
    // After release (not done by the fetch path) the buffer is simply left to the garbage collector.
    if (pooled && !this.released) {
      this.held.push(pooled);
      this.lastUsed = bytes;
    }
    return buf;
  }

  /** Nothing refers to what was read any more: the buffers go back to the pool. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    const held = this.held;
    this.held = [];
    if (held.length > 0) this.pool.give(held);
  }
}
