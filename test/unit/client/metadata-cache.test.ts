/**
 * MetadataCache and BrokerAddresses without I/O: which broker list and leaders a response leaves
 * behind, epoch monotonicity, leader hints, and the order brokers are tried in.
 */
import { describe, expect, it } from 'vitest';
import { BrokerAddresses, advertisedAddress, normalizeAddress } from '../../../src/client/broker-addresses.js';
import { ConnectionPool } from '../../../src/client/connection-pool.js';
import { noopLogger } from '../../../src/client/context.js';
import { MetadataCache } from '../../../src/client/metadata-cache.js';
import type { MetadataResponse__Output } from '../../../src/generated/ferry/v1/MetadataResponse.js';

function cache(bootstrap = ['seed:9092']): MetadataCache {
  const pool = new ConnectionPool({ clientId: 't', maxMessageBytes: 1 << 20 });
  return new MetadataCache(pool, {
    bootstrap,
    requestTimeoutMs: 1000,
    connectTimeoutMs: 1000,
    retry: { retries: 0, initialRetryTimeMs: 1, maxRetryTimeMs: 1 },
    refreshBackoffMs: 0,
    maxAgeMs: 60_000,
    logger: noopLogger,
  });
}

function response(leaders: [leaderId: number, leaderEpoch: number][], opts: { topicId?: string; brokers?: number[]; host?: string } = {}): MetadataResponse__Output {
  return {
    clusterId: 'c',
    controllerId: 1,
    brokers: (opts.brokers ?? [1, 2, 3]).map((nodeId) => ({ nodeId, host: opts.host ?? `b${nodeId}`, port: 9092, rack: '' })),
    topics: [
      {
        name: 't',
        topicId: opts.topicId ?? 'id-1',
        isInternal: false,
        error: null,
        partitions: leaders.map(([leaderId, leaderEpoch], partition) => ({ partition, leaderId, leaderEpoch, replicas: [], isr: [], offlineReplicas: [], error: null })),
      },
    ],
  } as unknown as MetadataResponse__Output;
}

describe('MetadataCache.apply', () => {
  it('maps leaders to advertised addresses; a wildcard host means the broker that answered', () => {
    const m = cache();
    m.apply(response([[2, 5], [-1, 3]], { host: '0.0.0.0' }), '10.1.1.1:9092');
    expect(m.leaderAddress('t', 0)).toBe('10.1.1.1:9092');
    expect(m.leaderEpoch('t', 0)).toBe(5);
    expect(m.leaderAddress('t', 1)).toBeNull(); // offline
  });

  it('never moves a leader back to an older epoch of the same topic id', () => {
    const m = cache();
    m.apply(response([[2, 5]]), 'seed:9092');
    m.apply(response([[1, 4]]), 'seed:9092'); // a broker whose metadata lags
    expect(m.topic('t')!.partitions[0]).toMatchObject({ leaderId: 2, leaderEpoch: 5, address: 'b2:9092' });
    m.apply(response([[3, 6]]), 'seed:9092');
    expect(m.topic('t')!.partitions[0]).toMatchObject({ leaderId: 3, leaderEpoch: 6 });
  });

  it('accepts lower epochs for a re-created topic (new topic id)', () => {
    const m = cache();
    m.apply(response([[2, 5]]), 'seed:9092');
    m.apply(response([[1, 0]], { topicId: 'id-2' }), 'seed:9092');
    expect(m.topic('t')!.partitions[0]).toMatchObject({ leaderId: 1, leaderEpoch: 0 });
  });

  it('replaces the broker list with each response; bootstrap addresses stay as a fallback', () => {
    const m = cache(['seed:9092']);
    expect(m.addresses()).toEqual(['seed:9092']);
    m.apply(response([[1, 0]]), 'seed:9092');
    expect(m.addresses()).toEqual(['b1:9092', 'b2:9092', 'b3:9092', 'seed:9092']);
    m.apply(response([[2, 1]], { brokers: [2, 3] }), 'b2:9092'); // broker 1 left
    expect(m.addresses()).toEqual(['b2:9092', 'b3:9092', 'seed:9092']);
  });
});

describe('MetadataCache.applyLeaderHint', () => {
  it('takes a hint with a newer epoch, ignores an older or equal one', () => {
    const m = cache();
    m.apply(response([[1, 3]]), 'seed:9092');
    expect(m.applyLeaderHint('t', 0, { leaderId: 2, leaderAddress: 'x:1', leaderEpoch: 3 }, 'b1:9092')).toBe(false);
    expect(m.applyLeaderHint('t', 0, { leaderId: 2, leaderAddress: 'x:1', leaderEpoch: 4 }, 'b1:9092')).toBe(true);
    // The address of a known broker id wins over the hint's (which may be a wildcard).
    expect(m.topic('t')!.partitions[0]).toEqual({ leaderId: 2, leaderEpoch: 4, address: 'b2:9092' });
    // A later metadata response that lags behind the hint does not undo it.
    m.apply(response([[1, 3]]), 'seed:9092');
    expect(m.leaderAddress('t', 0)).toBe('b2:9092');
  });

  it('uses the hinted address for an unknown broker id, with a wildcard host resolved', () => {
    const m = cache();
    m.apply(response([[1, 0]]), 'seed:9092');
    m.applyLeaderHint('t', 0, { leaderId: 9, leaderAddress: '0.0.0.0:7000', leaderEpoch: 1 }, '10.0.0.5:9092');
    expect(m.leaderAddress('t', 0)).toBe('10.0.0.5:7000');
  });

  it('ignores hints for unknown topics and hints without a leader', () => {
    const m = cache();
    expect(m.applyLeaderHint('nope', 0, { leaderId: 1, leaderAddress: 'a:1', leaderEpoch: 1 }, 'a:1')).toBe(false);
    m.apply(response([[1, 0]]), 'seed:9092');
    expect(m.applyLeaderHint('t', 0, { leaderId: -1, leaderAddress: '', leaderEpoch: 7 }, 'a:1')).toBe(false);
  });
});

describe('BrokerAddresses', () => {
  it('tries live addresses first, failed ones last (oldest failure first), and forgives on success', () => {
    const b = new BrokerAddresses(['s1:1', 's2:1']);
    b.setBrokers([{ nodeId: 1, address: 'b1:1' }, { nodeId: 2, address: 'b2:1' }]);
    expect(b.candidates()).toEqual(['b1:1', 'b2:1', 's1:1', 's2:1']);
    b.markFailed('b1:1', 100);
    b.markFailed('s1:1', 50);
    expect(b.candidates()).toEqual(['b2:1', 's2:1', 's1:1', 'b1:1']);
    b.markFailed('s1:1', 200); // failed again: behind b1 now
    expect(b.candidates()).toEqual(['b2:1', 's2:1', 'b1:1', 's1:1']);
    b.markOk('b1:1');
    expect(b.candidates()).toEqual(['b1:1', 'b2:1', 's2:1', 's1:1']);
  });

  it('an empty broker list from a response keeps the known brokers', () => {
    const b = new BrokerAddresses(['s:1']);
    b.setBrokers([{ nodeId: 1, address: 'b1:1' }]);
    b.setBrokers([]);
    expect(b.addressOf(1)).toBe('b1:1');
  });

  it('normalizes advertised addresses', () => {
    expect(advertisedAddress('::', 9092, '[::1]:9000')).toBe('[::1]:9092');
    expect(advertisedAddress('h', 1, 'x:2')).toBe('h:1');
    expect(normalizeAddress('', 'x:2')).toBe('');
    expect(normalizeAddress('0.0.0.0:5', 'x:2')).toBe('x:5');
  });
});
