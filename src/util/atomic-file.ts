/**
 * Atomic small-file replace: write `<name>.tmp`, fsync it, rename it over the target, fsync the
 * directory. After a crash the target holds either the old or the new contents, never a mix.
 * Callers serialise writes to one path (the temp name is fixed, so a crash leaves at most one
 * leftover, which the next write overwrites).
 */
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Temp files end with this; loaders may remove leftovers from a crash. */
export const ATOMIC_TMP_SUFFIX = '.tmp';

export async function writeFileAtomically(path: string, data: string | Buffer): Promise<void> {
  const tmp = join(dirname(path), `${basename(path)}${ATOMIC_TMP_SUFFIX}`);
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, path);
  await fsyncDir(dirname(path));
}

/** Makes a directory's entries (creations, renames, unlinks) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
