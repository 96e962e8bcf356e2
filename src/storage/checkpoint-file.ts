/**
 * Small per-partition checkpoint files (log-start-offset, recovery-point, high-watermark,
 * leader-epoch-checkpoint), written atomically: write a temp file, fsync it, rename it over the
 * target, fsync the directory. After a crash the file holds the old or the new contents, never a mix.
 *
 * Format (text, like Kafka's checkpoints):
 *   line 1: format version (0)
 *   line 2: number of entries N
 *   N lines: one entry each (space-separated fields)
 *
 * `read` returns null when the file is missing and throws CheckpointCorruptError when it does not
 * parse; callers decide the fallback (and log it). Writes to one CheckpointFile are serialised and
 * coalesced: if several are requested while one runs, only the newest contents is written next.
 */
import { promises as fsp } from 'node:fs';
import { ATOMIC_TMP_SUFFIX, fsyncDir, writeFileAtomically } from '../util/atomic-file.js';

export { fsyncDir, writeFileAtomically };

export const CHECKPOINT_VERSION = 0;
/** Temp files end with this; a partition's loader removes leftovers from a crash. */
export const CHECKPOINT_TMP_SUFFIX = ATOMIC_TMP_SUFFIX;

export class CheckpointCorruptError extends Error {
  constructor(path: string, why: string) {
    super(`checkpoint ${path} is corrupt: ${why}`);
    this.name = 'CheckpointCorruptError';
  }
}

export class CheckpointFile {
  readonly path: string;
  private writing: Promise<void> | null = null;
  private next: { lines: readonly string[]; waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> } | null = null;

  constructor(path: string) {
    this.path = path;
  }

  /** Resolves once `entries` (or newer contents requested later) is durably in place. */
  write(entries: readonly string[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.next) {
        this.next.lines = entries;
        this.next.waiters.push({ resolve, reject });
      } else {
        this.next = { lines: entries, waiters: [{ resolve, reject }] };
      }
      if (!this.writing) this.writing = this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.next) {
      const { lines, waiters } = this.next;
      this.next = null;
      const text = `${CHECKPOINT_VERSION}\n${lines.length}\n${lines.map((l) => `${l}\n`).join('')}`;
      try {
        await writeFileAtomically(this.path, text);
        for (const w of waiters) w.resolve();
      } catch (err) {
        for (const w of waiters) w.reject(err);
      }
    }
    this.writing = null;
  }

  /** The entries, or null when the file does not exist. */
  async read(): Promise<string[] | null> {
    let text: string;
    try {
      text = await fsp.readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    if (lines.length < 2) throw new CheckpointCorruptError(this.path, 'missing header');
    if (lines[0] !== String(CHECKPOINT_VERSION)) throw new CheckpointCorruptError(this.path, `unknown version ${lines[0]}`);
    const count = Number(lines[1]);
    if (!Number.isInteger(count) || count < 0 || count !== lines.length - 2) {
      throw new CheckpointCorruptError(this.path, `header says ${lines[1]} entries, file has ${lines.length - 2}`);
    }
    return lines.slice(2);
  }

  async writeOffset(offset: number): Promise<void> {
    await this.write([String(offset)]);
  }

  /** A single non-negative integer entry, or null when the file is missing. */
  async readOffset(): Promise<number | null> {
    const lines = await this.read();
    if (lines === null) return null;
    const value = lines.length === 1 ? Number(lines[0]) : NaN;
    if (!Number.isSafeInteger(value) || value < 0) throw new CheckpointCorruptError(this.path, `bad offset entry ${JSON.stringify(lines)}`);
    return value;
  }
}
