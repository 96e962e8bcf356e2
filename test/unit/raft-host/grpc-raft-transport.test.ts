// GrpcRaftTransport: every core message survives the protobuf mapping unchanged; a peer that is down
// makes the bounded queue drop its oldest messages, and the newest arrive in order once it is back.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { RaftMessage } from '../../../src/replication/raft/index.js';
import { GrpcRaftTransport } from '../../../src/replication/raft-host/index.js';
import { PEER_QUEUE_MAX_MESSAGES } from '../../../src/replication/raft-host/peer-sender.js';
import { silentLogger } from '../../../src/util/logger.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function bind(port: number): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  cleanups.push(() => server.forceShutdown());
  return new Promise((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve({ server, port: bound })));
  });
}

function pair(port: number): { sender: GrpcRaftTransport; receiver: GrpcRaftTransport } {
  const voters = [{ id: 1, host: '127.0.0.1', port: 1 }, { id: 2, host: '127.0.0.1', port }];
  const sender = new GrpcRaftTransport({ selfId: 1, voters, logger: silentLogger() });
  const receiver = new GrpcRaftTransport({ selfId: 2, voters, logger: silentLogger() });
  cleanups.push(() => sender.close(), () => receiver.close());
  return { sender, receiver };
}

async function waitFor(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Byte arrays compared by content (the receiver gets Buffers). */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

const head = { from: 1, to: 2, term: 7 };
const bytes = (s: string) => new TextEncoder().encode(s);
const ALL: RaftMessage[] = [
  { ...head, type: 'vote_request', preVote: true, lastLogIndex: 12, lastLogTerm: 6 },
  { ...head, type: 'vote_response', preVote: false, requestTerm: 7, granted: true },
  {
    ...head, type: 'append_request', prevLogIndex: 10, prevLogTerm: 6, leaderCommit: 9,
    entries: [{ index: 11, term: 7, kind: 'noop', data: new Uint8Array(0) }, { index: 12, term: 7, kind: 'command', data: bytes('k=v') }],
  },
  { ...head, type: 'append_request', prevLogIndex: 12, prevLogTerm: 7, leaderCommit: 12, entries: [] },
  { ...head, type: 'append_response', success: true, matchIndex: 11, appendedIndex: 12, conflictIndex: 0, conflictTerm: null },
  { ...head, type: 'append_response', success: false, matchIndex: 0, appendedIndex: 0, conflictIndex: 4, conflictTerm: 3 },
  { ...head, type: 'snapshot_request', lastIncludedIndex: 100, lastIncludedTerm: 5, offset: 4096, data: bytes('chunk'), done: true },
  { ...head, type: 'snapshot_response', lastIncludedIndex: 100, nextOffset: 4101, done: true },
];

describe('GrpcRaftTransport', () => {
  it('carries every message type unchanged, in order', async () => {
    const { server, port } = await bind(0);
    const { sender, receiver } = pair(port);
    receiver.addToServer(server);
    const got: RaftMessage[] = [];
    receiver.setReceiver((m) => got.push(m));
    for (const m of ALL) sender.send(m);
    sender.send({ ...ALL[0]!, to: 3 }); // unknown peer: dropped
    await waitFor(() => got.length === ALL.length, 'all messages');
    expect(got.map(plain)).toEqual(ALL.map(plain));
    // Closing the receiving transport finishes its incoming streams, so a graceful shutdown is quick.
    receiver.close();
    const started = Date.now();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('drops the oldest messages while the peer is down and delivers the newest, in order, once it is back', async () => {
    const probe = await bind(0);
    probe.server.forceShutdown(); // a port with nobody listening (for now)
    const { sender, receiver } = pair(probe.port);
    const total = PEER_QUEUE_MAX_MESSAGES + 500;
    for (let i = 1; i <= total; i++) sender.send({ ...head, type: 'vote_request', preVote: true, lastLogIndex: i, lastLogTerm: 1 });
    await new Promise((r) => setTimeout(r, 100)); // a failed connect attempt or two
    const [stats] = sender.peerStats();
    expect(stats).toMatchObject({ peer: 2, connected: false, queued: PEER_QUEUE_MAX_MESSAGES, dropped: total - PEER_QUEUE_MAX_MESSAGES });

    const { server } = await bind(probe.port);
    receiver.addToServer(server);
    const got: number[] = [];
    receiver.setReceiver((m) => got.push(m.type === 'vote_request' ? m.lastLogIndex : -1));
    await waitFor(() => got.at(-1) === total, 'the newest message after reconnecting');
    expect(got[0]).toBe(total - PEER_QUEUE_MAX_MESSAGES + 1);
    expect(got).toEqual([...got].sort((a, b) => a - b));
    expect(sender.peerStats()[0]).toMatchObject({ connected: true, queued: 0 });
  });
});
