/**
 * SerialExecutor: runs async tasks one at a time in submission order. A PartitionLog sends every
 * mutation (append, roll, truncate, retention, close) through one, because in Node the hazard is not
 * threads but two async operations interleaving at their awaits. `inTask` lets mutators assert they
 * were reached through the queue.
 *
 * A task's failure is reported to its caller only; the queue keeps running later tasks.
 */
export class SerialExecutor {
  private tail: Promise<unknown> = Promise.resolve();
  private depth = 0;
  private pending = 0;

  /** True while a task of this executor is running (between its start and its settlement). */
  get inTask(): boolean {
    return this.depth > 0;
  }

  /** Tasks submitted and not yet settled (including the running one). */
  get queued(): number {
    return this.pending;
  }

  run<T>(task: () => Promise<T> | T): Promise<T> {
    this.pending++;
    const start = async (): Promise<T> => {
      this.depth++;
      try {
        return await task();
      } finally {
        this.depth--;
        this.pending--;
      }
    };
    const result = this.tail.then(start, start);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
