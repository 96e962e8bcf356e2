// RaftNode: the sans-I/O controller-quorum member (compare Kafka's KafkaRaftClient, minus the I/O).
//
// The host drives it with events and the current time; each call returns an `Output`:
//   tick(now)                      timers: election timeout → pre-vote; leader heartbeats, retries,
//                                  check-quorum (see leader-state.ts)
//   receive(message, now)          one RPC, dispatched to vote.ts / append-entries.ts /
//                                  install-snapshot.ts (one file per protocol step)
//   propose(records, now)          leader only: append, replicate; returns the assigned indexes, or
//                                  NOT_LEADER with the leader hint so the caller can redirect
//   logDurable(index, term, now)   the host fsynced the log up to (index, term)
//   snapshotTaken(snapshot, now)   the state machine's durable snapshot after a takeSnapshot hint
// Carry out `effects` in order (see effects.ts for which are sync barriers), then send `messages`.
//
// Commit rule (Raft §5.4.2): the leader advances commitIndex to the highest index durable on a
// majority *whose entry has the leader's current term*; earlier-term entries commit only
// indirectly, which is why every new leader appends a no-op first. Durability is explicit: an entry
// counts (leader) or is acknowledged (follower) only up to `durableIndex`, which only logDurable and
// snapshots move forward — "persist, then ack".
//
// Not re-entrant: call one method at a time (the broker runs it on one serial queue).

import { strict as assert } from 'node:assert';
import { handleAppendRequest, handleAppendResponse, sendDurableAck } from './append-entries.js';
import { broadcastAppends, replicationTick } from './replicate.js';
import type { Effect, Output, ProposeResult } from './effects.js';
import { handleSnapshotRequest, handleSnapshotResponse } from './install-snapshot.js';
import type { LeaderState } from './leader-state.js';
import type { Outbound, RaftMessage } from './messages.js';
import { QuorumState } from './quorum-state.js';
import type { RaftLog } from './raft-log.js';
import type { HardState, LogEntry, LogIndex, NodeId, Random, RaftConfig, Role, Snapshot, Term } from './types.js';
import { handleVoteRequest, handleVoteResponse, startPreVote } from './vote.js';

export interface RaftNodeOptions {
  readonly config: RaftConfig;
  readonly random: Random;
  /** The recovered log: everything in it is durable. */
  readonly log: RaftLog;
  readonly hardState?: HardState;
  /** The recovered snapshot; its index must equal log.snapshotIndex. */
  readonly snapshot?: Snapshot | null;
}

const EMPTY = new Uint8Array(0);

export class RaftNode {
  readonly id: NodeId;
  readonly config: RaftConfig;
  readonly log: RaftLog;
  readonly quorum: QuorumState;
  /** Highest index known committed. Monotonic within one incarnation; re-derived after a restart. */
  commitIndex: LogIndex;
  /** Highest index handed to the state machine in an `apply` effect. */
  lastApplied: LogIndex;
  /** Every entry up to here is durable on this node (fsynced log or durable snapshot). */
  durableIndex: LogIndex;
  /** Latest snapshot (taken here or installed from the leader); sent to lagging followers. */
  snapshot: Snapshot | null;
  private snapshotRequested = false;
  private messages: Outbound[] = [];
  private effects: Effect[] = [];

  constructor(options: RaftNodeOptions, now: number) {
    const { config, log } = options;
    assert.ok(config.electionTimeoutMaxMs > config.electionTimeoutMinMs, 'election timeout range is empty');
    assert.ok(config.heartbeatIntervalMs < config.electionTimeoutMinMs, 'heartbeats must beat the election timeout');
    this.id = config.id;
    this.config = config;
    this.log = log;
    this.snapshot = options.snapshot ?? null;
    assert.equal(this.snapshot?.index ?? 0, log.snapshotIndex, 'snapshot and log disagree');
    this.quorum = new QuorumState(config.id, config.voters, config, options.random, (e) => this.emit(e),
      options.hardState ?? { term: 0, votedFor: null }, now);
    this.commitIndex = log.snapshotIndex;
    this.lastApplied = log.snapshotIndex;
    this.durableIndex = log.lastIndex();
  }

  // ---- queries -------------------------------------------------------------------------------
  get term(): Term {
    return this.quorum.term;
  }
  get role(): Role {
    return this.quorum.role;
  }
  get leaderId(): NodeId | null {
    return this.quorum.leaderId;
  }

  leaderState(): LeaderState {
    const state = this.quorum.state;
    assert.ok(state.role === 'leader', 'not the leader');
    return state;
  }

  /** Earliest time at which tick() has something to do (lets a host sleep until then). */
  nextDeadline(): number {
    const state = this.quorum.state;
    if (state.role !== 'leader') return state.electionDeadline;
    let deadline = Infinity;
    for (const p of state.progress.values()) {
      const due = p.inflightSentAt !== null ? p.inflightSentAt + this.config.requestRetryMs : p.lastSentAt + this.config.heartbeatIntervalMs;
      deadline = Math.min(deadline, due);
    }
    const acks = [...state.progress.values()].map((p) => p.lastAckAt).sort((a, b) => b - a);
    // The majority-th freshest ack among peers (the leader itself always counts).
    const quorumAck = acks[Math.floor((acks.length + 1) / 2) - 1];
    if (quorumAck !== undefined) deadline = Math.min(deadline, quorumAck + this.config.electionTimeoutMaxMs + 1);
    return deadline;
  }

  // ---- events --------------------------------------------------------------------------------
  tick(now: number): Output {
    const state = this.quorum.state;
    if (state.role === 'leader') {
      if (now - state.quorumContactAt(now) > this.config.electionTimeoutMaxMs) {
        this.quorum.becomeFollower(this.term, null, now); // check quorum: lost the majority
      } else {
        replicationTick(this, now);
      }
    } else if (now >= state.electionDeadline) {
      startPreVote(this, now);
    }
    return this.flush();
  }

  receive(message: RaftMessage, now: number): Output {
    if (message.to !== this.id || !this.config.voters.includes(message.from) || message.from === this.id) return this.flush();
    switch (message.type) {
      case 'vote_request': handleVoteRequest(this, message, now); break;
      case 'vote_response': handleVoteResponse(this, message, now); break;
      case 'append_request': handleAppendRequest(this, message, now); break;
      case 'append_response': handleAppendResponse(this, message, now); break;
      case 'snapshot_request': handleSnapshotRequest(this, message, now); break;
      case 'snapshot_response': handleSnapshotResponse(this, message, now); break;
    }
    return this.flush();
  }

  propose(records: readonly Uint8Array[], now: number): Output & { result: ProposeResult } {
    if (this.role !== 'leader') {
      const result: ProposeResult = { ok: false, error: 'NOT_LEADER', term: this.term, leaderHint: this.leaderId };
      return { ...this.flush(), result };
    }
    const first = this.log.lastIndex() + 1;
    const entries = records.map((data, i): LogEntry => ({ index: first + i, term: this.term, kind: 'command', data }));
    this.appendLocal(entries);
    broadcastAppends(this, now);
    return { ...this.flush(), result: { ok: true, term: this.term, indexes: entries.map((e) => e.index) } };
  }

  logDurable(index: LogIndex, term: Term, now: number): Output {
    // A confirmation for entries since truncated (their term differs now) proves nothing.
    if (index > this.durableIndex && index <= this.log.lastIndex() && this.log.termAt(index) === term) {
      this.durableIndex = index;
      if (this.role === 'leader') this.maybeAdvanceCommit(now);
      else if (this.quorum.state.role === 'follower') sendDurableAck(this, this.quorum.state);
    }
    return this.flush();
  }

  snapshotTaken(snapshot: Snapshot, now: number): Output {
    void now;
    this.snapshotRequested = false;
    if (snapshot.index > this.log.snapshotIndex) {
      assert.ok(snapshot.index <= this.lastApplied, 'snapshot of entries not yet applied');
      assert.equal(this.log.termAt(snapshot.index), snapshot.term, 'snapshot term does not match the log');
      this.snapshot = snapshot;
      this.log.compactThrough(snapshot.index, snapshot.term);
      this.durableIndex = Math.max(this.durableIndex, snapshot.index);
      this.emit({ type: 'compactLog', throughIndex: snapshot.index });
    }
    return this.flush();
  }

  // ---- helpers for the role and RPC files ---------------------------------------------------
  send(message: Outbound): void {
    this.messages.push(message);
  }

  emit(effect: Effect): void {
    this.effects.push(effect);
  }

  /** Append (after truncating from `truncateFromIndex`, if given) and tell the host to write. */
  appendLocal(entries: readonly LogEntry[], truncateFromIndex: LogIndex | null = null): void {
    if (truncateFromIndex !== null) {
      assert.ok(truncateFromIndex > this.commitIndex, `truncating committed entry ${truncateFromIndex}`);
      this.log.truncateFrom(truncateFromIndex);
      this.durableIndex = Math.min(this.durableIndex, truncateFromIndex - 1);
    }
    if (entries.length === 0 && truncateFromIndex === null) return;
    this.log.append(entries);
    this.emit({ type: 'appendLog', truncateFromIndex, entries });
  }

  appendNoop(): void {
    this.appendLocal([{ index: this.log.lastIndex() + 1, term: this.term, kind: 'noop', data: EMPTY }]);
  }

  /** Leader: commit the highest current-term index durable on a majority. */
  maybeAdvanceCommit(now: number): void {
    const leader = this.leaderState();
    const candidate = leader.quorumMatchIndex(this.durableIndex);
    if (candidate <= this.commitIndex || this.log.termAt(candidate) !== this.term) return;
    this.commitTo(candidate);
    broadcastAppends(this, now); // idle followers learn the new commit index now, not at the next heartbeat
  }

  /** Advance commitIndex (never backwards) and hand newly committed entries to the state machine. */
  commitTo(index: LogIndex): void {
    if (index <= this.commitIndex) return;
    assert.ok(index <= this.log.lastIndex(), `commit ${index} beyond the log end ${this.log.lastIndex()}`);
    this.commitIndex = index;
    if (this.lastApplied < this.commitIndex) {
      const entries = this.log.slice(this.lastApplied + 1, this.commitIndex + 1, Infinity);
      assert.equal(entries.length, this.commitIndex - this.lastApplied, 'committed entries missing from the log');
      this.emit({ type: 'apply', entries });
      this.lastApplied = this.commitIndex;
    }
    if (!this.snapshotRequested && this.lastApplied - this.log.snapshotIndex >= this.config.snapshotIntervalEntries) {
      this.snapshotRequested = true;
      this.emit({ type: 'takeSnapshot', index: this.lastApplied, term: this.log.termAt(this.lastApplied)! });
    }
  }

  /** Installed a leader's snapshot: commit and applied jump to it. */
  adoptSnapshot(snapshot: Snapshot, durableIndex: LogIndex): void {
    assert.ok(snapshot.index > this.commitIndex, 'installing a snapshot we already have');
    this.snapshot = snapshot;
    this.durableIndex = durableIndex;
    this.commitIndex = snapshot.index;
    this.lastApplied = snapshot.index;
  }

  private flush(): Output {
    const out = { messages: this.messages, effects: this.effects };
    this.messages = [];
    this.effects = [];
    return out;
  }
}
