/**
 * CPU seconds (user + system) of a process and all its descendants, read from /proc/<pid>/stat
 * (fields 14 utime and 15 stime, in clock ticks; threads are included in their process's figure).
 * A server's figure is the tree under the pid the harness spawned, so RabbitMQ's beam.smp and its
 * helpers count, and so does anything a server forks (e.g. a Redis AOF rewrite). Descendants that
 * exited between two samples are lost from the later one; the servers here keep theirs alive.
 * Linux only: elsewhere every figure is NaN, reported as "n/a".
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second (`getconf CLK_TCK`, 100 on Linux x86-64 in practice). */
const CLOCK_TICKS_PER_SEC = readClockTicks();

function readClockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

interface ProcStat {
  pid: number;
  ppid: number;
  ticks: number;
}

/** Parses /proc/<pid>/stat; the command name (field 2) may contain spaces, so split after its ')'. */
function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { pid, ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** CPU seconds used so far by `rootPid` and every live descendant; NaN if it is gone. */
export function treeCpuSeconds(rootPid: number): number {
  if (process.platform !== 'linux') return NaN;
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.set(stat.pid, stat);
  }
  if (!stats.has(rootPid)) return NaN;
  const children = new Map<number, number[]>();
  for (const s of stats.values()) {
    const list = children.get(s.ppid) ?? [];
    list.push(s.pid);
    children.set(s.ppid, list);
  }
  let ticks = 0;
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    ticks += stats.get(pid)?.ticks ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return ticks / CLOCK_TICKS_PER_SEC;
}

/** CPU seconds this process has used so far (for client workers). */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
