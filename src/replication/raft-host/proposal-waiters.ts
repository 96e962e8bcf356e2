// Proposals waiting to be committed and applied locally. A waiter is keyed by the last index of its
// batch and the term it was proposed in; it resolves when that index is applied *with that term*
// (Raft's log matching makes the batch's earlier entries identical too). It fails when:
//   - the index is applied with another term (a new leader overwrote it)   → NotLeaderError
//   - the node stops being leader (outcome unknown: the entry may still commit later, so the
//     caller must treat it like KRaft's NOT_CONTROLLER and re-check)          → NotLeaderError
//   - a snapshot is installed over it (only happens to non-leaders, so it was failed already)
//   - it waits longer than proposeTimeoutMs                                  → REQUEST_TIMED_OUT
//   - the host closes or fails                                                 → the given error
// Leaders assign increasing indexes, so waiters sit in index order and are settled from the front.

import { ErrorCode, FerryError } from '../../protocol/errors.js';
import type { LogEntry, LogIndex, Term } from '../raft/index.js';

interface Waiter {
  readonly index: LogIndex;
  readonly term: Term;
  readonly resolve: (index: LogIndex) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class ProposalWaiters {
  private waiters: Waiter[] = [];

  constructor(private readonly timeoutMs: number) {}

  get size(): number {
    return this.waiters.length;
  }

  add(index: LogIndex, term: Term): Promise<LogIndex> {
    return new Promise<LogIndex>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new FerryError(ErrorCode.REQUEST_TIMED_OUT, `proposal at ${index} (term ${term}) not applied within ${this.timeoutMs} ms; its outcome is unknown`));
      }, this.timeoutMs);
      this.waiters.push({ index, term, resolve, reject, timer });
    });
  }

  /** `entries` were just applied (in order). */
  applied(entries: readonly LogEntry[], notLeader: () => Error): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    const last = entries[entries.length - 1]!.index;
    while (this.waiters.length > 0 && this.waiters[0]!.index <= last) {
      const w = this.waiters.shift()!;
      clearTimeout(w.timer);
      const entry = w.index >= first ? entries[w.index - first] : undefined;
      if (entry && entry.term === w.term) w.resolve(w.index);
      else w.reject(notLeader());
    }
  }

  rejectAll(err: () => Error): void {
    const all = this.waiters;
    this.waiters = [];
    for (const w of all) {
      clearTimeout(w.timer);
      w.reject(err());
    }
  }
}
