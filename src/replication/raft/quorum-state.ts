// QuorumState: the node's durable election state (term, votedFor) and its current role object, with
// the only transitions Raft allows (compare Kafka's QuorumState):
//
//   follower ──timeout──▶ prospective ──majority pre-votes──▶ candidate ──majority votes──▶ leader
//      ▲                       │ timeout: new pre-vote round       │ timeout: back to prospective
//      └──── higher term, or a leader of the current term ◀────────┴──────── (any role) ◀─┘
//   leader ──check-quorum fails──▶ follower (same term, leader unknown)
//
// Every change of term or vote emits a `persistHardState` effect (a sync barrier: the host makes it
// durable before sending the step's messages), and every change of the known leader emits
// `leaderChanged`. Election deadlines are drawn from the injected Random.

import { strict as assert } from 'node:assert';
import { CandidateState, VoteTally } from './candidate-state.js';
import type { Effect } from './effects.js';
import { FollowerState } from './follower-state.js';
import { LeaderState } from './leader-state.js';
import { ProspectiveState } from './prospective-state.js';
import type { HardState, LogIndex, NodeId, Random, RaftTimingConfig, Role, Term } from './types.js';

export type RoleState = FollowerState | ProspectiveState | CandidateState | LeaderState;

export class QuorumState {
  private currentTerm: Term;
  private vote: NodeId | null;
  private current: RoleState;
  private announcedLeader: { term: Term; leaderId: NodeId | null; role: Role } | null = null;

  constructor(
    readonly id: NodeId,
    readonly voters: readonly NodeId[],
    private readonly timing: RaftTimingConfig,
    private readonly random: Random,
    private readonly emit: (effect: Effect) => void,
    hardState: HardState,
    now: number,
  ) {
    assert.ok(voters.includes(id), `node ${id} is not in the voter set`);
    this.currentTerm = hardState.term;
    this.vote = hardState.votedFor;
    this.current = new FollowerState(null, now + this.randomElectionTimeoutMs(), -Infinity);
  }

  get term(): Term {
    return this.currentTerm;
  }
  get votedFor(): NodeId | null {
    return this.vote;
  }
  get state(): RoleState {
    return this.current;
  }
  get role(): Role {
    return this.current.role;
  }
  get leaderId(): NodeId | null {
    return this.current.leaderId;
  }
  get peers(): NodeId[] {
    return this.voters.filter((v) => v !== this.id);
  }

  randomElectionTimeoutMs(): number {
    const { electionTimeoutMinMs: min, electionTimeoutMaxMs: max } = this.timing;
    return min + this.random.nextInt(Math.max(1, max - min));
  }

  /** Adopt a higher term (clearing the vote) or learn the leader of the current term. */
  becomeFollower(term: Term, leaderId: NodeId | null, now: number): FollowerState {
    assert.ok(term >= this.currentTerm, `term went backwards: ${term} < ${this.currentTerm}`);
    if (term > this.currentTerm) this.setHardState(term, null);
    else assert.ok(!(this.current.role === 'leader' && leaderId !== null && leaderId !== this.id), `two leaders in term ${term}`);
    const follower = new FollowerState(leaderId, now + this.randomElectionTimeoutMs(), leaderId === null ? -Infinity : now);
    this.current = follower;
    this.announce();
    return follower;
  }

  becomeProspective(now: number): ProspectiveState {
    assert.ok(this.current.role !== 'leader', 'a leader does not pre-vote');
    const prospective = new ProspectiveState(new VoteTally(this.voters.length, this.id), now + this.randomElectionTimeoutMs());
    this.current = prospective;
    this.announce();
    return prospective;
  }

  becomeCandidate(now: number): CandidateState {
    assert.ok(this.current.role === 'prospective', 'only a pre-candidate with a majority campaigns');
    this.setHardState(this.currentTerm + 1, this.id);
    const candidate = new CandidateState(new VoteTally(this.voters.length, this.id), now + this.randomElectionTimeoutMs());
    this.current = candidate;
    this.announce();
    return candidate;
  }

  becomeLeader(lastIndex: LogIndex, now: number): LeaderState {
    assert.ok(this.current.role === 'candidate', 'only a candidate becomes leader');
    assert.equal(this.vote, this.id);
    const leader = new LeaderState(this.id, this.peers, lastIndex, now);
    this.current = leader;
    this.announce();
    return leader;
  }

  grantVote(candidate: NodeId): void {
    assert.ok(this.vote === null || this.vote === candidate, 'one vote per term');
    if (this.vote !== candidate) this.setHardState(this.currentTerm, candidate);
  }

  private setHardState(term: Term, votedFor: NodeId | null): void {
    this.currentTerm = term;
    this.vote = votedFor;
    this.emit({ type: 'persistHardState', hardState: { term, votedFor } });
  }

  private announce(): void {
    const next = { term: this.currentTerm, leaderId: this.current.leaderId, role: this.current.role };
    const prev = this.announcedLeader;
    if (prev && prev.term === next.term && prev.leaderId === next.leaderId && prev.role === next.role) return;
    this.announcedLeader = next;
    this.emit({ type: 'leaderChanged', ...next });
  }

  /** A follower learned who leads its term (from AppendEntries / InstallSnapshot). */
  noteLeader(follower: FollowerState, leaderId: NodeId): void {
    if (follower.leaderId === leaderId) return;
    assert.ok(follower.leaderId === null, `two leaders in term ${this.currentTerm}`);
    follower.leaderId = leaderId;
    follower.verifiedIndex = 0;
    follower.ackedMatchIndex = 0;
    this.announce();
  }
}
