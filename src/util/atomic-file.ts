/**
 * Atomic small-file replace: write a temp file, fsync it, rename over the target, fsync the
 * directory. After a crash the target holds either the old or the new contents, never a mix.
 */
import { promises as fsp } from 'node:fs';
import { dirname, join, basename } from 'node:path';

export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, path);
  const dir = await fsp.open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
