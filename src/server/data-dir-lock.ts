/**
 * The data directory's `.lock` file: one broker per directory.
 *
 * Node has no flock(2), so the lock names its owner: `{"pid", "startTicks", "bootId"}`. A lock is
 * stale — taken over, with a warning — when its owner cannot be the process that wrote it:
 *  - the pid is not running;
 *  - the machine rebooted since (`/proc/sys/kernel/random/boot_id` differs): every old pid is gone,
 *    even if the number is in use again (a container's broker is pid 1 after every restart);
 *  - the pid runs, but started at another time (`/proc/<pid>/stat` field 22): the number was reused.
 * Where /proc is missing (not Linux), only liveness is checked, as with a plain-pid lock written by
 * an older Ferry. Not covered (flock would be): two brokers in different pid namespaces (containers)
 * sharing one directory through a volume.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { ErrorCode, FerryError } from '../protocol/errors.js';

interface LockOwner {
  pid: number;
  /** The owner's start time in clock ticks since boot (null where /proc is missing). */
  startTicks: number | null;
  bootId: string | null;
}

function readProc(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Field 22 of /proc/<pid>/stat (starttime); the command name in field 2 may hold spaces and ')'. */
export function processStartTicks(pid: number): number | null {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === null) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[19]); // fields[0] is field 3 (state)
  return Number.isFinite(ticks) ? ticks : null;
}

function bootId(): string | null {
  return readProc('/proc/sys/kernel/random/boot_id')?.trim() || null;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseOwner(text: string): LockOwner | null {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return { pid: Number(trimmed), startTicks: null, bootId: null }; // an older Ferry's plain pid
  try {
    const o = JSON.parse(trimmed) as Partial<LockOwner>;
    if (!Number.isInteger(o.pid) || o.pid! <= 0) return null;
    return { pid: o.pid!, startTicks: typeof o.startTicks === 'number' ? o.startTicks : null, bootId: typeof o.bootId === 'string' ? o.bootId : null };
  } catch {
    return null;
  }
}

/** Why `owner` no longer holds the lock, or null when it still may. */
function staleReason(owner: LockOwner | null): string | null {
  if (owner === null) return 'unreadable lock file';
  if (owner.pid === process.pid) return 'written by this process id before a restart';
  if (!pidAlive(owner.pid)) return 'owner process not running';
  const boot = bootId();
  if (owner.bootId !== null && boot !== null && owner.bootId !== boot) return 'written before the machine rebooted';
  const ticks = processStartTicks(owner.pid);
  if (owner.startTicks !== null && ticks !== null && owner.startTicks !== ticks) return 'process id reused by another process';
  return null;
}

/** Takes `path` for this process; refuses (INVALID_CONFIG) while another live broker holds it. */
export async function acquireDataDirLock(path: string, logger: Logger): Promise<void> {
  const me: LockOwner = { pid: process.pid, startTicks: processStartTicks(process.pid), bootId: bootId() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await fsp.open(path, 'wx');
      await fh.writeFile(JSON.stringify(me));
      await fh.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = parseOwner(await fsp.readFile(path, 'utf8').catch(() => ''));
      const why = staleReason(owner);
      if (why === null) {
        throw new FerryError(ErrorCode.INVALID_CONFIG, `data directory is in use by another broker (pid ${owner!.pid}); lock file ${path}`);
      }
      logger.warn({ lock: path, stalePid: owner?.pid ?? null, why }, 'taking over a stale data-directory lock (previous broker did not shut down cleanly)');
      await fsp.rm(path, { force: true });
    }
  }
  throw new FerryError(ErrorCode.INVALID_CONFIG, `could not lock data directory (${path})`);
}
