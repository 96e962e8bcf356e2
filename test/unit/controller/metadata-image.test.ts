// The image: records applied in order, snapshot round trip, Raft entries (no-ops), structural
// sharing, and the per-broker delta (became leader / follower / removed).
import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../../src/replication/raft/index.js';
import {
  applyBatch, applyEntries, decodeBatch, decodeImage, encodeBatch, encodeImage, imageFromSnapshot, localChanges, MetadataImage,
  MetadataStateMachine, snapshotOf, type MetadataRecord,
} from '../../../src/controller/index.js';
import { Harness, sameImage } from './helpers.js';

const broker = (id: number, epoch: number): MetadataRecord => ({
  type: 'RegisterBroker', brokerId: id, incarnationId: `i${id}`, brokerEpoch: epoch, clusterId: 'c', host: 'h', port: 9000 + id,
  fenced: false, inControlledShutdown: false, recovering: false,
});

function sample(): MetadataImage {
  let img = applyBatch(MetadataImage.EMPTY, 1, [{ type: 'FeatureLevel', name: 'metadata.version', level: 1 }, broker(1, 1), broker(2, 1)]);
  img = applyBatch(img, 2, [
    { type: 'Topic', name: 'a', topicId: 'A', createdAtMs: 5 },
    { type: 'Config', resourceType: 'topic', resourceName: 'a', name: 'retention.ms', value: '1000' },
    { type: 'Partition', topicId: 'A', partition: 0, replicas: [1, 2], isr: [1, 2], elr: [], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
    { type: 'Partition', topicId: 'A', partition: 1, replicas: [2, 1], isr: [2, 1], elr: [], leader: 2, leaderEpoch: 0, partitionEpoch: 0 },
  ]);
  return img;
}

describe('MetadataImage', () => {
  it('applies records in order and answers the broker queries', () => {
    const img = sample();
    expect(img.offset).toBe(2);
    expect(img.partition('a', 1)).toMatchObject({ leader: 2, replicas: [2, 1], leaderEpoch: 0 });
    expect(img.topicConfigs('a').get('retention.ms')).toBe('1000');
    expect(img.brokerAddress(2)).toBe('h:9002');
    expect(img.partitionsLedBy(1).map((p) => p.partition)).toEqual([0]);
    expect(img.partitionsFollowedBy(1).map((p) => p.partition)).toEqual([1]);
    expect(img.topicById('A')).toBe(img.topicByName('a'));
  });

  it('PartitionChange keeps unchanged fields, fence clears controlled shutdown, RemoveTopic drops configs', () => {
    let img = applyBatch(sample(), 3, [
      { type: 'PartitionChange', topicId: 'A', partition: 0, leader: 2, isr: [2], leaderEpoch: 1, partitionEpoch: 2 },
      { type: 'BrokerRegistrationChange', brokerId: 1, brokerEpoch: 1, inControlledShutdown: true },
    ]);
    expect(img.partition('a', 0)).toEqual({ replicas: [1, 2], isr: [2], elr: [], leader: 2, leaderEpoch: 1, partitionEpoch: 2 });
    img = applyBatch(img, 4, [{ type: 'FenceBroker', brokerId: 1, brokerEpoch: 1 }]);
    expect(img.broker(1)).toMatchObject({ fenced: true, inControlledShutdown: false });
    img = applyBatch(img, 5, [{ type: 'RemoveTopic', topicId: 'A' }, { type: 'Topic', name: 'a', topicId: 'A2', createdAtMs: 9 }]);
    expect(img.topicByName('a')!.id).toBe('A2');
    expect(img.topicConfigs('a').size).toBe(0);
    expect(img.topicById('A')).toBeUndefined();
  });

  it('refuses records that do not fit (a bug, not an operating error)', () => {
    expect(() => applyBatch(sample(), 3, [{ type: 'Topic', name: 'a', topicId: 'Z', createdAtMs: 0 }])).toThrow(/exists/);
    expect(() => applyBatch(sample(), 3, [{ type: 'PartitionChange', topicId: 'A', partition: 0, leader: 2, leaderEpoch: 0, partitionEpoch: 1 }])).toThrow(/leader epoch/);
    expect(() => applyBatch(sample(), 3, [{ type: 'FenceBroker', brokerId: 1, brokerEpoch: 7 }])).toThrow(/epoch/);
    expect(() => applyBatch(sample(), 2, [{ type: 'NoOp' }])).toThrow(/grow/);
  });

  it('shares unchanged topics and brokers with the previous image', () => {
    let img = applyBatch(sample(), 3, [{ type: 'Topic', name: 'b', topicId: 'B', createdAtMs: 0 }]);
    const next = applyBatch(img, 4, [{ type: 'Partition', topicId: 'B', partition: 0, replicas: [1], isr: [1], elr: [], leader: 1, leaderEpoch: 0, partitionEpoch: 0 }]);
    expect(next.topicByName('a')).toBe(img.topicByName('a'));
    expect(next.brokers).toBe(img.brokers);
    img = next;
    expect(Object.isFrozen(img.topicByName('b')!.partitions)).toBe(true);
  });
});

describe('snapshots and the Raft log', () => {
  it('round-trips an image through a snapshot', () => {
    const img = sample();
    const back = imageFromSnapshot(snapshotOf(img, 3));
    expect(back.offset).toBe(2);
    expect(sameImage(back, img)).toBe(true);
    expect(decodeImage(encodeImage(MetadataImage.EMPTY))).toBe(MetadataImage.EMPTY);
  });

  it('snapshot + tail equals the whole log, for a controller-built history', () => {
    const h = new Harness();
    h.startBrokers(3);
    h.createTopic('t', 6, 3, { 'cleanup.policy': 'compact' });
    const mid = h.log.length;
    h.advance(1_500, [2, 3]);
    h.createTopic('u', 2, 2);
    const atMid = h.replay(MetadataImage.EMPTY, h.log.slice(0, mid));
    const fromSnapshot = h.replay(decodeImage(encodeImage(atMid)), h.log.slice(mid));
    expect(sameImage(fromSnapshot, h.image)).toBe(true);
    expect(sameImage(h.replay(), h.image)).toBe(true);
  });

  it('applies committed Raft entries, no-ops included, through the state machine', () => {
    const entries: LogEntry[] = [
      { index: 1, term: 1, kind: 'noop', data: new Uint8Array() },
      { index: 2, term: 1, kind: 'command', data: encodeBatch([broker(1, 2)]) },
      { index: 3, term: 2, kind: 'noop', data: new Uint8Array() },
    ];
    const sm = new MetadataStateMachine();
    const seen: number[] = [];
    sm.onImage((prev, next) => seen.push(prev.offset, next.offset));
    sm.apply(entries.slice(0, 2));
    sm.apply(entries.slice(2));
    expect(sm.image.offset).toBe(3);
    expect(seen).toEqual([0, 2, 2, 3]);
    const other = new MetadataStateMachine();
    other.restoreSnapshot(sm.takeSnapshot(), { index: 3, term: 2 });
    expect(sameImage(other.image, sm.image)).toBe(true);
    expect(applyEntries(MetadataImage.EMPTY, entries).broker(1)!.brokerEpoch).toBe(2);
  });

  it('batches carry an encoding version', () => {
    const data = encodeBatch([{ type: 'NoOp' }]);
    expect(decodeBatch(data)).toEqual([{ type: 'NoOp' }]);
    expect(() => decodeBatch(new TextEncoder().encode('{"v":99,"r":[]}'))).toThrow(/version/);
  });
});

describe('localChanges', () => {
  it('reports became leader / follower / removed for one broker', () => {
    const h = new Harness();
    h.startBrokers(3);
    const before = h.image;
    h.createTopic('t', 3, 2);
    const created = localChanges(before, h.image, 1);
    const led = h.image.partitionsLedBy(1).map((p) => p.partition);
    expect(created.leaders.map((c) => c.partition)).toEqual(led);
    expect(created.leaders.every((c) => c.prev === null)).toBe(true);
    expect(created.followers.map((c) => c.partition)).toEqual(h.image.partitionsFollowedBy(1).map((p) => p.partition));
    expect(created.removed).toEqual([]);

    // Broker 1 is fenced: its leaderships move; the new leaders see "became leader", 1 becomes follower.
    const mid = h.image;
    h.advance(1_500, [2, 3]);
    const for1 = localChanges(mid, h.image, 1);
    expect(for1.leaders).toEqual([]);
    expect(for1.followers.map((c) => c.partition).sort()).toEqual([...led, ...created.followers.map((c) => c.partition)].sort());
    const newLeaders = [2, 3].flatMap((b) => localChanges(mid, h.image, b).leaders.filter((c) => c.prev === null).map((c) => c.partition));
    expect(newLeaders.sort()).toEqual([...led].sort());

    // Unchanged images: nothing.
    expect(localChanges(h.image, h.image, 2)).toEqual({ leaders: [], followers: [], removed: [] });

    const beforeDelete = h.image;
    h.run((c, ctx) => c.deleteTopics({ names: ['t'] }, ctx));
    const removed = localChanges(beforeDelete, h.image, 2).removed;
    expect(removed.every((r) => r.deleted && r.topic === 't')).toBe(true);
    expect(removed.length).toBe([0, 1, 2].filter((p) => beforeDelete.partition('t', p)!.replicas.includes(2)).length);
  });
});
