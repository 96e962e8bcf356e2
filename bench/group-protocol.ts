/**
 * Messages between the `group` bench (parent) and its consumer-group member processes
 * (group-member-worker.ts), over child_process IPC.
 *
 * Sequence: parent forks with a MemberConfig as argv[2] → worker builds its client and sends
 * `ready` → (if `waitForStart`) the parent sends `start` → the worker records `subscribing` and
 * calls subscribe() (its first heartbeat goes out at once) → `joined` when that heartbeat is
 * answered → `assigned` / `revoked` as the coordinator moves partitions → one `batch` per eachBatch
 * call → on `stop`, close() (commit + leave) and `stopped`.
 *
 * Times are CLOCK_MONOTONIC milliseconds (`monoMs()`), which every process on the machine shares,
 * so the parent can subtract a worker's receipt time from its own kill or fork time.
 */

export interface MemberConfig {
  name: string;
  bootstrap: string;
  topic: string;
  groupId: string;
  /**
   * What identifies a record for the exactly-once check: its offset (pre-written topic), or the
   * per-partition sequence number the stream producer writes into the value's first 6 bytes.
   */
  key: 'offset' | 'seq';
  /** Wait for `start` before subscribing (so several members join together). */
  waitForStart: boolean;
}

export type MemberParentMessage = { type: 'start' } | { type: 'stop' };

export type MemberMessage =
  | { type: 'ready'; atMs: number }
  | { type: 'subscribing'; atMs: number }
  | { type: 'joined'; atMs: number; memberId: string }
  | { type: 'assigned'; atMs: number; partitions: number[] }
  | { type: 'revoked'; atMs: number; partitions: number[]; lost: boolean }
  /** Keys of one eachBatch call as half-open ranges, flattened: [start0, end0, start1, end1, ...]. */
  | { type: 'batch'; atMs: number; partition: number; ranges: number[] }
  /** SDK warnings and errors (fencing, lost sessions): evidence of odd group behaviour. */
  | { type: 'log'; atMs: number; level: 'warn' | 'error'; msg: string; obj: unknown }
  | { type: 'stopped' }
  | { type: 'failed'; error: string };

/** CLOCK_MONOTONIC in milliseconds (shared by all processes on one machine). */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Bytes at the start of a stream value that carry its per-partition sequence number. */
export const SEQ_BYTES = 6;
