import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { LeaderEpochCache } from '../../../src/storage/leader-epoch-cache.js';
import { tempDir } from './helpers.js';

describe('LeaderEpochCache', () => {
  it('answers endOffsetFor with KIP-101 semantics', () => {
    const c = new LeaderEpochCache(join(tempDir(), 'leader-epoch-checkpoint'));
    expect(c.endOffsetFor(0, 10)).toEqual({ epoch: -1, endOffset: -1 });
    c.assign(2, 0);
    c.assign(4, 100);
    c.assign(7, 250);
    expect(c.assign(5, 300)).toBe(false); // older than the latest: ignored
    expect(c.endOffsetFor(7, 400)).toEqual({ epoch: 7, endOffset: 400 }); // latest → LEO
    expect(c.endOffsetFor(2, 400)).toEqual({ epoch: 2, endOffset: 100 });
    expect(c.endOffsetFor(4, 400)).toEqual({ epoch: 4, endOffset: 250 });
    expect(c.endOffsetFor(5, 400)).toEqual({ epoch: 4, endOffset: 250 }); // unknown → largest ≤ requested
    expect(c.endOffsetFor(1, 400)).toEqual({ epoch: 1, endOffset: 0 }); // below the first
    expect(c.endOffsetFor(8, 400)).toEqual({ epoch: -1, endOffset: -1 }); // above the latest
  });

  it('replaces epochs that wrote nothing, truncates both ends, and persists', async () => {
    const path = join(tempDir(), 'leader-epoch-checkpoint');
    const c = new LeaderEpochCache(path);
    c.assign(1, 0);
    c.assign(2, 50);
    c.assign(3, 50); // epoch 2 wrote nothing
    expect(c.snapshot()).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 50 }]);
    c.assign(4, 90);
    c.truncateFromEnd(90);
    expect(c.latestEpoch).toBe(3);
    c.truncateFromStart(60);
    expect(c.snapshot()).toEqual([{ epoch: 3, startOffset: 60 }]);
    await c.persist();
    const d = new LeaderEpochCache(path);
    await d.load();
    expect(d.snapshot()).toEqual([{ epoch: 3, startOffset: 60 }]);
  });
});
