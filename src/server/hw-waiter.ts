/**
 * Long-poll support: resolves when any of the given logs' high watermark moves past the value seen
 * at read time, when the timeout passes, or when the signal aborts. Checking the recorded values
 * after subscribing closes the race where data arrives between the read and the wait.
 */
import type { PartitionLog } from '../storage/index.js';

export function waitForHighWatermark(
  watched: ReadonlyArray<{ log: PartitionLog; seenHighWatermark: number }>,
  timeoutMs: number,
  signals: AbortSignal[],
): Promise<void> {
  return new Promise((resolve) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      for (const { log } of watched) log.off('highWatermark', finish);
      for (const s of signals) s.removeEventListener('abort', finish);
      resolve();
    };
    const timer = setTimeout(finish, Math.max(0, timeoutMs));
    for (const { log } of watched) log.on('highWatermark', finish);
    for (const s of signals) {
      if (s.aborted) return finish();
      s.addEventListener('abort', finish);
    }
    for (const { log, seenHighWatermark } of watched) {
      if (log.highWatermark > seenHighWatermark) return finish();
    }
  });
}
