/**
 * The metadata image as the Raft host's state machine (the shape of raft-host's RaftStateMachine:
 * apply / takeSnapshot / restoreSnapshot), plus publishers (KRaft's MetadataLoader →
 * MetadataPublisher): after every change each listener gets the previous and the new image, e.g.
 * the replica manager calls `localChanges(prev, next, brokerId)` to become leader / follower.
 *
 * Every node — controller voter or not — runs one of these over the committed log; the active
 * controller additionally keeps its own ahead-of-commit image inside QuorumController.
 * Listeners run synchronously on the host's serial queue and must not throw (an image must never
 * be half-published); async work they start is theirs to order.
 */
import type { LogEntry, LogIndex, Term } from '../replication/raft/index.js';
import { MetadataImage } from './metadata-image.js';
import { applyEntries, encodeImage, decodeImage } from './metadata-loader.js';
import { strict as assert } from 'node:assert';

export type ImageListener = (prev: MetadataImage, next: MetadataImage) => void;

export class MetadataStateMachine {
  private current: MetadataImage = MetadataImage.EMPTY;
  private readonly listeners: ImageListener[] = [];

  get image(): MetadataImage {
    return this.current;
  }

  /** Adds a publisher; returns its removal. */
  onImage(listener: ImageListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  apply(entries: readonly LogEntry[]): void {
    this.publish(applyEntries(this.current, entries));
  }

  takeSnapshot(): Uint8Array {
    return encodeImage(this.current);
  }

  restoreSnapshot(data: Uint8Array, at: { readonly index: LogIndex; readonly term: Term }): void {
    const image = decodeImage(data);
    assert.equal(image.offset, at.index, 'metadata snapshot offset and Raft index disagree');
    this.publish(image);
  }

  private publish(next: MetadataImage): void {
    const prev = this.current;
    if (next === prev) return;
    this.current = next;
    for (const listener of this.listeners) listener(prev, next);
  }
}
