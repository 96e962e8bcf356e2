/**
 * File naming inside a partition directory. A segment is named by its base offset (the first
 * offset it may hold) as 20 zero-padded digits: `00000000000000000042.log`, `.index`, `.timeindex`.
 * Files being deleted carry a `.deleted` suffix; partition directories of deleted topics end in
 * `-delete`.
 */
import { promises as fsp } from 'node:fs';

export const LOG_FILE_SUFFIX = '.log';
export const INDEX_FILE_SUFFIX = '.index';
export const TIME_INDEX_FILE_SUFFIX = '.timeindex';
export const DELETED_FILE_SUFFIX = '.deleted';
export const DELETED_DIR_SUFFIX = '-delete';
const OFFSET_DIGITS = 20;
const SEGMENT_LOG_NAME = /^(\d{20})\.log$/;

export function offsetFileName(baseOffset: number, suffix: string): string {
  return `${String(baseOffset).padStart(OFFSET_DIGITS, '0')}${suffix}`;
}

/** The base offset of a `.log` file name, or null for any other name. */
export function parseSegmentLogName(name: string): number | null {
  const m = SEGMENT_LOG_NAME.exec(name);
  return m ? Number(m[1]) : null;
}

/** `<topic>-<partition>`: topics may contain '-' and '.', so the partition follows the LAST '-'. */
export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export function parsePartitionDirName(name: string): { topic: string; partition: number } | null {
  const dash = name.lastIndexOf('-');
  if (dash <= 0 || dash === name.length - 1) return null;
  const digits = name.slice(dash + 1);
  if (!/^\d{1,9}$/.test(digits)) return null;
  return { topic: name.slice(0, dash), partition: Number(digits) };
}

export async function unlinkIfExists(path: string): Promise<void> {
  try {
    await fsp.unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await fsp.rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Reads a whole small file, or null when it does not exist. */
export async function readFileIfExists(path: string): Promise<Buffer | null> {
  try {
    return await fsp.readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Replaces `path` with `data` and fsyncs it (index files; the caller fsyncs the directory if new). */
export async function writeFileSynced(path: string, data: Buffer): Promise<void> {
  const fh = await fsp.open(path, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
