/**
 * FollowerProgress: the leader's view of one follower of one partition (Kafka's `Replica` state on
 * the leader): the follower's log end offset as of its last fetch, and when it was last "caught up".
 *
 * Caught up follows Kafka's `lastCaughtUpTimeMs`: a fetch at offset ≥ the leader's LEO *at that
 * fetch* makes the follower caught up as of that fetch; a fetch at offset ≥ the leader's LEO as of
 * the *previous* fetch proves it was caught up as of the previous fetch. So a follower that keeps up
 * with a busy leader, always one round behind, is still in sync, while one that falls further behind
 * stops advancing the timestamp and is shrunk out after replica.lag.time.max.ms.
 *
 * The LEO is only updated from fetches the leader accepted (no divergence, in range): a follower
 * with a divergent tail never counts toward the high watermark.
 */
import { strict as assert } from 'node:assert';
import type { BrokerId } from './types.js';

/** A follower whose LEO the leader has not learnt in this leader epoch. */
export const UNKNOWN_LEO = -1;

export class FollowerProgress {
  logEndOffset = UNKNOWN_LEO;
  /** The broker epoch (registration incarnation) that sent the last accepted fetch; -1 = none yet. */
  brokerEpoch = -1;
  lastCaughtUpTimeMs: number;
  private lastFetchLeaderEndOffset = UNKNOWN_LEO;
  private lastFetchTimeMs = 0;

  /** `inSync`: the follower starts in the ISR, so it counts as caught up now (Kafka resets the same way). */
  constructor(
    readonly brokerId: BrokerId,
    inSync: boolean,
    nowMs: number,
  ) {
    this.lastCaughtUpTimeMs = inSync ? nowMs : 0;
  }

  /** Records an accepted fetch at `fetchOffset` while the leader's LEO was `leaderEndOffset`. */
  onFetch(fetchOffset: number, brokerEpoch: number, leaderEndOffset: number, nowMs: number): void {
    assert.ok(fetchOffset >= 0 && fetchOffset <= leaderEndOffset, `fetch offset ${fetchOffset} outside [0, ${leaderEndOffset}]`);
    if (fetchOffset >= leaderEndOffset) {
      this.lastCaughtUpTimeMs = Math.max(this.lastCaughtUpTimeMs, nowMs);
    } else if (fetchOffset >= this.lastFetchLeaderEndOffset && this.lastFetchLeaderEndOffset !== UNKNOWN_LEO) {
      this.lastCaughtUpTimeMs = Math.max(this.lastCaughtUpTimeMs, this.lastFetchTimeMs);
    }
    this.lastFetchLeaderEndOffset = leaderEndOffset;
    this.lastFetchTimeMs = nowMs;
    this.logEndOffset = fetchOffset;
    this.brokerEpoch = brokerEpoch;
  }

  /** Kafka's isCaughtUp: at the leader's end, or caught up within the last `lagMaxMs`. */
  isCaughtUp(leaderEndOffset: number, nowMs: number, lagMaxMs: number): boolean {
    return this.logEndOffset === leaderEndOffset || nowMs - this.lastCaughtUpTimeMs <= lagMaxMs;
  }
}
