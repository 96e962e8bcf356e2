import { describe, expect, it } from 'vitest';
import { MemoryRaftLog, majorityOf, parseQuorumVoters } from '../../../src/replication/raft/index.js';
import { entries, entry } from './helpers.js';

describe('parseQuorumVoters', () => {
  it('parses Kafka\'s id@host:port list', () => {
    expect(parseQuorumVoters('1@127.0.0.1:9092, 2@broker-2:9093,3@[::1]:9094')).toEqual([
      { id: 1, host: '127.0.0.1', port: 9092 },
      { id: 2, host: 'broker-2', port: 9093 },
      { id: 3, host: '::1', port: 9094 },
    ]);
  });
  it.each(['', '1@host', 'x@h:1', '1@h:0', '1@h:1,1@h:2', '1:h@2'])('rejects %j', (bad) => {
    expect(() => parseQuorumVoters(bad)).toThrow(/controller.quorum.voters/);
  });
  it('computes majorities', () => {
    expect([1, 2, 3, 4, 5].map(majorityOf)).toEqual([1, 2, 2, 3, 3]);
  });
});

describe('MemoryRaftLog', () => {
  it('appends, slices, truncates', () => {
    const log = new MemoryRaftLog(0, 0, entries(1, 1, 2));
    expect([log.lastIndex(), log.lastTerm(), log.termAt(0), log.termAt(2), log.termAt(4)]).toEqual([3, 2, 0, 1, undefined]);
    expect(log.slice(2, 10, 1).map((e) => e.index)).toEqual([2]);
    log.truncateFrom(2);
    expect(log.lastIndex()).toBe(1);
    expect(() => log.append([entry(3, 1)])).toThrow(/contiguous/);
    expect(() => log.append([entry(2, 0)])).toThrow(/never decrease/);
  });
  it('compacts a prefix behind a snapshot, or resets when the snapshot is ahead or divergent', () => {
    const log = new MemoryRaftLog(0, 0, entries(1, 1, 2, 2));
    log.compactThrough(2, 1);
    expect([log.snapshotIndex, log.snapshotTerm, log.termAt(2), log.termAt(1), log.lastIndex()]).toEqual([2, 1, 1, undefined, 4]);
    expect(() => log.slice(2, 5, 10)).toThrow(/inside the snapshot/);
    log.compactThrough(3, 9); // term mismatch: the log is divergent → reset
    expect([log.snapshotIndex, log.lastIndex(), log.lastTerm()]).toEqual([3, 3, 9]);
  });
});
