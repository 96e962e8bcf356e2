// Safety properties checked continuously while a simulation runs (Raft paper Figure 3, plus the
// durability properties a broker needs). Each violation throws InvariantViolation naming the
// property; the runner prints the seed and the trace.
//
//   election safety      at most one leader per term
//   one vote per term    a node never grants (on the wire) or persists two votes in one term
//   log matching         same (index, term) ⇒ same entry, and same term at index-1 (so, by
//                        induction, the same prefix)
//   leader completeness  a new leader's log holds every entry known committed (above its snapshot)
//   committed stable     an index, once committed anywhere, always commits to the same entry
//   committed durable    every committed entry is in the durable state of a majority (checked at
//                        crashes and at the end: what a crash can take away, it never takes these)
//   state machine safety two nodes that applied up to the same index have the same digest
//   monotonic commit     commitIndex and lastApplied never move back within one incarnation

import type { LogEntry, LogIndex, NodeId, Term } from '../raft/index.js';
import { entryDigest } from './kv-state-machine.js';
import type { SimDisk } from './sim-disk.js';

export class InvariantViolation extends Error {
  constructor(readonly property: string, detail: string) {
    super(`${property}: ${detail}`);
  }
}

function violated(property: string, detail: string): never {
  throw new InvariantViolation(property, detail);
}

export class InvariantChecker {
  private readonly leaders = new Map<Term, NodeId>();
  private readonly votes = new Map<NodeId, { term: Term; votedFor: NodeId | null }>();
  private readonly grants = new Map<string, NodeId>();
  private readonly entries = new Map<string, { digest: string; prevTerm: Term | undefined }>();
  /** index → committed entry (term + digest). */
  readonly committed = new Map<LogIndex, { term: Term; digest: string }>();
  private readonly appliedDigest = new Map<LogIndex, number>();
  private readonly commitSeen = new Map<NodeId, { commit: LogIndex; applied: LogIndex }>();

  constructor(private readonly voterCount: number) {}

  onLeader(node: NodeId, term: Term): void {
    const existing = this.leaders.get(term);
    if (existing !== undefined && existing !== node) violated('election safety', `nodes ${existing} and ${node} both lead term ${term}`);
    this.leaders.set(term, node);
  }

  leaderOf(term: Term): NodeId | undefined {
    return this.leaders.get(term);
  }

  /** Observed on the wire: whatever a node remembers, it must never grant two votes in one term. */
  onVoteGranted(node: NodeId, term: Term, candidate: NodeId): void {
    const key = `${node}:${term}`;
    const previous = this.grants.get(key);
    if (previous !== undefined && previous !== candidate) {
      violated('one vote per term', `node ${node} granted term ${term} to ${previous} and to ${candidate}`);
    }
    this.grants.set(key, candidate);
  }

  onHardState(node: NodeId, term: Term, votedFor: NodeId | null): void {
    const prev = this.votes.get(node);
    if (prev) {
      if (term < prev.term) violated('durable term', `node ${node} term ${prev.term} -> ${term}`);
      if (term === prev.term && prev.votedFor !== null && votedFor !== prev.votedFor) {
        violated('one vote per term', `node ${node} voted ${prev.votedFor} then ${votedFor} in term ${term}`);
      }
    }
    this.votes.set(node, { term, votedFor });
  }

  /** A node appended `entries`; `prevTerm` is its term at entries[0].index - 1 (if known). */
  onAppend(node: NodeId, entries: readonly LogEntry[], prevTerm: Term | undefined): void {
    let before = prevTerm;
    for (const entry of entries) {
      const key = `${entry.index}:${entry.term}`;
      const digest = entryDigest(entry);
      const known = this.entries.get(key);
      if (!known) {
        this.entries.set(key, { digest, prevTerm: before });
      } else {
        if (known.digest !== digest) violated('log matching', `n${node} has ${key}=${digest}, another log has ${known.digest}`);
        if (known.prevTerm !== undefined && before !== undefined && known.prevTerm !== before) {
          violated('log matching', `n${node} entry ${key} follows term ${before}, another log's follows term ${known.prevTerm}`);
        }
        if (known.prevTerm === undefined) known.prevTerm = before;
      }
      before = entry.term;
    }
  }

  onBecameLeader(node: NodeId, term: Term, termAt: (i: LogIndex) => Term | undefined, snapshotIndex: LogIndex): void {
    for (const [index, c] of this.committed) {
      if (index <= snapshotIndex) continue;
      const t = termAt(index);
      if (t !== c.term) violated('leader completeness', `n${node} leads term ${term} without committed ${index}/${c.term} (has ${t})`);
    }
  }

  /** A node committed entries (in order) up to its new commitIndex. */
  onCommit(node: NodeId, entries: readonly LogEntry[]): void {
    for (const entry of entries) {
      const digest = entryDigest(entry);
      const known = this.committed.get(entry.index);
      if (!known) this.committed.set(entry.index, { term: entry.term, digest });
      else if (known.term !== entry.term || known.digest !== digest) {
        violated('committed stable', `n${node} commits ${entry.index}=${entry.term}/${digest}, earlier ${known.term}/${known.digest}`);
      }
    }
  }

  onApplied(node: NodeId, index: LogIndex, digest: number): void {
    const known = this.appliedDigest.get(index);
    if (known === undefined) this.appliedDigest.set(index, digest);
    else if (known !== digest) violated('state machine safety', `n${node} state at ${index} differs from another node's`);
  }

  onProgress(node: NodeId, commit: LogIndex, applied: LogIndex): void {
    const prev = this.commitSeen.get(node);
    if (prev && (commit < prev.commit || applied < prev.applied)) {
      violated('monotonic commit', `n${node} commit ${prev.commit}->${commit} applied ${prev.applied}->${applied}`);
    }
    this.commitSeen.set(node, { commit, applied });
  }

  /** A restart re-derives commitIndex from the snapshot; monotonicity restarts too. */
  onRestart(node: NodeId): void {
    this.commitSeen.delete(node);
  }

  checkCommittedDurable(disks: ReadonlyMap<NodeId, SimDisk>): void {
    const majority = Math.floor(this.voterCount / 2) + 1;
    for (const [index, c] of this.committed) {
      let holders = 0;
      for (const disk of disks.values()) if (disk.holds(index, c.term)) holders++;
      if (holders < majority) violated('committed durable', `entry ${index}/${c.term} is durable on ${holders} of ${disks.size} nodes`);
    }
  }
}
