// A controller with a fake metadata log: every non-empty result becomes one batch at the next
// offset (as Raft would number it), so tests can replay the log and compare images.
import { SeededRandom } from '../../../src/replication/raft/index.js';
import {
  applyBatch, DEFAULT_CONTROLLER_CONFIG, encodeImage, MetadataImage, QuorumController,
  type ControllerConfig, type ControllerResult, type LeaderlessReplicaReport, type MetadataRecord, type RequestContext,
} from '../../../src/controller/index.js';

export const CLUSTER_ID = 'test-cluster';

export function config(over: Partial<ControllerConfig> = {}): ControllerConfig {
  return { ...DEFAULT_CONTROLLER_CONFIG, clusterId: CLUSTER_ID, brokerSessionTimeoutMs: 1_000, leaderImbalanceCheckIntervalMs: 500, ...over };
}

export interface Batch {
  offset: number;
  records: MetadataRecord[];
}

export class Harness {
  now = 0;
  readonly log: Batch[] = [];
  controller: QuorumController;
  private nextOffset = 1;
  private incarnations = 0;
  readonly epochs = new Map<number, number>();

  constructor(readonly cfg: ControllerConfig = config(), readonly seed = 1) {
    this.controller = new QuorumController({ config: cfg, random: new SeededRandom(seed), image: MetadataImage.EMPTY, now: 0 });
  }

  /** A new active controller takes over from the committed log (sessions start fresh). */
  failover(seed: number): void {
    this.controller = new QuorumController({ config: this.cfg, random: new SeededRandom(seed), image: this.replay(), now: this.now });
  }

  get image(): MetadataImage {
    return this.controller.image;
  }

  ctx(): RequestContext {
    return { now: this.now, offset: this.nextOffset };
  }

  /** Runs a handler; a non-empty result is "committed" at the next offset. */
  run<R>(fn: (c: QuorumController, ctx: RequestContext) => ControllerResult<R>): R {
    const ctx = this.ctx();
    const result = fn(this.controller, ctx);
    if (result.records.length > 0) {
      this.log.push({ offset: ctx.offset, records: result.records });
      this.nextOffset++;
    }
    return result.response;
  }

  /** Metadata offset a broker that applied everything reports. */
  get offset(): number {
    return this.nextOffset - 1;
  }

  register(id: number, opts: { previousBrokerEpoch?: number; incarnationId?: string } = {}): number {
    const incarnationId = opts.incarnationId ?? `inc-${id}-${++this.incarnations}`;
    const { brokerEpoch } = this.run((c, ctx) => c.registerBroker({
      brokerId: id, clusterId: CLUSTER_ID, incarnationId, host: '127.0.0.1', port: 9000 + id, previousBrokerEpoch: opts.previousBrokerEpoch ?? -1,
    }, ctx));
    this.epochs.set(id, brokerEpoch);
    return brokerEpoch;
  }

  heartbeat(id: number, opts: { wantShutdown?: boolean; wantFence?: boolean; recovering?: boolean; metadataOffset?: number; leaderlessReplicas?: LeaderlessReplicaReport[] } = {}) {
    return this.run((c, ctx) => c.brokerHeartbeat({
      brokerId: id, brokerEpoch: this.epochs.get(id)!, metadataOffset: opts.metadataOffset ?? this.offset,
      wantFence: opts.wantFence ?? false, wantShutdown: opts.wantShutdown ?? false, recovering: opts.recovering ?? false,
      ...(opts.leaderlessReplicas ? { leaderlessReplicas: opts.leaderlessReplicas } : {}),
    }, ctx));
  }

  /** Registers and unfences brokers 1..n. */
  startBrokers(n: number): void {
    for (let id = 1; id <= n; id++) this.register(id);
    for (let id = 1; id <= n; id++) this.heartbeat(id);
  }

  tick() {
    return this.run((c, ctx) => c.tick(ctx));
  }

  /** Heartbeats from `alive` brokers every `stepMs` until `ms` passed, ticking the controller. */
  advance(ms: number, alive: number[], stepMs = 100): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + stepMs);
      for (const id of alive) this.heartbeat(id);
      this.tick();
    }
  }

  createTopic(name: string, partitions: number, replicationFactor: number, configs: Record<string, string> = {}) {
    const res = this.run((c, ctx) => c.createTopics({ topics: [{ name, partitions, replicationFactor, configs }] }, ctx));
    const t = res.topics[0]!;
    if (t.error) throw t.error;
    return t;
  }

  /** The image rebuilt from the log alone. */
  replay(from: MetadataImage = MetadataImage.EMPTY, batches: readonly Batch[] = this.log): MetadataImage {
    let image = from;
    for (const b of batches) if (b.offset > image.offset) image = applyBatch(image, b.offset, b.records);
    return image;
  }

  partition(topic: string, p: number) {
    return this.image.partition(topic, p)!;
  }
}

export function sameImage(a: MetadataImage, b: MetadataImage): boolean {
  return Buffer.from(encodeImage(a)).equals(Buffer.from(encodeImage(b)));
}
