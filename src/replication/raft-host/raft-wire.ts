// RaftMessage ⇄ ferry.v1.RaftEnvelope (proto/ferry/v1/raft.proto), field for field. The only
// translations: entry kind ⇄ `noop`, and AppendResponse.conflictTerm null ⇄ 0 (a real conflicting
// entry always has term >= 1, since term 0 exists only before the first entry).
// `fromEnvelope` returns null for an envelope without a body or with a body this version does not
// know (a newer peer); the receiver drops it, as Raft allows.

import type { RaftEnvelope } from '../../generated/ferry/v1/RaftEnvelope.js';
import type { RaftEnvelope__Output } from '../../generated/ferry/v1/RaftEnvelope.js';
import type { RaftLogEntry__Output } from '../../generated/ferry/v1/RaftLogEntry.js';
import type { LogEntry, RaftMessage } from '../raft/index.js';

export function toEnvelope(m: RaftMessage): RaftEnvelope {
  const head = { from: m.from, to: m.to, term: m.term };
  switch (m.type) {
    case 'vote_request':
      return { ...head, voteRequest: { preVote: m.preVote, lastLogIndex: m.lastLogIndex, lastLogTerm: m.lastLogTerm } };
    case 'vote_response':
      return { ...head, voteResponse: { preVote: m.preVote, requestTerm: m.requestTerm, granted: m.granted } };
    case 'append_request':
      return {
        ...head,
        appendRequest: {
          prevLogIndex: m.prevLogIndex, prevLogTerm: m.prevLogTerm, leaderCommit: m.leaderCommit,
          entries: m.entries.map((e) => ({ index: e.index, term: e.term, noop: e.kind === 'noop', data: e.data })),
        },
      };
    case 'append_response':
      return {
        ...head,
        appendResponse: {
          success: m.success, matchIndex: m.matchIndex, appendedIndex: m.appendedIndex,
          conflictIndex: m.conflictIndex, conflictTerm: m.conflictTerm ?? 0,
        },
      };
    case 'snapshot_request':
      return {
        ...head,
        snapshotRequest: { lastIncludedIndex: m.lastIncludedIndex, lastIncludedTerm: m.lastIncludedTerm, offset: m.offset, data: m.data, done: m.done },
      };
    case 'snapshot_response':
      return { ...head, snapshotResponse: { lastIncludedIndex: m.lastIncludedIndex, nextOffset: m.nextOffset, done: m.done } };
  }
}

function entryOf(e: RaftLogEntry__Output): LogEntry {
  return { index: e.index, term: e.term, kind: e.noop ? 'noop' : 'command', data: e.data };
}

export function fromEnvelope(env: RaftEnvelope__Output): RaftMessage | null {
  const head = { from: env.from, to: env.to, term: env.term };
  switch (env.body) {
    case 'voteRequest': {
      const b = env.voteRequest!;
      return { ...head, type: 'vote_request', preVote: b.preVote, lastLogIndex: b.lastLogIndex, lastLogTerm: b.lastLogTerm };
    }
    case 'voteResponse': {
      const b = env.voteResponse!;
      return { ...head, type: 'vote_response', preVote: b.preVote, requestTerm: b.requestTerm, granted: b.granted };
    }
    case 'appendRequest': {
      const b = env.appendRequest!;
      return {
        ...head, type: 'append_request', prevLogIndex: b.prevLogIndex, prevLogTerm: b.prevLogTerm,
        leaderCommit: b.leaderCommit, entries: b.entries.map(entryOf),
      };
    }
    case 'appendResponse': {
      const b = env.appendResponse!;
      return {
        ...head, type: 'append_response', success: b.success, matchIndex: b.matchIndex, appendedIndex: b.appendedIndex,
        conflictIndex: b.conflictIndex, conflictTerm: b.conflictTerm === 0 ? null : b.conflictTerm,
      };
    }
    case 'snapshotRequest': {
      const b = env.snapshotRequest!;
      return {
        ...head, type: 'snapshot_request', lastIncludedIndex: b.lastIncludedIndex, lastIncludedTerm: b.lastIncludedTerm,
        offset: b.offset, data: b.data, done: b.done,
      };
    }
    case 'snapshotResponse': {
      const b = env.snapshotResponse!;
      return { ...head, type: 'snapshot_response', lastIncludedIndex: b.lastIncludedIndex, nextOffset: b.nextOffset, done: b.done };
    }
    default:
      return null;
  }
}

/** Approximate encoded size, for the per-peer send queue's byte bound. */
export function approximateBytes(m: RaftMessage): number {
  if (m.type === 'append_request') {
    let n = 64;
    for (const e of m.entries) n += 32 + e.data.length;
    return n;
  }
  return m.type === 'snapshot_request' ? 64 + m.data.length : 64;
}
