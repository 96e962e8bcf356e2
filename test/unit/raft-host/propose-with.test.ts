// RaftHost.proposeWith: the builder sees the index its entry will get (the controller's broker
// epochs depend on it), an empty build proposes nothing, a throwing build proposes nothing, and a
// follower refuses without calling the builder.
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogEntry, RaftConfig, RaftMessage } from '../../../src/replication/raft/index.js';
import { RaftHost, type RaftStateMachine, type RaftTransport } from '../../../src/replication/raft-host/index.js';
import { silentLogger } from '../../../src/util/logger.js';

class Recorder implements RaftStateMachine {
  readonly applied: Array<{ index: number; data: string }> = [];
  apply(entries: readonly LogEntry[]): void {
    for (const e of entries) if (e.kind === 'command') this.applied.push({ index: e.index, data: new TextDecoder().decode(e.data) });
  }
  takeSnapshot(): Uint8Array {
    return new Uint8Array();
  }
  restoreSnapshot(): void {}
}

const receivers = new Map<number, (m: RaftMessage) => void>();
function transport(id: number): RaftTransport {
  return {
    send: (m) => setImmediate(() => receivers.get(m.to)?.(m)),
    setReceiver: (r) => (r ? receivers.set(id, r) : receivers.delete(id)),
  };
}

const enc = (s: string) => new TextEncoder().encode(s);
let root: string;
let hosts: RaftHost[] = [];

async function open(id: number, voters: number[], sm: RaftStateMachine): Promise<RaftHost> {
  const config: RaftConfig = { id, voters, electionTimeoutMinMs: 100, electionTimeoutMaxMs: 200, heartbeatIntervalMs: 20, requestRetryMs: 40, appendEntriesMax: 64, snapshotIntervalEntries: 10_000, snapshotChunkBytes: 1024 };
  const host = await RaftHost.open({ config, dir: join(root, `n${id}`), stateMachine: sm, transport: transport(id), logger: silentLogger() });
  hosts.push(host);
  return host;
}

async function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

beforeEach(async () => {
  root = await fsp.mkdtemp(join(tmpdir(), 'ferry-propose-with-'));
});
afterEach(async () => {
  for (const h of hosts) await h.close();
  hosts = [];
  receivers.clear();
  await fsp.rm(root, { recursive: true, force: true });
});

describe('RaftHost.proposeWith', () => {
  it('builds with the index the entry lands at and resolves after it is applied', async () => {
    const sm = new Recorder();
    const host = await open(1, [1], sm);
    await waitFor(() => host.leader().role === 'leader');
    const results = await Promise.all([0, 1, 2].map(() => host.proposeWith((next) => ({ result: next, records: [enc(`at-${next}`)] }))));
    for (const r of results) {
      expect(r.index).toBe(r.result);
      expect(sm.applied.find((a) => a.index === r.index)?.data).toBe(`at-${r.index}`);
    }
    expect(new Set(results.map((r) => r.index)).size).toBe(3);
  });

  it('proposes nothing for an empty build or a throwing one', async () => {
    const sm = new Recorder();
    const host = await open(1, [1], sm);
    await waitFor(() => host.leader().role === 'leader');
    const before = host.status().lastIndex;
    expect(await host.proposeWith(() => ({ result: 'read-only', records: [] }))).toEqual({ result: 'read-only', index: null });
    await expect(host.proposeWith(() => {
      throw new Error('handler refused');
    })).rejects.toThrow('handler refused');
    expect(host.status().lastIndex).toBe(before);
    const r = await host.proposeWith(() => ({ result: null, records: [enc('x')] }));
    expect(r.index).toBe(before + 1);
  });

  it('refuses on a follower without calling the builder', async () => {
    const members = await Promise.all([1, 2, 3].map((id) => open(id, [1, 2, 3], new Recorder())));
    await waitFor(() => members.some((h) => h.leader().role === 'leader') && members.every((h) => h.leader().leaderId !== null));
    const follower = members.find((h) => h.leader().role !== 'leader')!;
    let called = false;
    await expect(follower.proposeWith(() => {
      called = true;
      return { result: null, records: [enc('no')] };
    })).rejects.toMatchObject({ name: 'NotLeaderError' });
    expect(called).toBe(false);
  });
});
