/**
 * Bounded caches shared by every segment of a broker (one StorageResources per LogManager):
 *  - read fds of inactive segments (`lru-cache`, at most `maxOpenSegmentFiles`; an evicted fd is
 *    closed once its in-flight reads finish — see SharedFd). Active segments keep their own fd.
 *  - loaded indexes of inactive segments (`lru-cache` bounded by `indexCacheBytes` of entries).
 *    Active segments keep theirs in memory outside the cache.
 * Keys are per-segment unique ids, not paths, because a deleted segment's file is renamed while a
 * read may still hold it.
 */
import { LRUCache } from 'lru-cache';
import { SharedFd, openFd } from './shared-fd.js';
import type { OffsetIndex } from './offset-index.js';
import type { TimeIndex } from './time-index.js';

export const DEFAULT_MAX_OPEN_SEGMENT_FILES = 1024;
export const DEFAULT_INDEX_CACHE_BYTES = 256 * 1024 * 1024;

export interface LoadedIndexes {
  offsetIndex: OffsetIndex;
  timeIndex: TimeIndex;
}

export interface StorageResourceLimits {
  maxOpenSegmentFiles?: number;
  indexCacheBytes?: number;
}

let nextSegmentId = 0;

/** A process-unique key for a segment's cache entries. */
export function newSegmentKey(baseOffset: number): string {
  return `${baseOffset}#${nextSegmentId++}`;
}

export class StorageResources {
  private readonly fds: LRUCache<string, SharedFd>;
  private readonly indexes: LRUCache<string, LoadedIndexes>;

  constructor(limits: StorageResourceLimits = {}) {
    this.fds = new LRUCache<string, SharedFd>({
      max: limits.maxOpenSegmentFiles ?? DEFAULT_MAX_OPEN_SEGMENT_FILES,
      dispose: (fd) => fd.close(),
    });
    this.indexes = new LRUCache<string, LoadedIndexes>({
      maxSize: limits.indexCacheBytes ?? DEFAULT_INDEX_CACHE_BYTES,
      // Never 0: lru-cache rejects zero-sized entries.
      sizeCalculation: (ix) => Math.max(1, ix.offsetIndex.sizeBytes + ix.timeIndex.sizeBytes),
    });
  }

  get openFileCount(): number {
    return this.fds.size;
  }

  /** The read fd for `key`, retained: the caller must release() it. Opens `path` on a miss. */
  async acquireReadFd(key: string, path: string): Promise<SharedFd> {
    let shared = this.fds.get(key);
    if (!shared || !shared.usable) {
      const fd = await openFd(path, 'r');
      const raced = this.fds.get(key);
      if (raced && raced.usable) {
        new SharedFd(fd).close();
        shared = raced;
      } else {
        shared = new SharedFd(fd);
        this.fds.set(key, shared);
      }
    }
    shared.retain();
    return shared;
  }

  /** Hands an already-open fd (a segment that just stopped being active) to the cache. */
  adoptReadFd(key: string, fd: SharedFd): void {
    this.fds.set(key, fd);
  }

  getIndexes(key: string): LoadedIndexes | undefined {
    return this.indexes.get(key);
  }

  setIndexes(key: string, ix: LoadedIndexes): void {
    this.indexes.set(key, ix);
  }

  /** Forgets a segment (deleted, truncated, or made active again); its fd closes when idle. */
  evict(key: string): void {
    this.fds.delete(key);
    this.indexes.delete(key);
  }
}
