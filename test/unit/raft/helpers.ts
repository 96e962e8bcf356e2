// Drive a single RaftNode by hand: deterministic timeouts (Random always 0 → electionTimeoutMin),
// message builders, and shortcuts into each role.
import { MemoryRaftLog, RaftNode } from '../../../src/replication/raft/index.js';
import type { AppendRequest, HardState, LogEntry, Output, RaftMessage, Snapshot } from '../../../src/replication/raft/index.js';

export const TIMING = { electionTimeoutMinMs: 100, electionTimeoutMaxMs: 200, heartbeatIntervalMs: 20, requestRetryMs: 40 };

export function entry(index: number, term: number, text = `e${index}`): LogEntry {
  return { index, term, kind: 'command', data: new TextEncoder().encode(text) };
}

/** Entries 1..terms.length with the given terms. */
export function entries(...terms: number[]): LogEntry[] {
  return terms.map((t, i) => entry(i + 1, t));
}

export function makeNode(opts: {
  id?: number; voters?: number[]; log?: LogEntry[]; hardState?: HardState; snapshot?: Snapshot | null;
  snapshotIntervalEntries?: number; snapshotChunkBytes?: number; appendEntriesMax?: number;
} = {}): RaftNode {
  const snapshot = opts.snapshot ?? null;
  return new RaftNode({
    config: {
      id: opts.id ?? 1, voters: opts.voters ?? [1, 2, 3], ...TIMING,
      appendEntriesMax: opts.appendEntriesMax ?? 100,
      snapshotIntervalEntries: opts.snapshotIntervalEntries ?? 1000,
      snapshotChunkBytes: opts.snapshotChunkBytes ?? 1024,
    },
    random: { nextInt: () => 0 },
    log: new MemoryRaftLog(snapshot?.index ?? 0, snapshot?.term ?? 0, opts.log ?? []),
    hardState: opts.hardState ?? { term: 0, votedFor: null },
    snapshot,
  }, 0);
}

export function appendReq(from: number, to: number, term: number, prev: [number, number], es: LogEntry[], leaderCommit = 0): AppendRequest {
  return { type: 'append_request', from, to, term, prevLogIndex: prev[0], prevLogTerm: prev[1], entries: es, leaderCommit };
}

export function ofType<T extends RaftMessage['type']>(out: Output, type: T): Extract<RaftMessage, { type: T }>[] {
  return out.messages.filter((m): m is Extract<RaftMessage, { type: T }> => m.type === type);
}

/** Node 1 of [1,2,3] times out, wins pre-vote and vote from node 2, becomes leader at `now`. */
export function electLeader(node: RaftNode, now = 100): Output {
  node.tick(now); // → prospective
  const term = node.term;
  node.receive({ type: 'vote_response', from: 2, to: node.id, term, preVote: true, requestTerm: term + 1, granted: true }, now);
  return node.receive({ type: 'vote_response', from: 2, to: node.id, term: term + 1, preVote: false, requestTerm: term + 1, granted: true }, now);
}

/** Confirm every appended entry durable (what the host does after fsync). */
export function fsyncAll(node: RaftNode, now: number): Output {
  return node.logDurable(node.log.lastIndex(), node.log.lastTerm(), now);
}
