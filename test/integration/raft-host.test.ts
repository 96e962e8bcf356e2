// Three RaftHosts in this process over real gRPC on loopback ports, each with its own temp dir and a
// toy KV state machine: election, replication, leader failover with committed entries surviving,
// restart from files, and catch-up of a far-behind node by snapshot install.
import * as grpc from '@grpc/grpc-js';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogEntry, RaftConfig, VoterAddress } from '../../src/replication/raft/index.js';
import { GrpcRaftTransport, NotLeaderError, RaftHost, type RaftStateMachine } from '../../src/replication/raft-host/index.js';
import { KvStateMachine, encodeCommand } from '../../src/replication/sim/kv-state-machine.js';
import { createLogger, silentLogger } from '../../src/util/logger.js';

/** The simulator's KV map behind the host's state-machine interface (checks exactly-once, in order). */
class Kv implements RaftStateMachine {
  readonly kv = new KvStateMachine();
  restores = 0;
  apply(entries: readonly LogEntry[]): void {
    this.kv.apply(entries);
  }
  takeSnapshot(): Uint8Array {
    return this.kv.snapshot(0).data;
  }
  restoreSnapshot(data: Uint8Array, at: { index: number; term: number }): void {
    this.kv.restore({ index: at.index, term: at.term, data });
    this.restores++;
  }
}

interface Member {
  host: RaftHost;
  sm: Kv;
  server: grpc.Server;
  transport: GrpcRaftTransport;
}

/** RAFT_TEST_LOG=info (or debug) shows the hosts' structured logs (elections, peer connectivity). */
const logger = () => (process.env.RAFT_TEST_LOG ? createLogger(process.env.RAFT_TEST_LOG) : silentLogger());

const TIMING = { electionTimeoutMinMs: 150, electionTimeoutMaxMs: 300, heartbeatIntervalMs: 30, requestRetryMs: 60 };

class Cluster {
  readonly members = new Map<number, Member>();
  private constructor(readonly root: string, readonly voters: VoterAddress[], readonly limits: { snapshotIntervalEntries: number; snapshotChunkBytes: number }) {}

  static async start(limits = { snapshotIntervalEntries: 1000, snapshotChunkBytes: 64 * 1024 }): Promise<Cluster> {
    const root = await fsp.mkdtemp(join(tmpdir(), 'ferry-raft-host-'));
    // Reserve three ports by binding, then reuse them for the real servers.
    const servers = await Promise.all([1, 2, 3].map(() => bind(0)));
    const voters = servers.map(({ port }, i) => ({ id: i + 1, host: '127.0.0.1', port }));
    const cluster = new Cluster(root, voters, limits);
    await Promise.all(servers.map(({ server }, i) => cluster.startMember(i + 1, server)));
    return cluster;
  }

  async startMember(id: number, bound?: grpc.Server): Promise<Member> {
    const server = bound ?? (await bind(this.voters[id - 1]!.port)).server;
    const log = logger().child({ node: id });
    const transport = new GrpcRaftTransport({ selfId: id, voters: this.voters, logger: log });
    transport.addToServer(server);
    const sm = new Kv();
    const config: RaftConfig = { id, voters: this.voters.map((v) => v.id), ...TIMING, appendEntriesMax: 64, ...this.limits };
    const host = await RaftHost.open({
      config, dir: join(this.root, `node-${id}`), stateMachine: sm, transport, logger: log,
      addressOf: (peer) => transport.addressOf(peer), limits: { segmentBytes: 4096, snapshotsRetained: 2 },
    });
    const member = { host, sm, server, transport };
    this.members.set(id, member);
    return member;
  }

  async stopMember(id: number): Promise<void> {
    const m = this.members.get(id)!;
    this.members.delete(id);
    await m.host.close();
    m.transport.close();
    m.server.forceShutdown();
  }

  /** The one leader every live member agrees on, once there is one. */
  async leader(excluding: number[] = []): Promise<Member> {
    let found: Member | undefined;
    await waitFor(() => {
      const live = [...this.members.values()];
      const leaders = live.filter((m) => m.host.leader().role === 'leader' && !excluding.includes(m.host.id));
      if (leaders.length !== 1) return false;
      const l = leaders[0]!;
      const agreed = live.every((m) => m.host.leader().leaderId === l.host.id && m.host.leader().term === l.host.leader().term);
      if (agreed) found = l;
      return agreed;
    }, 'a leader all members follow');
    return found!;
  }

  async close(): Promise<void> {
    for (const id of [...this.members.keys()]) await this.stopMember(id);
    await fsp.rm(this.root, { recursive: true, force: true });
  }
}

function bind(port: number): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  return new Promise((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve({ server, port: bound })));
  });
}

async function waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function proposeAll(leader: Member, from: number, to: number): Promise<void> {
  const pending: Promise<number>[] = [];
  for (let i = from; i <= to; i++) pending.push(leader.host.propose([encodeCommand(`k${i}=v${i}`)]));
  const indexes = await Promise.all(pending);
  expect([...indexes].sort((a, b) => a - b)).toEqual(indexes); // applied in proposal order
}

function hasKeys(m: Member, from: number, to: number): boolean {
  for (let i = from; i <= to; i++) if (m.sm.kv.map.get(`k${i}`) !== `v${i}`) return false;
  return true;
}

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('RaftHost over gRPC (3 voters on loopback)', () => {
  it('elects a leader, commits proposals on all three, and redirects a follower\'s proposal', async () => {
    cluster = await Cluster.start();
    const leader = await cluster.leader();
    await proposeAll(leader, 1, 50);
    await leader.host.propose([encodeCommand('batch-a=1'), encodeCommand('batch-b=2')]);
    for (const m of cluster.members.values()) await waitFor(() => hasKeys(m, 1, 50) && m.sm.kv.map.get('batch-b') === '2', `node ${m.host.id} applied`);
    const digests = new Set([...cluster.members.values()].map((m) => `${m.sm.kv.appliedIndex}:${m.sm.kv.digest}`));
    expect(digests.size).toBe(1);
    // Group commit: far fewer fsyncs than entries on the leader.
    expect(leader.host.status().logSyncs).toBeLessThan(52);

    const follower = [...cluster.members.values()].find((m) => m !== leader)!;
    const err = await follower.host.propose([encodeCommand('x=1')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotLeaderError);
    expect(err).toMatchObject({ code: 'NOT_CONTROLLER', leaderId: leader.host.id, retriable: true });
    expect((err as NotLeaderError).leader?.leaderAddress).toBe(leader.transport.addressOf(leader.host.id));
  });

  it('elects a new leader when the leader stops; committed entries survive; the old leader rejoins from its files', async () => {
    cluster = await Cluster.start();
    const first = await cluster.leader();
    const firstId = first.host.id;
    const firstTerm = first.host.leader().term;
    await proposeAll(first, 1, 30);
    await cluster.stopMember(firstId);

    const second = await cluster.leader();
    expect(second.host.id).not.toBe(firstId);
    expect(second.host.leader().term).toBeGreaterThan(firstTerm);
    expect(hasKeys(second, 1, 30)).toBe(true); // every committed entry is on the new leader
    await proposeAll(second, 31, 60);

    const back = await cluster.startMember(firstId);
    await waitFor(() => hasKeys(back, 1, 60), 'the restarted node to catch up');
    expect(back.host.leader().leaderId).toBe(second.host.id);
  });

  it('catches up a node that fell behind the leader\'s snapshot by installing it (in chunks)', async () => {
    cluster = await Cluster.start({ snapshotIntervalEntries: 20, snapshotChunkBytes: 256 });
    const leader = await cluster.leader();
    const laggard = [...cluster.members.keys()].find((id) => id !== leader.host.id)!;
    await proposeAll(leader, 1, 10);
    await cluster.stopMember(laggard);
    await proposeAll(leader, 11, 120);
    await waitFor(() => leader.host.status().snapshotIndex > 20, 'the leader to snapshot and compact');

    const back = await cluster.startMember(laggard);
    await waitFor(() => hasKeys(back, 1, 120), 'the laggard to catch up');
    expect(back.sm.restores).toBeGreaterThan(0); // it got there through a snapshot, not the log alone
    expect(back.host.status().snapshotIndex).toBeGreaterThan(0);
    await proposeAll(leader, 121, 130);
    await waitFor(() => hasKeys(back, 121, 130), 'the laggard to follow new entries');

    // And it restarts from its own snapshot + log with the same state.
    await cluster.stopMember(laggard);
    const again = await cluster.startMember(laggard);
    await waitFor(() => hasKeys(again, 1, 130), 'the laggard to recover from its files');
  });
});
