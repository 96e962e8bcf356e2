/**
 * GroupCommit: owns `flushedOffset` (everything below it is fsynced) and shares fsyncs between
 * waiters. `waitFor(offset)` resolves once an fsync that *started after* the bytes below `offset`
 * were written has completed: an fsync captures its target (the LEO when it starts) and only
 * satisfies waiters at or below it. While one fsync runs, newer waiters queue up and all share the
 * next single fsync: with flush.mode=always that is group commit, one fsync per round trip of the
 * disk however many appends arrive meanwhile.
 *
 * An fsync failure is fatal for the log (after a failed fsync the page cache state is unknown, so
 * retrying could report data durable that is not): every current and future waiter is rejected with
 * FerryError(STORAGE_ERROR).
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';

interface Waiter {
  offset: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class GroupCommit {
  private flushed: number;
  private running = false;
  private waiters: Waiter[] = [];
  private failure: FerryError | null = null;
  private fsyncs = 0;

  /**
   * @param fsync  fsyncs what has been written so far and returns the offset it made durable
   *               (the LEO captured before it started).
   * @param onAdvance  called with the new flushedOffset whenever it grows.
   */
  constructor(
    initialFlushedOffset: number,
    private readonly fsync: () => Promise<number>,
    private readonly onAdvance: (flushedOffset: number) => void,
  ) {
    this.flushed = initialFlushedOffset;
  }

  get flushedOffset(): number {
    return this.flushed;
  }

  /** fsyncs completed by this log (tests check that concurrent appends share them). */
  get fsyncCount(): number {
    return this.fsyncs;
  }

  get failed(): FerryError | null {
    return this.failure;
  }

  /** Resolves once everything below `offset` is durable, starting an fsync if none is running. */
  waitFor(offset: number): Promise<void> {
    if (offset <= this.flushed) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ offset, resolve, reject });
      this.kick();
    });
  }

  /** Records durability achieved elsewhere (a roll fsyncs the old segment itself). */
  markFlushed(offset: number): void {
    if (offset <= this.flushed) return;
    this.flushed = offset;
    this.onAdvance(offset);
    this.settle();
  }

  /** After a truncation: nothing at or past `offset` exists any more. */
  resetTo(offset: number): void {
    if (offset < this.flushed) this.flushed = offset;
  }

  private kick(): void {
    if (this.running || this.waiters.length === 0 || this.failure) return;
    this.running = true;
    this.fsync().then(
      (durable) => {
        this.running = false;
        this.fsyncs++;
        this.markFlushed(durable);
        this.kick();
      },
      (err: unknown) => {
        this.running = false;
        this.failure = err instanceof FerryError ? err : new FerryError(ErrorCode.STORAGE_ERROR, `fsync failed: ${(err as Error).message}`);
        const waiters = this.waiters;
        this.waiters = [];
        for (const w of waiters) w.reject(this.failure);
      },
    );
  }

  private settle(): void {
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.offset <= this.flushed) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }
}
