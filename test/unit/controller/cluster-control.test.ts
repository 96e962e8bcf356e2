// Broker lifecycle on the controller: registration, heartbeats, fencing on session expiry,
// unclean restarts, controlled shutdown.
import { describe, expect, it } from 'vitest';
import { ErrorCode, FerryError } from '../../../src/protocol/errors.js';
import { CLUSTER_ID, Harness, sameImage } from './helpers.js';

function expectFerry(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe(code);
    return;
  }
  throw new Error(`expected FerryError ${code}`);
}

describe('RegisterBroker', () => {
  it('registers a new broker fenced, with its registration offset as broker epoch', () => {
    const h = new Harness();
    const epoch = h.register(1);
    expect(epoch).toBe(1);
    expect(h.image.broker(1)).toMatchObject({ brokerId: 1, brokerEpoch: 1, fenced: true, recovering: false, host: '127.0.0.1', port: 9001, clusterId: CLUSTER_ID });
    expect(h.image.brokerAddress(1)).toBe('127.0.0.1:9001');
  });

  it('a retry with the same incarnation returns the same epoch and writes nothing', () => {
    const h = new Harness();
    h.register(1, { incarnationId: 'a' });
    const before = h.log.length;
    expect(h.register(1, { incarnationId: 'a' })).toBe(1);
    expect(h.log.length).toBe(before);
  });

  it('a new incarnation gets a new epoch; the old epoch is stale', () => {
    const h = new Harness();
    h.startBrokers(1);
    const old = h.epochs.get(1)!;
    const epoch = h.register(1);
    expect(epoch).toBeGreaterThan(old);
    h.epochs.set(1, old);
    expectFerry(() => h.heartbeat(1), ErrorCode.STALE_BROKER_EPOCH);
  });

  it('rejects another cluster id and bad listeners', () => {
    const h = new Harness();
    const base = { brokerId: 1, incarnationId: 'x', host: 'h', port: 1, previousBrokerEpoch: -1 };
    expectFerry(() => h.run((c, ctx) => c.registerBroker({ ...base, clusterId: 'other' }, ctx)), ErrorCode.INCONSISTENT_CLUSTER_ID);
    expectFerry(() => h.run((c, ctx) => c.registerBroker({ ...base, clusterId: CLUSTER_ID, port: 70_000 }, ctx)), ErrorCode.INVALID_REQUEST);
    expectFerry(() => h.run((c, ctx) => c.registerBroker({ ...base, clusterId: CLUSTER_ID, brokerId: -2 }, ctx)), ErrorCode.INVALID_REQUEST);
    expect(h.log).toEqual([]);
  });
});

describe('BrokerHeartbeat', () => {
  it('unfences a broker only once it has applied metadata up to its registration', () => {
    const h = new Harness();
    const epoch = h.register(1);
    expect(h.heartbeat(1, { metadataOffset: epoch - 1 })).toMatchObject({ isFenced: true, isCaughtUp: false });
    expect(h.heartbeat(1, { metadataOffset: epoch })).toMatchObject({ isFenced: false, isCaughtUp: true });
    expect(h.image.broker(1)!.fenced).toBe(false);
  });

  it('rejects unregistered brokers', () => {
    const h = new Harness();
    h.epochs.set(7, 1);
    expectFerry(() => h.heartbeat(7), ErrorCode.STALE_BROKER_EPOCH);
  });

  it('wantFence fences and moves leadership', () => {
    const h = new Harness();
    h.startBrokers(3);
    h.createTopic('t', 3, 3);
    const led = h.image.partitionsLedBy(2).map((p) => p.partition);
    expect(h.heartbeat(2, { wantFence: true }).isFenced).toBe(true);
    for (const p of led) expect(h.partition('t', p).leader).not.toBe(2);
  });
});

describe('fencing on session expiry', () => {
  it('moves leadership to an ISR member, bumps leader epochs and shrinks the ISR', () => {
    const h = new Harness();
    h.startBrokers(3);
    h.createTopic('t', 6, 3);
    const before = h.image.partitionsLedBy(1);
    expect(before.length).toBe(2);
    h.advance(1_500, [2, 3]);
    expect(h.image.broker(1)!.fenced).toBe(true);
    for (const { partition, registration: old } of before) {
      const now = h.partition('t', partition);
      expect([2, 3]).toContain(now.leader);
      expect(now.leaderEpoch).toBe(old.leaderEpoch + 1);
      expect(now.isr).not.toContain(1);
    }
    for (let p = 0; p < 6; p++) expect(h.partition('t', p).isr).toEqual(h.partition('t', p).replicas.filter((r) => r !== 1));
    expect(h.image.partitionsLedBy(1)).toEqual([]);
    expect(sameImage(h.replay(), h.image)).toBe(true);
  });

  it('a healthy broker is never fenced and a new controller gives everyone a fresh session', () => {
    const h = new Harness();
    h.startBrokers(2);
    h.advance(5_000, [1, 2]);
    expect(h.image.liveBrokers().map((b) => b.brokerId)).toEqual([1, 2]);
  });

  it('the last ISR member fenced: the partition goes offline (ELR keeps it), and returns with the broker', () => {
    const h = new Harness();
    h.startBrokers(2);
    h.createTopic('solo', 1, 1);
    const owner = h.partition('solo', 0).leader;
    const other = owner === 1 ? 2 : 1;
    h.advance(1_500, [other]);
    expect(h.partition('solo', 0)).toMatchObject({ leader: -1, isr: [], elr: [owner] });
    // Clean return (it keeps everything): re-registers with its previous epoch, unfences, leads again.
    h.register(owner, { previousBrokerEpoch: h.epochs.get(owner)! });
    h.heartbeat(owner);
    expect(h.partition('solo', 0)).toMatchObject({ leader: owner, isr: [owner] });
  });
});

describe('unclean restart', () => {
  it('is not electable until it recovered and its leader re-added it to the ISR', () => {
    const h = new Harness();
    h.startBrokers(3);
    h.createTopic('t', 3, 3);
    h.advance(1_500, [2, 3]); // broker 1 crashes (kill -9) and is fenced
    h.register(1); // no previous epoch: unclean
    expect(h.image.broker(1)).toMatchObject({ fenced: true, recovering: true });
    h.heartbeat(1, { recovering: true });
    expect(h.image.broker(1)!.fenced).toBe(false); // caught up on metadata: serves fetches...
    // ...but is no ISR candidate while recovering.
    const reg = h.partition('t', 0);
    const leader = reg.leader;
    const addOne = () => h.run((c, ctx) => c.alterPartition({
      brokerId: leader, brokerEpoch: h.epochs.get(leader)!,
      topics: [{ topicId: h.image.topicByName('t')!.id, partitions: [{ partition: 0, leaderEpoch: h.partition('t', 0).leaderEpoch, partitionEpoch: h.partition('t', 0).partitionEpoch, newIsr: [...h.partition('t', 0).isr, 1].map((b) => ({ brokerId: b, brokerEpoch: h.epochs.get(b)! })) }] }],
    }, ctx)).results[0]!;
    expect(addOne().error).toBe('INELIGIBLE_REPLICA');
    // Now kill the other two: with broker 1 recovering and outside every ISR, nothing elects it.
    h.heartbeat(1, { recovering: false });
    h.advance(1_500, [1]);
    for (let p = 0; p < 3; p++) expect(h.partition('t', p).leader).toBe(-1);
    expect(h.image.partitionsLedBy(1)).toEqual([]);
  });

  it('once recovered, its leader can add it back, after which it is electable', () => {
    const h = new Harness();
    h.startBrokers(3);
    h.createTopic('t', 1, 3);
    h.advance(1_500, [2, 3]);
    h.register(1);
    h.heartbeat(1, { recovering: false });
    const reg = h.partition('t', 0);
    const res = h.run((c, ctx) => c.alterPartition({
      brokerId: reg.leader, brokerEpoch: h.epochs.get(reg.leader)!,
      topics: [{ topicId: h.image.topicByName('t')!.id, partitions: [{ partition: 0, leaderEpoch: reg.leaderEpoch, partitionEpoch: reg.partitionEpoch, newIsr: [1, 2, 3].map((b) => ({ brokerId: b, brokerEpoch: h.epochs.get(b)! })) }] }],
    }, ctx)).results[0]!;
    expect(res.error).toBe(null);
    expect([...h.partition('t', 0).isr].sort()).toEqual([1, 2, 3]);
    h.advance(1_500, [1]);
    expect(h.partition('t', 0)).toMatchObject({ leader: 1, isr: [1] });
  });
});

describe('whole-cluster crash (every replica restarted uncleanly)', () => {
  it('the partition leads again once all replicas reported their logs: the most complete one, at a new epoch', () => {
    const h = new Harness();
    h.startBrokers(3);
    h.createTopic('t', 1, 3);
    const topicId = h.image.topicByName('t')!.id;
    // Power loss: every broker dies at once; the controller (restarted too) hears from nobody and
    // fences them all, then each registers again without a clean-shutdown epoch.
    h.failover(2);
    h.advance(1_500, []);
    for (const id of [1, 2, 3]) h.register(id);
    for (const id of [1, 2, 3]) h.heartbeat(id);
    const offline = h.partition('t', 0);
    expect(offline).toMatchObject({ leader: -1, isr: [], elr: [] });
    const report = (lastEpoch: number, logEndOffset: number) => [{ topicId, partition: 0, partitionEpoch: offline.partitionEpoch, lastEpoch, logEndOffset }];
    // Two of three reports: still offline (the third might hold more).
    expect(h.heartbeat(1, { leaderlessReplicas: report(0, 40) }).recoveredLeaders).toEqual([]);
    expect(h.heartbeat(2, { leaderlessReplicas: report(0, 55) }).recoveredLeaders).toEqual([]);
    expect(h.partition('t', 0).leader).toBe(-1);
    // A report for an older partition epoch does not count.
    expect(h.heartbeat(3, { leaderlessReplicas: [{ ...report(0, 60)[0]!, partitionEpoch: offline.partitionEpoch - 1 }] }).recoveredLeaders).toEqual([]);
    const res = h.heartbeat(3, { leaderlessReplicas: report(0, 50) });
    expect(res.recoveredLeaders).toEqual([{ topic: 't', partition: 0, leader: 2, leaderEpoch: offline.leaderEpoch + 1, logs: { 1: { lastEpoch: 0, logEndOffset: 40 }, 2: { lastEpoch: 0, logEndOffset: 55 }, 3: { lastEpoch: 0, logEndOffset: 50 } } }]);
    expect(h.partition('t', 0)).toMatchObject({ leader: 2, isr: [2], elr: [], leaderEpoch: offline.leaderEpoch + 1 });
    // Replay of the log gives the same image (the election is an ordinary PartitionChange).
    expect(sameImage(h.replay(), h.image)).toBe(true);
  });

  it('a replica that never comes back keeps the partition offline (no guess without it)', () => {
    const h = new Harness();
    h.startBrokers(3);
    h.createTopic('t', 1, 3);
    const topicId = h.image.topicByName('t')!.id;
    h.failover(2);
    h.advance(1_500, []);
    for (const id of [1, 2]) h.register(id);
    const epoch = () => h.partition('t', 0).partitionEpoch;
    for (let i = 0; i < 5; i++) {
      for (const id of [1, 2]) h.heartbeat(id, { leaderlessReplicas: [{ topicId, partition: 0, partitionEpoch: epoch(), lastEpoch: 0, logEndOffset: 10 }] });
      h.advance(200, []);
    }
    expect(h.partition('t', 0).leader).toBe(-1);
  });
});

describe('controlled shutdown', () => {
  it('moves leadership away first, then tells the broker to stop once it has seen that', () => {
    const h = new Harness();
    h.startBrokers(3);
    h.createTopic('t', 6, 3);
    expect(h.image.partitionsLedBy(2).length).toBe(2);
    const stale = h.offset;
    const first = h.heartbeat(2, { wantShutdown: true, metadataOffset: stale });
    expect(first.shouldShutDown).toBe(false);
    expect(h.image.broker(2)!.inControlledShutdown).toBe(true);
    expect(h.image.partitionsLedBy(2)).toEqual([]);
    for (let p = 0; p < 6; p++) expect(h.partition('t', p).isr).not.toContain(2);
    // Not yet applied the shutdown batch: keep going.
    expect(h.heartbeat(2, { wantShutdown: true, metadataOffset: stale }).shouldShutDown).toBe(false);
    expect(h.heartbeat(2, { wantShutdown: true }).shouldShutDown).toBe(true);
    // It stops; its session lapses; a clean restart keeps its ELR eligibility and it comes back.
    const epoch = h.epochs.get(2)!;
    h.advance(1_500, [1, 3]);
    expect(h.image.broker(2)).toMatchObject({ fenced: true, inControlledShutdown: false });
    h.register(2, { previousBrokerEpoch: epoch });
    expect(h.image.broker(2)!.recovering).toBe(false);
  });

  it('a broker shutting down is not elected and is not a placement target', () => {
    const h = new Harness();
    h.startBrokers(3);
    h.heartbeat(3, { wantShutdown: true });
    const res = h.run((c, ctx) => c.createTopics({ topics: [{ name: 'x', partitions: 1, replicationFactor: 3 }] }, ctx));
    expect(res.topics[0]!.error?.code).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
    h.createTopic('y', 4, 2);
    for (let p = 0; p < 4; p++) expect(h.partition('y', p).replicas).not.toContain(3);
  });
});

describe('tick and deadlines', () => {
  it('writes metadata.version once, and reports when the next session expires', () => {
    const h = new Harness();
    h.tick();
    expect(h.image.feature('metadata.version')).toBe(1);
    const entries = h.log.length;
    h.tick();
    expect(h.log.length).toBe(entries);
    h.startBrokers(1);
    h.now = 100;
    h.heartbeat(1);
    expect(h.controller.nextDeadlineMs()).toBe(Math.min(100 + h.cfg.brokerSessionTimeoutMs + 1, h.cfg.leaderImbalanceCheckIntervalMs));
  });

  it('refuses a request offset that does not follow its image (host bug)', () => {
    const h = new Harness();
    h.register(1);
    expect(() => h.controller.tick({ now: 0, offset: 1 })).toThrow(/offset/);
  });
});
