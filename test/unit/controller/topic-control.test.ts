// CreateTopics / DeleteTopics / CreatePartitions / AlterTopicConfigs on the controller.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { config, Harness, sameImage } from './helpers.js';

describe('CreateTopics', () => {
  it('creates topic, configs and partitions with ISR = replicas and leader = preferred replica', () => {
    const h = new Harness();
    h.startBrokers(3);
    const t = h.createTopic('orders', 3, 2, { 'retention.ms': '60000' });
    expect(t).toMatchObject({ name: 'orders', partitions: 3, replicationFactor: 2, error: null });
    const topic = h.image.topicByName('orders')!;
    expect(topic.id).toBe(t.topicId);
    expect(topic.partitions.length).toBe(3);
    for (const p of topic.partitions) {
      expect(p.replicas.length).toBe(2);
      expect(new Set(p.replicas).size).toBe(2);
      expect(p).toMatchObject({ isr: p.replicas, leader: p.replicas[0], leaderEpoch: 0, partitionEpoch: 0, elr: [] });
    }
    expect(h.image.topicConfigs('orders').get('retention.ms')).toBe('60000');
    expect(sameImage(h.replay(), h.image)).toBe(true);
  });

  it('balances leaders: 3 brokers × 12 partitions × RF 3 → each leads 4 and replicates 12', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const h = new Harness(config(), seed);
      h.startBrokers(3);
      h.createTopic('bal', 12, 3);
      for (const b of [1, 2, 3]) {
        expect(h.image.partitionsLedBy(b).length).toBe(4);
        expect(h.image.partitionsFollowedBy(b).length).toBe(8);
      }
    }
  });

  it('uses the defaults for missing counts', () => {
    const h = new Harness(config({ defaultPartitions: 4, defaultReplicationFactor: 2 }));
    h.startBrokers(2);
    const res = h.run((c, ctx) => c.createTopics({ topics: [{ name: 'd' }] }, ctx));
    expect(res.topics[0]).toMatchObject({ partitions: 4, replicationFactor: 2, error: null });
  });

  it('rejects bad names, duplicates, counts, replication factors and configs — per topic', () => {
    const h = new Harness(config({ maxPartitionsPerTopic: 100 }));
    h.startBrokers(2);
    h.createTopic('exists', 1, 1);
    const res = h.run((c, ctx) => c.createTopics({ topics: [
      { name: 'ok', partitions: 1, replicationFactor: 2 },
      { name: 'bad name!', partitions: 1 },
      { name: '__internal', partitions: 1 },
      { name: 'exists', partitions: 1 },
      { name: 'ok', partitions: 1 },
      { name: 'many', partitions: 101 },
      { name: 'rf', partitions: 1, replicationFactor: 3 },
      { name: 'cfg', partitions: 1, configs: { 'retention.ms': 'soon' } },
      { name: 'unknown-cfg', partitions: 1, configs: { 'no.such': '1' } },
    ] }, ctx));
    expect(res.topics.map((t) => t.error?.code ?? 'OK')).toEqual([
      'OK', ErrorCode.INVALID_TOPIC, ErrorCode.INVALID_TOPIC, ErrorCode.TOPIC_ALREADY_EXISTS, ErrorCode.TOPIC_ALREADY_EXISTS,
      ErrorCode.INVALID_PARTITIONS, ErrorCode.INVALID_REPLICATION_FACTOR, ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_CONFIG,
    ]);
    expect(h.image.topicList().map((t) => t.name)).toEqual(['exists', 'ok']);
  });

  it('internal topics may use the reserved prefix; validateOnly writes nothing; fenced brokers get no replicas', () => {
    const h = new Harness();
    h.startBrokers(3);
    h.advance(1_500, [1, 2]);
    const v = h.run((c, ctx) => c.createTopics({ topics: [{ name: 'v', partitions: 2, replicationFactor: 2 }], validateOnly: true }, ctx));
    expect(v.topics[0]!.error).toBe(null);
    expect(h.image.topicByName('v')).toBeUndefined();
    h.run((c, ctx) => c.createTopics({ topics: [{ name: '__consumer_offsets', partitions: 4, replicationFactor: 2, internal: true }] }, ctx));
    for (const p of h.image.topicByName('__consumer_offsets')!.partitions) expect(p.replicas).not.toContain(3);
  });
});

describe('DeleteTopics', () => {
  it('removes the topic; rejects unknown, internal and disabled', () => {
    const h = new Harness();
    h.startBrokers(1);
    h.createTopic('x', 2, 1, { 'retention.ms': '5' });
    h.run((c, ctx) => c.createTopics({ topics: [{ name: '__consumer_offsets', partitions: 1, replicationFactor: 1, internal: true }] }, ctx));
    const res = h.run((c, ctx) => c.deleteTopics({ names: ['x', 'x', 'nope', '__consumer_offsets'] }, ctx));
    expect(res.topics.map((t) => t.error?.code ?? 'OK')).toEqual(['OK', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_TOPIC]);
    expect(h.image.topicByName('x')).toBeUndefined();
    expect(h.image.topicConfigs('x').size).toBe(0);
    const off = new Harness(config({ deleteTopicEnable: false }));
    off.startBrokers(1);
    off.createTopic('y', 1, 1);
    expect(off.run((c, ctx) => c.deleteTopics({ names: ['y'] }, ctx)).topics[0]!.error?.code).toBe(ErrorCode.POLICY_VIOLATION);
  });
});

describe('CreatePartitions', () => {
  it('adds partitions with the topic replication factor, continuing the leader rotation', () => {
    const h = new Harness();
    h.startBrokers(3);
    h.createTopic('g', 3, 2);
    const res = h.run((c, ctx) => c.createPartitions({ topics: [{ name: 'g', count: 6 }] }, ctx));
    expect(res.topics[0]!.error).toBe(null);
    const parts = h.image.topicByName('g')!.partitions;
    expect(parts.length).toBe(6);
    for (const p of parts) expect(p.replicas.length).toBe(2);
    for (const b of [1, 2, 3]) expect(h.image.partitionsLedBy(b).length).toBe(2);
    expect(sameImage(h.replay(), h.image)).toBe(true);
  });

  it('rejects unknown topics, a count that does not grow, and validateOnly writes nothing', () => {
    const h = new Harness();
    h.startBrokers(1);
    h.createTopic('g', 2, 1);
    const res = h.run((c, ctx) => c.createPartitions({ topics: [{ name: 'nope', count: 3 }, { name: 'g', count: 2 }, { name: 'g', count: 5 }], validateOnly: true }, ctx));
    expect(res.topics.map((t) => t.error?.code ?? 'OK')).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_PARTITIONS, 'OK']);
    expect(h.image.topicByName('g')!.partitions.length).toBe(2);
  });
});

describe('AlterTopicConfigs', () => {
  it('sets and removes overrides; validates the merged result', () => {
    const h = new Harness();
    h.startBrokers(1);
    h.createTopic('c', 1, 1, { 'retention.ms': '1000' });
    const res = h.run((c, ctx) => c.alterTopicConfigs({ resources: [
      { topic: 'c', set: { 'segment.bytes': '1048576' }, remove: ['retention.ms'] },
      { topic: 'c', set: { 'segment.bytes': '-5' } },
      { topic: 'nope', set: { 'segment.bytes': '1048576' } },
      { topic: 'c', remove: ['not.a.config'] },
    ] }, ctx));
    expect(res.results.map((r) => r.error?.code ?? 'OK')).toEqual(['OK', ErrorCode.INVALID_CONFIG, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_CONFIG]);
    expect([...h.image.topicConfigs('c')]).toEqual([['segment.bytes', '1048576']]);
  });

  it('enabling unclean election elects a leader for an offline partition (and only then)', () => {
    const h = new Harness();
    h.startBrokers(2);
    h.createTopic('u', 1, 2);
    const [first, second] = h.partition('u', 0).replicas;
    h.advance(1_500, [first!]); // second out of the ISR (and into the ELR, as the ISR drops below 2)
    h.advance(1_500, []); // first fenced too: offline
    h.register(second!); // unclean restart: leaves the ELR
    h.heartbeat(second!, { recovering: false });
    expect(h.partition('u', 0).leader).toBe(-1);
    h.run((c, ctx) => c.alterTopicConfigs({ resources: [{ topic: 'u', set: { 'unclean.leader.election.enable': 'true' } }] }, ctx));
    expect(h.partition('u', 0)).toMatchObject({ leader: second, isr: [second] });
  });
});
