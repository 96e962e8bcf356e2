/**
 * Runs async tasks one at a time, in submission order. Used wherever interleaving awaits would
 * corrupt state (a registry rewrite racing another, two appends to one log).
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    // Keep the chain alive whatever the task's outcome; the caller sees the real result.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
