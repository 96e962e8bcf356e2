// Snapshot files of the Raft host: `snapshot-<index>-<term>.bin`, each written atomically
// (writeFileAtomically: temp file, fsync, rename, fsync the directory), so a snapshot file either
// exists whole or not at all. Layout:
//
//   4 bytes  magic "FRS1"
//   u32 BE   crc32c of everything after this field
//   u64 BE   index          last entry the snapshot covers
//   u64 BE   term           that entry's term
//   ...      data           the state machine's bytes
//
// The header repeats the name's (index, term) so a renamed or truncated file is caught. Loading
// tries the newest first and skips (with a warning) any that fails its checks: bit rot in the newest
// snapshot falls back to an older one, which works because the host keeps the log back to the
// oldest retained snapshot (file-raft-log.ts).

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { crc32c } from '../../protocol/crc32c.js';
import { ATOMIC_TMP_SUFFIX, writeFileAtomically } from '../../util/atomic-file.js';
import type { LogIndex, Snapshot, Term } from '../raft/index.js';

const MAGIC = Buffer.from('FRS1', 'latin1');
const HEADER_BYTES = 24;
const NAME = /^snapshot-(\d+)-(\d+)\.bin$/;

export interface SnapshotFileId {
  readonly index: LogIndex;
  readonly term: Term;
  readonly name: string;
}

export function snapshotFileName(index: LogIndex, term: Term): string {
  return `snapshot-${index}-${term}.bin`;
}

/** Snapshot files in `dir`, newest (highest index) first. Leftover temp files are removed. */
export async function listSnapshots(dir: string): Promise<SnapshotFileId[]> {
  const found: SnapshotFileId[] = [];
  for (const name of await fsp.readdir(dir)) {
    if (name.startsWith('snapshot-') && name.endsWith(ATOMIC_TMP_SUFFIX)) {
      await fsp.rm(join(dir, name), { force: true }); // a crash mid-write; the rename never happened
      continue;
    }
    const m = NAME.exec(name);
    if (m) found.push({ index: Number(m[1]), term: Number(m[2]), name });
  }
  return found.sort((a, b) => b.index - a.index || b.term - a.term);
}

export async function writeSnapshotFile(dir: string, snapshot: Snapshot): Promise<void> {
  const out = Buffer.allocUnsafe(HEADER_BYTES + snapshot.data.length);
  MAGIC.copy(out, 0);
  out.writeBigUInt64BE(BigInt(snapshot.index), 8);
  out.writeBigUInt64BE(BigInt(snapshot.term), 16);
  out.set(snapshot.data, HEADER_BYTES);
  out.writeUInt32BE(crc32c(out.subarray(8)), 4);
  await writeFileAtomically(join(dir, snapshotFileName(snapshot.index, snapshot.term)), out);
}

/** The snapshot in `file`, or null (with the reason) when it is damaged. */
export async function readSnapshotFile(dir: string, file: SnapshotFileId): Promise<{ snapshot: Snapshot | null; problem: string | null }> {
  const bytes = await fsp.readFile(join(dir, file.name));
  if (bytes.length < HEADER_BYTES || !bytes.subarray(0, 4).equals(MAGIC)) return { snapshot: null, problem: 'bad header' };
  if (crc32c(bytes.subarray(8)) !== bytes.readUInt32BE(4)) return { snapshot: null, problem: 'crc mismatch' };
  const index = Number(bytes.readBigUInt64BE(8));
  const term = Number(bytes.readBigUInt64BE(16));
  if (index !== file.index || term !== file.term) return { snapshot: null, problem: `header says ${index}/${term}` };
  return { snapshot: { index, term, data: Uint8Array.prototype.slice.call(bytes, HEADER_BYTES) }, problem: null };
}

/** The newest intact snapshot; damaged newer ones are reported and left in place for inspection. */
export async function loadLatestSnapshot(dir: string, logger: Logger): Promise<Snapshot | null> {
  for (const file of await listSnapshots(dir)) {
    const { snapshot, problem } = await readSnapshotFile(dir, file);
    if (snapshot) return snapshot;
    logger.warn({ dir, file: file.name, problem }, 'skipping a damaged raft snapshot');
  }
  return null;
}

/** Keep the `retain` newest snapshot files; returns the oldest kept (what the log must reach back to). */
export async function pruneSnapshots(dir: string, retain: number): Promise<SnapshotFileId | null> {
  const files = await listSnapshots(dir);
  for (const file of files.slice(retain)) await fsp.rm(join(dir, file.name), { force: true });
  return files.slice(0, retain).at(-1) ?? null;
}

/** Delete every snapshot except (index, term): older ones cannot be replayed across a discarded log. */
export async function deleteSnapshotsExcept(dir: string, index: LogIndex, term: Term): Promise<void> {
  for (const file of await listSnapshots(dir)) {
    if (file.index !== index || file.term !== term) await fsp.rm(join(dir, file.name), { force: true });
  }
}
