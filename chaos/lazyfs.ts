/**
 * lazyfs-style loss of un-fsynced writes on a crash (Jepsen's lazyfs keeps writes in its own page
 * cache until fsync and drops them on a "crash"). Ferry runs on a normal file system here, so the
 * harness reconstructs what a crash would have lost:
 *
 * - `shim` model (a C compiler is available): every broker runs with LD_PRELOAD of a tiny library
 *   that wraps fsync()/fdatasync(): it takes the file's size *before* the real call and, once the
 *   call succeeded, appends "dev inode size" to a per-incarnation log. A file's durable size is the
 *   size at its last successful fsync (files are keyed by inode, so a temp file fsynced and renamed
 *   keeps its record), else its size when the incarnation started (the harness starts brokers only
 *   on data it has already "crashed", or that a clean shutdown fsynced), else 0 (created and never
 *   fsynced).
 * - `ack` model (no compiler): with flush.mode=always nothing un-fsynced is assumed (acknowledged
 *   appends were fsynced, the broker syncs before acknowledging); with other modes the durable
 *   size is the file's size when the incarnation started.
 *
 * On a SIGKILL with the lazyfs fault, before the restart, every regular file of the broker's data
 * dir longer than its durable size is cut to a random length in [durable, current] (writeback may
 * have reached part of the tail; segment files are append-only, so a prefix is what survives).
 * `.lock` (the pid lock) is left alone. Not modelled: lost directory entries (a file created and never fsynced keeps its name, possibly
 * empty), un-fsynced overwrites/truncations coming back (only appends are undone), torn pages in
 * the middle of a file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Rng } from './rng.js';

const SHIM_C = String.raw`
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int log_fd = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

static void init(void) {
  real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  const char *p = getenv("CHAOS_FSYNC_LOG");
  if (p && *p) log_fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

static int wrapped(int fd, int data) {
  pthread_once(&once, init);
  struct stat st;
  int regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  int r = data ? real_fdatasync(fd) : real_fsync(fd);
  if (r == 0 && regular && log_fd >= 0) {
    char buf[96];
    int n = snprintf(buf, sizeof buf, "%lu %lu %lld\n", (unsigned long)st.st_dev, (unsigned long)st.st_ino, (long long)st.st_size);
    if (n > 0) (void)!write(log_fd, buf, (size_t)n);
  }
  return r;
}

int fsync(int fd) { return wrapped(fd, 0); }
int fdatasync(int fd) { return wrapped(fd, 1); }
`;

export type LazyfsModel = 'shim' | 'ack';

/** Builds the shim into `dir`; returns its path, or null (with the reason) without a compiler. */
export function buildShim(dir: string): { path: string | null; why: string } {
  mkdirSync(dir, { recursive: true });
  const src = join(dir, 'fsync-shim.c');
  const out = join(dir, 'fsync-shim.so');
  try {
    writeFileSync(src, SHIM_C);
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', out, src, '-ldl', '-lpthread'], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { path: out, why: 'fsync shim (LD_PRELOAD) records each file size at its last fsync' };
  } catch (err) {
    return { path: null, why: `no fsync shim (${(err as Error).message.split('\n')[0]}): durable size = size at incarnation start (os/interval) or everything (always)` };
  }
}

function walk(dir: string, out: string[]): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
}

/** Sizes of the data dir's files by inode when an incarnation starts. */
export function snapshotSizes(dataDir: string): Map<string, number> {
  const files: string[] = [];
  walk(dataDir, files);
  const m = new Map<string, number>();
  for (const f of files) {
    try {
      const st = statSync(f);
      m.set(`${st.dev} ${st.ino}`, st.size);
    } catch {
      /* gone */
    }
  }
  return m;
}

function fsyncRecords(logPath: string): Map<string, number> {
  const m = new Map<string, number>();
  if (!existsSync(logPath)) return m;
  for (const line of readFileSync(logPath, 'utf8').split('\n')) {
    const parts = line.trim().split(' ');
    if (parts.length !== 3) continue;
    m.set(`${parts[0]} ${parts[1]}`, Number(parts[2]));
  }
  return m;
}

export interface TruncationReport {
  files: number;
  bytesLost: number;
  detail: string[];
}

/**
 * Cuts every file of `dataDir` back towards its durable size (see the module comment). Call with the
 * broker dead. `alwaysDurable`: the ack model with flush.mode=always (nothing is cut).
 */
export function loseUnsynced(dataDir: string, model: LazyfsModel, baseline: Map<string, number>, fsyncLog: string, rng: Rng, alwaysDurable: boolean): TruncationReport {
  const records = model === 'shim' ? fsyncRecords(fsyncLog) : new Map<string, number>();
  const files: string[] = [];
  walk(dataDir, files);
  files.sort();
  const report: TruncationReport = { files: 0, bytesLost: 0, detail: [] };
  if (model === 'ack' && alwaysDurable) return report;
  for (const f of files) {
    // The pid lock is not data: cut to a prefix its pid may name a live unrelated process (pid 1, say),
    // and the broker then refuses the directory — a real crash leaves the whole old pid there.
    if (f.endsWith('/.lock')) continue;
    let st;
    try {
      st = statSync(f);
    } catch {
      continue;
    }
    const key = `${st.dev} ${st.ino}`;
    const durable = records.get(key) ?? baseline.get(key) ?? 0;
    if (st.size <= durable) continue;
    const keep = durable + Math.floor(rng.next() * (st.size - durable + 1));
    if (keep >= st.size) continue;
    truncateSync(f, keep);
    report.files++;
    report.bytesLost += st.size - keep;
    report.detail.push(`${f.slice(dataDir.length + 1)}: ${st.size} -> ${keep} (durable ${durable})`);
  }
  return report;
}
