// FileRaftLog: append / group fsync / truncation / segment rolls, recovery after a torn tail or a
// flipped byte, snapshot prefix discard, snapshot installs (with and without the log), reopen.
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogEntry } from '../../../src/replication/raft/index.js';
import { FileRaftLog } from '../../../src/replication/raft-host/file-raft-log.js';
import { readHardState, writeHardState } from '../../../src/replication/raft-host/hard-state-file.js';
import { SEGMENT_SUFFIX } from '../../../src/replication/raft-host/log-segments.js';
import { listSnapshots, snapshotFileName } from '../../../src/replication/raft-host/snapshot-files.js';
import { silentLogger } from '../../../src/util/logger.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

function entry(index: number, term: number, text = `e${index}`): LogEntry {
  return { index, term, kind: 'command', data: enc.encode(text) };
}
function range(from: number, to: number, term: number): LogEntry[] {
  return Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));
}

let dir: string;
const open = (segmentBytes = 1 << 20, snapshotsRetained = 1) =>
  FileRaftLog.open({ dir, segmentBytes, snapshotsRetained, logger: silentLogger() });

/** Mirror of the host: mutate the view, then write the same change to disk. */
async function append(log: FileRaftLog, entries: LogEntry[], truncateFrom: number | null = null): Promise<void> {
  if (truncateFrom !== null) log.truncateFrom(truncateFrom);
  log.append(entries);
  await log.write(truncateFrom, entries);
}

/** One write per entry, so small segments roll (a single write never spans segments). */
async function appendEach(log: FileRaftLog, entries: LogEntry[]): Promise<void> {
  for (const e of entries) await append(log, [e]);
}

async function segmentFiles(): Promise<string[]> {
  return (await fsp.readdir(dir)).filter((n) => n.endsWith(SEGMENT_SUFFIX)).sort();
}

beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'ferry-raftlog-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('FileRaftLog', () => {
  it('appends, syncs once for many writes, and reopens with the same entries', async () => {
    const { log, snapshot } = await open();
    expect(snapshot).toBeNull();
    expect(log.lastIndex()).toBe(0);
    for (let i = 1; i <= 10; i++) await append(log, [entry(i, 1 + Math.floor(i / 5))]);
    expect(await log.sync()).toEqual({ index: 10, term: 3 });
    expect(log.syncCount).toBe(1); // ten writes, one fsync (group commit)
    expect(await log.sync()).toBeNull(); // nothing new
    await log.close();
    const again = (await open()).log;
    expect(again.lastIndex()).toBe(10);
    expect(again.termAt(4)).toBe(1);
    expect(again.termAt(5)).toBe(2);
    expect(dec.decode(again.entryAt(7)!.data)).toBe('e7');
    await again.close();
  });

  it('truncates from an index and rewrites, across segment rolls', async () => {
    const { log } = await open(200); // ~6 small entries per segment
    await appendEach(log, range(1, 30, 1));
    await log.sync();
    const before = await segmentFiles();
    expect(before.length).toBeGreaterThan(3);
    await append(log, [entry(8, 2, 'new8'), entry(9, 2, 'new9')], 8);
    expect(await log.sync()).toEqual({ index: 9, term: 2 });
    await log.close();
    expect((await segmentFiles()).length).toBeLessThan(before.length);
    const again = (await open(200)).log;
    expect(again.lastIndex()).toBe(9);
    expect(again.termAt(7)).toBe(1);
    expect(dec.decode(again.entryAt(8)!.data)).toBe('new8');
    await append(again, [entry(10, 2)]);
    await again.close();
  });

  it('cuts a torn tail on reopen and appends after it', async () => {
    const { log } = await open();
    await append(log, range(1, 5, 1));
    await log.sync();
    await log.close();
    const [file] = await segmentFiles();
    const path = join(dir, file!);
    const size = (await fsp.stat(path)).size;
    await fsp.truncate(path, size - 3); // a crash in the middle of writing entry 5
    const again = (await open()).log;
    expect(again.lastIndex()).toBe(4);
    await append(again, [entry(5, 2, 'after')]);
    expect(await again.sync()).toEqual({ index: 5, term: 2 });
    await again.close();
    const third = (await open()).log;
    expect(dec.decode(third.entryAt(5)!.data)).toBe('after');
    await third.close();
  });

  it('cuts everything from a CRC-bad (flipped byte) entry, including later segments', async () => {
    const { log } = await open(200);
    await appendEach(log, range(1, 20, 1));
    await log.sync();
    await log.close();
    const files = await segmentFiles();
    const second = join(dir, files[1]!);
    const firstIndexOfSecond = Number(files[1]!.slice(0, 20));
    const bytes = await fsp.readFile(second);
    bytes[bytes.length - 40]! ^= 0x01; // inside the last entry or the one before it
    await fsp.writeFile(second, bytes);
    const again = (await open(200)).log;
    expect(again.lastIndex()).toBeGreaterThanOrEqual(firstIndexOfSecond - 1);
    expect(again.lastIndex()).toBeLessThan(Number(files[2]!.slice(0, 20)) - 1);
    expect((await segmentFiles()).length).toBe(2); // later segments were deleted
    await again.close();
  });

  it('discards the log prefix after a snapshot and reopens from it', async () => {
    const { log } = await open(200);
    await appendEach(log, range(1, 40, 1));
    await log.sync();
    const snap = { index: 25, term: 1, data: enc.encode('state@25') };
    await log.saveSnapshot(snap);
    log.compactThrough(25, 1);
    await log.compact(25);
    const files = await segmentFiles();
    expect(Number(files[0]!.slice(0, 20))).toBeLessThanOrEqual(26);
    expect(Number(files[0]!.slice(0, 20))).toBeGreaterThan(1);
    await log.close();
    const { log: again, snapshot } = await open(200);
    expect(snapshot).toMatchObject({ index: 25, term: 1 });
    expect(dec.decode(snapshot!.data)).toBe('state@25');
    expect([again.snapshotIndex, again.lastIndex()]).toEqual([25, 40]);
    expect(again.entryAt(25)).toBeUndefined();
    expect(again.termAt(25)).toBe(1);
    await again.close();
  });

  it('keeps only the newest N snapshots and falls back to an older one when the newest is damaged', async () => {
    const { log } = await open(200, 2);
    await appendEach(log, range(1, 30, 1));
    await log.sync();
    for (const at of [10, 20, 25]) {
      await log.saveSnapshot({ index: at, term: 1, data: enc.encode(`state@${at}`) });
      log.compactThrough(at, 1);
      await log.compact(at);
    }
    expect((await listSnapshots(dir)).map((s) => s.index)).toEqual([25, 20]);
    await log.close();
    const newest = join(dir, snapshotFileName(25, 1));
    const bytes = await fsp.readFile(newest);
    bytes[bytes.length - 1]! ^= 0xff;
    await fsp.writeFile(newest, bytes);
    const { log: again, snapshot } = await open(200, 2);
    expect(snapshot!.index).toBe(20); // the log still reaches back to 21, so nothing is lost
    expect([again.snapshotIndex, again.lastIndex()]).toEqual([20, 30]);
    await again.close();
  });

  it('installs a leader snapshot: keeping a matching suffix, or discarding a divergent log', async () => {
    const { log } = await open(200);
    await appendEach(log, range(1, 12, 1));
    await log.sync();
    log.compactThrough(8, 1);
    await log.installSnapshot({ index: 8, term: 1, data: enc.encode('s8') }, false);
    await log.close();
    let reopened = await open(200);
    expect([reopened.snapshot!.index, reopened.log.snapshotIndex, reopened.log.lastIndex()]).toEqual([8, 8, 12]);
    // A snapshot from a leader whose log differs at 20: everything local goes.
    reopened.log.reset(20, 3);
    await reopened.log.installSnapshot({ index: 20, term: 3, data: enc.encode('s20') }, true);
    await append(reopened.log, [entry(21, 3)]);
    await reopened.log.sync();
    await reopened.log.close();
    reopened = await open(200);
    expect([reopened.snapshot!.index, reopened.log.lastIndex(), reopened.log.termAt(21)]).toEqual([20, 21, 3]);
    expect((await listSnapshots(dir)).map((s) => s.index)).toEqual([20]);
    await reopened.log.close();
  });

  it('drops a log that diverges from the snapshot (install interrupted before the log was deleted)', async () => {
    const { log } = await open();
    await append(log, range(1, 6, 2));
    await log.sync();
    await log.saveSnapshot({ index: 4, term: 3, data: enc.encode('other') }); // term 3 at 4, our log has 2
    await log.close();
    const { log: again, snapshot } = await open();
    expect(snapshot!.term).toBe(3);
    expect([again.snapshotIndex, again.lastIndex()]).toEqual([4, 4]);
    await append(again, [entry(5, 3)]);
    await again.close();
  });

  it('refuses to open a log with missing entries', async () => {
    const { log } = await open(200);
    await appendEach(log, range(1, 20, 1));
    await log.sync();
    await log.close();
    const files = await segmentFiles();
    await fsp.rm(join(dir, files[0]!)); // no snapshot covers the first segment
    await expect(open(200)).rejects.toThrow(/missing/);
  });

  it('stores the hard state atomically', async () => {
    expect(await readHardState(dir)).toEqual({ term: 0, votedFor: null });
    await writeHardState(dir, { term: 7, votedFor: 2 });
    await writeHardState(dir, { term: 8, votedFor: null });
    expect(await readHardState(dir)).toEqual({ term: 8, votedFor: null });
  });
});
