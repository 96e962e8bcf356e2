import { describe, expect, it } from 'vitest';
import { groupPartition, javaStringHashCode } from '../../../src/coordinator/group-partition.js';
import { decodeRecord, encodeRecord, recordKey, type CoordinatorRecord } from '../../../src/coordinator/records.js';
import { ErrorCode, FerryError } from '../../../src/protocol/errors.js';

describe('coordinator records', () => {
  it('round-trips every kind, escaping ":" and "%" in ids', () => {
    const records: CoordinatorRecord[] = [
      { kind: 'group', group: 'a:b%c', value: { epoch: 3, topics: { t: 2 }, emptySinceMs: 0 } },
      { kind: 'target-meta', group: 'g', value: { assignmentEpoch: 3 } },
      { kind: 'target', group: 'g', member: 'm:1', value: { partitions: { t: [0, 1] } } },
      { kind: 'member', group: 'g', member: 'm', value: { instanceId: 'i', rackId: '', clientId: 'c', clientHost: 'h', topicNames: ['t'], topicRegex: '', assignor: 'range', rebalanceTimeoutMs: 1, sessionTimeoutMs: 2 } },
      { kind: 'current', group: 'g', member: 'm', value: { epoch: 3, previousEpoch: 2, state: 'unrevoked', assigned: { t: [0] }, pending: { t: [1] } } },
      { kind: 'offset', group: 'g:x', topic: 'orders.v1', partition: 7, value: { offset: 42, leaderEpoch: 0, metadata: 'meta', commitMs: 1000 } },
      { kind: 'offset', group: 'g', topic: 't', partition: 0, value: null },
    ];
    for (const r of records) {
      const { key, value } = encodeRecord(r);
      expect(decodeRecord(key, value)).toEqual(r);
    }
    expect(recordKey(records[0]!)).toBe('group:a%3Ab%25c');
    expect(recordKey(records[5]!)).toBe('offset:g%3Ax:orders.v1:7');
  });

  it('rejects malformed keys and unknown versions', () => {
    const bad = (key: string, value: string | null) => {
      try {
        decodeRecord(Buffer.from(key), value === null ? null : Buffer.from(value));
      } catch (err) {
        return (err as FerryError).code;
      }
      return 'accepted';
    };
    expect(bad('nonsense:g', null)).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(bad('offset:g:t:-1', null)).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(bad('group:g', '{"v":99}')).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(bad('group:g', 'not json')).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
});

describe('group → partition', () => {
  it("matches Java's String.hashCode and Kafka's Utils.abs", () => {
    expect(javaStringHashCode('')).toBe(0);
    expect(javaStringHashCode('hello')).toBe(99162322);
    // "polygenelubricants".hashCode() == Integer.MIN_VALUE: Utils.abs maps it to 0.
    expect(javaStringHashCode('polygenelubricants')).toBe(-2147483648);
    expect(groupPartition('polygenelubricants', 50)).toBe(0);
    expect(groupPartition('hello', 50)).toBe(99162322 % 50);
    for (const g of ['a', 'payment-service', 'inventory-service', 'ü-grüppe']) {
      const p = groupPartition(g, 10);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(10);
    }
  });
});
