// The data-directory lock: a live owner keeps it; a dead one, a reused pid, a reboot or a garbled
// file do not (issue 5 finding: the plain-pid lock trusted any live process with that number).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireDataDirLock, processStartTicks } from '../../../src/server/data-dir-lock.js';

const logger = pino({ level: 'silent' });
let dir: string;
let lock: string;
let other: ChildProcess | null = null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-lock-'));
  lock = join(dir, '.lock');
});

afterEach(() => {
  other?.kill('SIGKILL');
  other = null;
  rmSync(dir, { recursive: true, force: true });
});

/** A live process that is not this one. */
function liveOther(): number {
  other = spawn('sleep', ['30'], { stdio: 'ignore' });
  return other.pid!;
}

const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

describe('data directory lock', () => {
  it('writes its owner (pid, start time, boot id) into a fresh lock', async () => {
    await acquireDataDirLock(lock, logger);
    const owner = JSON.parse(readFileSync(lock, 'utf8'));
    expect(owner).toEqual({ pid: process.pid, startTicks: processStartTicks(process.pid), bootId });
    expect(owner.startTicks).toBeGreaterThan(0);
  });

  it('refuses while the process that wrote it is running', async () => {
    const pid = liveOther();
    writeFileSync(lock, JSON.stringify({ pid, startTicks: processStartTicks(pid), bootId }));
    await expect(acquireDataDirLock(lock, logger)).rejects.toThrow(`in use by another broker (pid ${pid})`);
    writeFileSync(lock, String(pid)); // an older Ferry's plain-pid lock: liveness only
    await expect(acquireDataDirLock(lock, logger)).rejects.toThrow(/in use by another broker/);
  });

  it('takes over when the pid runs but is another process, after a reboot, or when the owner is gone', async () => {
    const pid = liveOther();
    const stale = [
      { pid, startTicks: processStartTicks(pid)! + 1, bootId }, // pid reused
      { pid, startTicks: processStartTicks(pid), bootId: 'another-boot' }, // machine rebooted
    ];
    for (const owner of stale) {
      writeFileSync(lock, JSON.stringify(owner));
      await acquireDataDirLock(lock, logger);
      expect(JSON.parse(readFileSync(lock, 'utf8')).pid).toBe(process.pid);
    }
    other!.kill('SIGKILL');
    await new Promise((r) => other!.once('exit', r));
    for (const text of [String(pid), JSON.stringify({ pid, startTicks: 1, bootId }), 'garbage', '']) {
      writeFileSync(lock, text);
      await acquireDataDirLock(lock, logger);
      expect(JSON.parse(readFileSync(lock, 'utf8')).pid).toBe(process.pid);
    }
  });
});
