// Seeded property test: random operations through the controller's handlers (brokers joining,
// crashing, restarting cleanly or not, shutting down, topics created/deleted/grown, configs,
// ISR changes, controller failovers); after each step the controller's image must equal the image
// replayed from the log, and a snapshot taken at a random point plus the tail must equal it too.
// Invariants: leaders are eligible brokers; leader epochs never go back (replay asserts the rest).
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/replication/raft/index.js';
import { decodeImage, encodeImage, MetadataImage, type MetadataImage as Image } from '../../../src/controller/index.js';
import { FerryError } from '../../../src/protocol/errors.js';
import { config, Harness, sameImage } from './helpers.js';

const SEEDS = 150;
const STEPS = 120;
const BROKERS = [1, 2, 3, 4];

function checkInvariants(image: Image, lastEpochs: Map<string, number>): void {
  for (const t of image.topicList()) {
    t.partitions.forEach((p, i) => {
      if (p.leader !== -1) {
        const b = image.broker(p.leader)!;
        expect(b.fenced || b.inControlledShutdown || b.recovering, `leader ${p.leader} of ${t.name}-${i} is not eligible`).toBe(false);
      }
      const key = `${t.id}/${i}`;
      expect(p.leaderEpoch).toBeGreaterThanOrEqual(lastEpochs.get(key) ?? 0);
      lastEpochs.set(key, p.leaderEpoch);
    });
  }
}

function runSeed(seed: number): void {
  const rnd = new SeededRandom(seed);
  const h = new Harness(config({ leaderImbalanceCheckIntervalMs: 300 }), seed);
  const alive = new Set<number>();
  const clean = new Map<number, number>(); // broker → epoch saved at its clean shutdown
  const lastEpochs = new Map<string, number>();
  let topicSeq = 0;
  const topics = () => h.image.topicList();
  const swallow = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof FerryError)) throw err;
    }
  };

  for (let step = 0; step < STEPS; step++) {
    const op = rnd.nextInt(12);
    const id = rnd.pick(BROKERS);
    switch (op) {
      case 0: // (re)start a broker: clean if it shut down cleanly
        h.register(id, { previousBrokerEpoch: clean.get(id) ?? -1 });
        clean.delete(id);
        alive.add(id);
        swallow(() => h.heartbeat(id, { recovering: rnd.chance(0.5) }));
        break;
      case 1: // crash
        alive.delete(id);
        break;
      case 2: // controlled shutdown, completed or not
        if (alive.has(id) && h.image.broker(id)) {
          swallow(() => {
            const r = h.heartbeat(id, { wantShutdown: true });
            if (r.shouldShutDown || rnd.chance(0.5)) {
              const again = h.heartbeat(id, { wantShutdown: true });
              if (again.shouldShutDown) {
                clean.set(id, h.epochs.get(id)!);
                alive.delete(id);
              }
            }
          });
        }
        break;
      case 3:
        h.run((c, ctx) => c.createTopics({ topics: [{ name: `t${topicSeq++}`, partitions: 1 + rnd.nextInt(6), replicationFactor: 1 + rnd.nextInt(3) }] }, ctx));
        break;
      case 4:
        if (topics().length > 0 && rnd.chance(0.3)) h.run((c, ctx) => c.deleteTopics({ names: [rnd.pick(topics()).name] }, ctx));
        break;
      case 5:
        if (topics().length > 0) {
          const t = rnd.pick(topics());
          h.run((c, ctx) => c.createPartitions({ topics: [{ name: t.name, count: t.partitions.length + 1 + rnd.nextInt(3) }] }, ctx));
        }
        break;
      case 6:
        if (topics().length > 0) {
          const t = rnd.pick(topics());
          h.run((c, ctx) => c.alterTopicConfigs({ resources: [{
            topic: t.name,
            set: rnd.chance(0.5) ? { 'unclean.leader.election.enable': String(rnd.chance(0.5)) } : { 'min.insync.replicas': String(1 + rnd.nextInt(2)) },
          }] }, ctx));
        }
        break;
      case 7: // a leader changes its ISR (sometimes with stale epochs)
      case 8: {
        if (topics().length === 0) break;
        const t = rnd.pick(topics());
        const p = rnd.nextInt(t.partitions.length);
        const reg = t.partitions[p]!;
        if (reg.leader === -1 || !alive.has(reg.leader)) break;
        const members = reg.replicas.filter((b) => b === reg.leader || rnd.chance(0.6));
        h.run((c, ctx) => c.alterPartition({
          brokerId: reg.leader, brokerEpoch: h.epochs.get(reg.leader)!,
          topics: [{ topicId: t.id, partitions: [{
            partition: p, leaderEpoch: reg.leaderEpoch - (rnd.chance(0.1) ? 1 : 0), partitionEpoch: reg.partitionEpoch + (rnd.chance(0.1) ? 1 : 0),
            newIsr: members.map((b) => ({ brokerId: b, brokerEpoch: h.epochs.get(b) ?? -1 })),
          }] }],
        }, ctx));
        break;
      }
      case 9:
        if (rnd.chance(0.2)) h.failover(seed * 1000 + step);
        break;
      default:
        h.now += 1 + rnd.nextInt(400);
        for (const b of alive) swallow(() => h.heartbeat(b, { recovering: rnd.chance(0.1) }));
        h.tick();
    }
    checkInvariants(h.image, lastEpochs);
  }
  if (process.env.CONTROLLER_PROPERTY_STATS) {
    const counts = new Map<string, number>();
    for (const b of h.log) for (const r of b.records) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
    console.log(seed, JSON.stringify(Object.fromEntries(counts)));
  }
  expect(sameImage(h.replay(), h.image)).toBe(true);
  const cut = rnd.nextInt(h.log.length + 1);
  const snap = decodeImage(encodeImage(h.replay(MetadataImage.EMPTY, h.log.slice(0, cut))));
  expect(sameImage(h.replay(snap, h.log.slice(cut)), h.image)).toBe(true);
}

describe('controller replay property', () => {
  it(`${SEEDS} seeds × ${STEPS} operations: handlers' image = log replay = snapshot + tail`, () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      try {
        runSeed(seed);
      } catch (err) {
        throw new Error(`seed ${seed}: ${(err as Error).message}`);
      }
    }
  });
});
