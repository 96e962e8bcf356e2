// RaftHost over an in-process network: durability barriers before sends (a vote leaves only once
// the vote is on disk), single-voter proposals, snapshots by applied bytes and recovery from them,
// NotLeaderError on a follower and on lost leadership, close and fatal errors failing proposals.
import { readFileSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogEntry, RaftConfig, RaftMessage } from '../../../src/replication/raft/index.js';
import { NotLeaderError, RaftHost, type RaftStateMachine, type RaftTransport } from '../../../src/replication/raft-host/index.js';
import { listSnapshots } from '../../../src/replication/raft-host/snapshot-files.js';
import { KvStateMachine, encodeCommand } from '../../../src/replication/sim/kv-state-machine.js';
import { silentLogger } from '../../../src/util/logger.js';

class Kv implements RaftStateMachine {
  readonly kv = new KvStateMachine();
  failOnApply = false;
  apply(entries: readonly LogEntry[]): void {
    if (this.failOnApply) throw new Error('state machine bug');
    this.kv.apply(entries);
  }
  takeSnapshot(): Uint8Array {
    return this.kv.snapshot(0).data;
  }
  restoreSnapshot(data: Uint8Array, at: { index: number; term: number }): void {
    this.kv.restore({ index: at.index, term: at.term, data });
  }
}

/** Delivers on the next macrotask; `cut` nodes neither send nor receive; `onSend` observes. */
class LocalNetwork {
  readonly receivers = new Map<number, (m: RaftMessage) => void>();
  readonly cut = new Set<number>();
  onSend: (m: RaftMessage) => void = () => undefined;
  transport(id: number): RaftTransport {
    return {
      send: (m) => {
        this.onSend(m);
        if (this.cut.has(m.from) || this.cut.has(m.to)) return;
        setImmediate(() => this.receivers.get(m.to)?.(m));
      },
      setReceiver: (r) => {
        if (r) this.receivers.set(id, r);
        else this.receivers.delete(id);
      },
    };
  }
}

const TIMING = { electionTimeoutMinMs: 100, electionTimeoutMaxMs: 200, heartbeatIntervalMs: 20, requestRetryMs: 40 };
let root: string;
let hosts: RaftHost[] = [];

async function openHost(id: number, voters: number[], net: LocalNetwork, sm = new Kv(), extra: Partial<RaftConfig> = {}, limits = {}, onFatalError?: (e: Error) => void) {
  const config: RaftConfig = { id, voters, ...TIMING, appendEntriesMax: 64, snapshotIntervalEntries: 10_000, snapshotChunkBytes: 1024, ...extra };
  const host = await RaftHost.open({ config, dir: join(root, `n${id}`), stateMachine: sm, transport: net.transport(id), logger: silentLogger(), limits, ...(onFatalError ? { onFatalError } : {}) });
  hosts.push(host);
  return { host, sm };
}

async function waitFor(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

beforeEach(async () => {
  root = await fsp.mkdtemp(join(tmpdir(), 'ferry-raft-host-unit-'));
});
afterEach(async () => {
  for (const h of hosts) await h.close();
  hosts = [];
  await fsp.rm(root, { recursive: true, force: true });
});

describe('RaftHost', () => {
  it('sends a granted vote only after the vote is on disk', async () => {
    const net = new LocalNetwork();
    const checked: string[] = [];
    net.onSend = (m) => {
      if (m.type !== 'vote_response' || m.preVote || !m.granted) return;
      const onDisk = JSON.parse(readFileSync(join(root, `n${m.from}`, 'quorum-state'), 'utf8')) as { term: number; votedFor: number };
      expect(onDisk).toMatchObject({ term: m.term, votedFor: m.to });
      checked.push(`${m.from}->${m.to}@${m.term}`);
    };
    const members = await Promise.all([1, 2, 3].map((id) => openHost(id, [1, 2, 3], net)));
    await waitFor(() => members.some((m) => m.host.leader().role === 'leader'), 'a leader');
    expect(checked.length).toBeGreaterThan(0);
  });

  it('a single voter commits its own proposals (group fsync) and recovers them after a restart', async () => {
    const net = new LocalNetwork();
    const { host, sm } = await openHost(1, [1], net);
    await waitFor(() => host.leader().role === 'leader', 'self-election');
    const indexes = await Promise.all(Array.from({ length: 40 }, (_, i) => host.propose([encodeCommand(`k${i}=v${i}`)])));
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
    expect(sm.kv.map.get('k39')).toBe('v39');
    expect(host.status().logSyncs).toBeLessThan(40);
    await host.close();
    hosts = [];
    const again = await openHost(1, [1], net);
    await waitFor(() => again.sm.kv.appliedIndex >= indexes.at(-1)!, 'replay after restart');
    for (let i = 0; i < 40; i++) expect(again.sm.kv.map.get(`k${i}`)).toBe(`v${i}`);
  });

  it('snapshots once the applied bytes pass the limit, compacts, and restarts from the snapshot', async () => {
    const net = new LocalNetwork();
    const { host } = await openHost(1, [1], net, new Kv(), {}, { maxBytesBeforeSnapshot: 2000, segmentBytes: 512 });
    await waitFor(() => host.leader().role === 'leader', 'self-election');
    for (let i = 0; i < 60; i++) await host.propose([encodeCommand(`key${i}=${'x'.repeat(100)}`)]);
    expect(host.status().snapshotIndex).toBeGreaterThan(0);
    expect((await listSnapshots(join(root, 'n1'))).length).toBeLessThanOrEqual(2);
    const segments = (await fsp.readdir(join(root, 'n1'))).filter((n) => n.endsWith('.raftlog'));
    expect(Number(segments.sort()[0]!.slice(0, 20))).toBeGreaterThan(1); // prefix discarded
    await host.close();
    hosts = [];
    const again = await openHost(1, [1], net);
    await waitFor(() => again.sm.kv.map.size === 60, 'restore + replay');
  });

  it('rejects proposals on a follower, and pending ones when the leader loses its quorum', async () => {
    const net = new LocalNetwork();
    const members = await Promise.all([1, 2, 3].map((id) => openHost(id, [1, 2, 3], net)));
    await waitFor(() => members.some((m) => m.host.leader().role === 'leader') && members.every((m) => m.host.leader().leaderId !== null), 'a leader');
    const leader = members.find((m) => m.host.leader().role === 'leader')!;
    const follower = members.find((m) => m !== leader)!;
    await expect(follower.host.propose([encodeCommand('a=1')])).rejects.toMatchObject({ name: 'NotLeaderError', leaderId: leader.host.id });

    for (const m of members) if (m !== leader) net.cut.add(m.host.id);
    const pending = leader.host.propose([encodeCommand('lost=1')]);
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotLeaderError); // check quorum stepped it down; outcome unknown
  });

  it('fails pending proposals on close, and everything after a fatal state-machine error', async () => {
    const net = new LocalNetwork();
    const members = await Promise.all([1, 2, 3].map((id) => openHost(id, [1, 2, 3], net)));
    await waitFor(() => members.some((m) => m.host.leader().role === 'leader'), 'a leader');
    const leader = members.find((m) => m.host.leader().role === 'leader')!;
    for (const m of members) if (m !== leader) net.cut.add(m.host.id);
    const pending = leader.host.propose([encodeCommand('a=1')]).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20)); // appended, waiting for a quorum that is cut off
    await leader.host.close();
    expect(await pending).toMatchObject({ code: 'SHUTTING_DOWN' });

    const fatal: Error[] = [];
    const single = await openHost(9, [9], net, new Kv(), {}, {}, (e) => fatal.push(e));
    await waitFor(() => single.host.leader().role === 'leader', 'self-election');
    single.sm.failOnApply = true;
    await expect(single.host.propose([encodeCommand('b=1')])).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
    expect(fatal).toHaveLength(1);
    await expect(single.host.propose([encodeCommand('c=1')])).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
  });
});
