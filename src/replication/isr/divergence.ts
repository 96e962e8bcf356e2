/**
 * Log divergence between a follower and its leader, both directions of Kafka's leader-epoch
 * truncation protocol.
 *
 * Leader side (KIP-320): a fetch carries the follower's last fetched epoch E and fetch offset F (its
 * LEO). If the leader's epoch E ends before F, or the leader never had epoch E, everything the
 * follower holds from the leader's end of E on was written by a leader that lost — a divergent
 * tail. The leader answers with its (epoch ≤ E, end offset) instead of records, and does not count F
 * as the follower's LEO.
 *
 * Follower side (KIP-101 / KIP-279): given the leader's (epoch L, end offset) for the follower's
 * last epoch — from a diverging-epoch fetch answer or from OffsetForLeaderEpoch — the follower
 *  - has epoch L itself: truncates to min(its own end of L, the leader's end of L): done;
 *  - only has epochs below L up to some end: truncates there and asks again (KIP-279: the leader's
 *    epoch L started after the follower's last shared epoch; one round per epoch, never below what
 *    both share);
 *  - the leader knows no such epoch (undefined): falls back to its high watermark, which only holds
 *    committed records (Kafka does the same).
 * Log matching (the same leader epoch never writes two different records at one offset, and every
 * follower truncates before appending in a new epoch) makes "same epoch at the same offset" imply
 * "same prefix", so this converges on the longest common prefix.
 */
import { UNDEFINED_EPOCH, UNDEFINED_OFFSET, type EpochEndOffset, type EpochLookup, type FollowerLogView } from './types.js';

/** Leader side: null when the follower's tail is consistent; 'unknown' when the leader has no epoch history. */
export function findDivergence(log: EpochLookup, fetchOffset: number, lastFetchedEpoch: number): EpochEndOffset | null | 'unknown' {
  if (lastFetchedEpoch < 0) return null; // nothing fetched with an epoch yet: only the offset range is checked
  const end = log.endOffsetForEpoch(lastFetchedEpoch);
  if (end.epoch === UNDEFINED_EPOCH || end.endOffset === UNDEFINED_OFFSET) return 'unknown';
  if (end.epoch < lastFetchedEpoch || end.endOffset < fetchOffset) return { epoch: end.epoch, endOffset: end.endOffset };
  return null;
}

export interface Truncation {
  /** Truncate the local log to this offset (no-op when ≥ the LEO). */
  offset: number;
  /** False when another round is needed (the follower lacked the leader's epoch). */
  complete: boolean;
}

/** Follower side: where to truncate given the leader's end offset for our last epoch. */
export function truncationFor(leader: EpochEndOffset, log: FollowerLogView): Truncation {
  const leo = log.logEndOffset;
  if (leader.epoch === UNDEFINED_EPOCH || leader.endOffset === UNDEFINED_OFFSET) {
    return { offset: Math.min(log.highWatermark, leo), complete: true };
  }
  const mine = log.endOffsetForEpoch(leader.epoch);
  if (mine.epoch === UNDEFINED_EPOCH || mine.endOffset === UNDEFINED_OFFSET) {
    // We have no epoch ≤ the leader's: nothing we hold beyond the committed prefix is shared.
    return { offset: Math.min(log.highWatermark, leo, leader.endOffset), complete: true };
  }
  if (mine.epoch === leader.epoch) return { offset: Math.min(mine.endOffset, leader.endOffset, leo), complete: true };
  return { offset: Math.min(mine.endOffset, leo), complete: false };
}
