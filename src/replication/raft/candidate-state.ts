// Candidate role (Raft §5.2): incremented its term, voted for itself (durably) and asks every voter
// for its vote. A majority of grants makes it leader; a higher term or a leader of its own term makes
// it a follower; an election timeout (split vote) sends it back to pre-vote with a fresh random
// timeout, so repeated splits die out.

import type { NodeId } from './types.js';

/** Votes collected in one round (pre-vote or real vote). Duplicated responses count once. */
export class VoteTally {
  private readonly granted = new Set<NodeId>();
  private readonly rejected = new Set<NodeId>();

  constructor(
    private readonly voterCount: number,
    self: NodeId,
  ) {
    this.granted.add(self);
  }

  record(from: NodeId, granted: boolean): void {
    if (granted) this.granted.add(from);
    else this.rejected.add(from);
  }

  isWon(): boolean {
    return this.granted.size > this.voterCount / 2;
  }

  grantedCount(): number {
    return this.granted.size;
  }
}

export class CandidateState {
  readonly role = 'candidate' as const;
  readonly leaderId = null;

  constructor(
    readonly tally: VoteTally,
    public electionDeadline: number,
  ) {}
}
