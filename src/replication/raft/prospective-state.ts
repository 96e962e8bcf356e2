// Pre-candidate ("prospective" in KIP-996) role: the pre-vote round of Ongaro's thesis §9.6.
// A follower whose election timer fires does NOT bump its term. It asks every voter "would you vote
// for me in term+1?" with its log position; voters answer without changing any state. Only with a
// majority of yes does it become a real candidate. A node cut off from the majority therefore never
// inflates its term, and when the partition heals it cannot force the healthy leader to step down.

import type { VoteTally } from './candidate-state.js';

export class ProspectiveState {
  readonly role = 'prospective' as const;
  readonly leaderId = null;

  constructor(
    readonly tally: VoteTally,
    public electionDeadline: number,
  ) {}
}
