/**
 * The broker process's V8 garbage-collector setting (broker config `gc.heap.growing.percent`).
 *
 * Why: a broker allocates external memory (Buffers) for every byte it moves — HTTP/2 socket reads,
 * gRPC message reassembly, fetch reads — and nearly all of it dies young. V8 counts external memory
 * allocated since the last mark-compact against the old generation's headroom (limit − live old
 * objects − new-space capacity). A broker's old generation is small (~15 MB), so V8's default limit
 * leaves ~8–25 MB of headroom, and short-lived Buffers alone used it up several times a second:
 * measured on this project's 2-core machine, 20 incremental mark-compacts in 5 s at 10 MB/s of 1 KiB
 * values with fsync, 66 at 50 MB/s, each with concurrent marking threads competing with the clients
 * for the two cores (docs/BENCHMARKS.md, "Mark-compacts from short-lived Buffers"). Scavenges free
 * those Buffers anyway; the mark-compacts found almost nothing to free in the old generation.
 *
 * V8's `--heap-growing-percent` sets the factor the old-generation limit grows by after each
 * mark-compact (1 + percent/100) instead of V8's dynamic one (1.1–4, usually ~2.5 here). 300 (×4)
 * leaves enough headroom for the Buffer churn; the old generation then peaks at ~4× its live size,
 * tens of MB for a broker. The flag is read each time V8 computes a limit, so setting it at start-up
 * (before the first mark-compact that matters) is enough. A `--heap-growing-percent` given to node
 * itself (command line or NODE_OPTIONS) wins; 0 leaves V8's heuristics alone.
 */
import v8 from 'node:v8';
import type { Logger } from '../util/logger.js';

const FLAG = '--heap-growing-percent';

/** The value node was started with, if any (command line or NODE_OPTIONS). */
export function heapGrowingPercentFromNode(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string | undefined {
  const args = [...execArgv, ...nodeOptions.split(/\s+/)];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!.replace(/_/g, '-');
    if (a.startsWith(`${FLAG}=`)) return a.slice(FLAG.length + 1);
    if (a === FLAG) return args[i + 1];
  }
  return undefined;
}

/** Applies `percent` to this process unless node was given the flag itself; logs what holds. */
export function applyHeapGrowingPercent(percent: number, logger: Logger): void {
  const fromNode = heapGrowingPercentFromNode();
  if (fromNode !== undefined) {
    logger.info({ heapGrowingPercent: fromNode, source: 'node' }, 'gc: heap growing percent set on the node command line; gc.heap.growing.percent ignored');
    return;
  }
  if (percent <= 0) {
    logger.info({ heapGrowingPercent: 0 }, "gc: V8's own heap growing heuristics");
    return;
  }
  v8.setFlagsFromString(`${FLAG}=${percent}`);
  logger.info({ heapGrowingPercent: percent }, 'gc: old-generation limit grows by 1 + percent/100 after each mark-compact');
}
