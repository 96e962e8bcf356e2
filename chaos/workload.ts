/**
 * The client side of a chaos run, all in the harness process: acks=all producers (each its own
 * Ferry, so its own connections; keyed and unkeyed; one send() per record, a bounded window of sends
 * in flight, the record's value = its unique id), a consumer group (members commit explicitly and
 * record every delivery), a poller of the group's committed offsets, and the final read.
 */
import { Ferry, partitionForKey, type Consumer, type Producer } from '../src/client/index.js';
import type { HistoryWriter } from './history.js';

export interface WorkloadOptions {
  bootstrap: string[];
  topic: string;
  partitions: number;
  group: string;
  producers: number;
  members: number;
  /** Pause between two sends of one producer, ms (the rate limit). */
  sendIntervalMs: number;
  /** Sends of one producer in flight at most (keyed producers: per partition). */
  window: number;
  /** Idempotent producers (SDK option `idempotent`): a record stored twice is then a violation. */
  idempotent: boolean;
}

function errText(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return `${e.code ?? 'ERROR'}: ${(e.message ?? String(err)).slice(0, 200)}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class ProducerLoop {
  private readonly ferry: Ferry;
  private readonly producer: Producer;
  private running = false;
  private loop: Promise<void> | null = null;
  private inFlight = 0;
  /** Keyed producers: sends in flight per partition (a stuck partition must not stall the others). */
  private readonly inFlightByPartition = new Map<number, number>();
  private seq = 0;
  private readonly settled = new Set<Promise<unknown>>();
  private wake: (() => void) | null = null;

  constructor(
    readonly name: string,
    private readonly keyed: boolean,
    private readonly o: WorkloadOptions,
    private readonly h: HistoryWriter,
  ) {
    this.ferry = new Ferry({ bootstrap: o.bootstrap, clientId: name, requestTimeoutMs: 10_000, connectTimeoutMs: 2_000 });
    this.producer = this.ferry.producer({ acks: 'all', idempotent: o.idempotent, lingerMs: 1, requestTimeoutMs: 5_000, deliveryTimeoutMs: 30_000 });
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let k = 0;
    while (this.running) {
      let key: string | null = null;
      if (this.keyed) {
        // The next key (round robin over 16) whose partition has room; none: wait for a send to settle.
        for (let i = 0; i < 16 && key === null; i++) {
          const cand = `k${(k + i) % 16}`;
          if ((this.inFlightByPartition.get(partitionForKey(cand, this.o.partitions)) ?? 0) < this.o.window) {
            key = cand;
            k = (k + i + 1) % 16;
          }
        }
        if (key === null) {
          await new Promise<void>((r) => (this.wake = r));
          continue;
        }
      } else if (this.inFlight >= this.o.window) {
        await new Promise<void>((r) => (this.wake = r));
        continue;
      }
      this.sendOne(key);
      await sleep(this.o.sendIntervalMs);
    }
  }

  private sendOne(key: string | null): void {
    const id = `${this.name}-${++this.seq}`;
    const partition = key === null ? -1 : partitionForKey(key, this.o.partitions);
    if (partition >= 0) this.inFlightByPartition.set(partition, (this.inFlightByPartition.get(partition) ?? 0) + 1);
    const t0 = Date.now();
    this.h.add({ type: 'send', producer: this.name, id, key });
    this.inFlight++;
    const p = this.producer.send({ topic: this.o.topic, key, value: id }).then(
      (m) => this.h.add({ type: 'ack', producer: this.name, id, partition: m.partition, offset: m.offset, latencyMs: Date.now() - t0 }),
      (err) => this.h.add({ type: 'send-fail', producer: this.name, id, error: errText(err), latencyMs: Date.now() - t0 }),
    );
    this.settled.add(p);
    void p.finally(() => {
      this.settled.delete(p);
      this.inFlight--;
      if (partition >= 0) this.inFlightByPartition.set(partition, this.inFlightByPartition.get(partition)! - 1);
      this.wake?.();
      this.wake = null;
    });
  }

  /** Stops sending; waits for every send in flight to settle (ack or failure). */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await Promise.all([...this.settled]);
    await this.ferry.close().catch(() => undefined);
  }
}

class GroupMember {
  private readonly ferry: Ferry;
  readonly consumer: Consumer;
  private running: Promise<void> | null = null;
  private readonly owned = new Set<number>();
  private readonly lastCommit = new Map<number, { at: number; offset: number }>();
  private closing = false;
  /** Highest delivered offset per partition. */
  readonly delivered = new Map<number, number>();

  constructor(
    readonly name: string,
    private readonly o: WorkloadOptions,
    private readonly h: HistoryWriter,
    private readonly opCounter: { n: number },
  ) {
    this.ferry = new Ferry({ bootstrap: o.bootstrap, clientId: name, requestTimeoutMs: 10_000, connectTimeoutMs: 2_000 });
    this.consumer = this.ferry.consumer({ groupId: o.group, enableAutoCommit: false, autoOffsetReset: 'earliest', fetchMaxWaitMs: 200, sessionTimeoutMs: 8_000 });
    this.consumer.on('assigned', (parts) => {
      for (const p of parts) this.owned.add(p.partition);
      this.h.add({ type: 'assigned', member: name, partitions: parts.map((p) => p.partition) });
    });
    this.consumer.on('revoked', (parts, info) => {
      for (const p of parts) this.owned.delete(p.partition);
      this.h.add({ type: 'revoked', member: name, partitions: parts.map((p) => p.partition), lost: info.lost });
    });
    this.consumer.subscribe({ topics: [o.topic] });
  }

  start(): void {
    this.running = this.consumer.run({
      eachMessage: async (r) => {
        const id = r.value?.toString() ?? '';
        this.h.add({ type: 'deliver', member: this.name, partition: r.partition, offset: r.offset, id });
        this.delivered.set(r.partition, Math.max(this.delivered.get(r.partition) ?? -1, r.offset));
        const last = this.lastCommit.get(r.partition);
        const now = Date.now();
        // Commit every 25 records or 500 ms per partition, awaited (so commits of a member are ordered).
        if (!last || r.offset + 1 - last.offset >= 25 || now - last.at >= 500) await this.commit(r.partition, r.offset + 1);
      },
    });
    this.running.catch((err) => this.h.add({ type: 'note', text: `member ${this.name} run() ended: ${errText(err)}` }));
  }

  async commit(partition: number, offset: number): Promise<void> {
    const op = ++this.opCounter.n;
    this.lastCommit.set(partition, { at: Date.now(), offset });
    this.h.add({ type: 'commit', member: this.name, partition, offset, op });
    try {
      await this.consumer.commit([{ topic: this.o.topic, partition, offset }]);
      this.h.add({ type: 'commit-ok', member: this.name, partition, offset, op });
    } catch (err) {
      this.h.add({ type: 'commit-fail', member: this.name, partition, offset, op, error: errText(err) });
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.consumer.close().catch(() => undefined);
    await this.running?.catch(() => undefined);
    await this.ferry.close().catch(() => undefined);
  }

  get isClosing(): boolean {
    return this.closing;
  }
}

export class Workload {
  private readonly producers: ProducerLoop[] = [];
  private readonly members: GroupMember[] = [];
  private readonly admin: Ferry;
  private polling = false;
  private poller: Promise<void> | null = null;
  private readonly ops = { n: 0 };

  constructor(
    private readonly o: WorkloadOptions,
    private readonly h: HistoryWriter,
  ) {
    this.admin = new Ferry({ bootstrap: o.bootstrap, clientId: 'chaos-admin', requestTimeoutMs: 5_000, connectTimeoutMs: 2_000 });
  }

  async createTopic(replicationFactor: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await this.admin.admin().createTopics([{ name: this.o.topic, partitions: this.o.partitions, replicationFactor }]);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(500);
      }
    }
  }

  start(): void {
    for (let i = 1; i <= this.o.producers; i++) {
      const p = new ProducerLoop(`p${i}`, i % 2 === 1, this.o, this.h);
      this.producers.push(p);
      p.start();
    }
    for (let i = 1; i <= this.o.members; i++) {
      const m = new GroupMember(`m${i}`, this.o, this.h, this.ops);
      this.members.push(m);
      m.start();
    }
    this.polling = true;
    this.poller = (async () => {
      while (this.polling) {
        const invokedT = this.h.now();
        try {
          const c = await this.admin.admin().fetchCommitted(this.o.group);
          this.h.add({ type: 'committed', invokedT, offsets: c.filter((x) => x.topic === this.o.topic).map((x) => [x.partition, x.offset]) });
        } catch {
          /* unavailable: nothing observed */
        }
        await sleep(1000);
      }
    })();
  }

  async stopProducers(): Promise<void> {
    await Promise.all(this.producers.map((p) => p.stop()));
  }

  /** Waits until the group delivered everything below each partition's high watermark (or times out). */
  async waitGroupCaughtUp(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const ends = await this.admin.admin().listOffsets(this.o.topic, undefined, 'latest');
        const done = ends.every((e) => e.offset === 0 || this.members.some((m) => (m.delivered.get(e.partition) ?? -1) >= e.offset - 1));
        if (done) return true;
      } catch {
        /* retry */
      }
      await sleep(500);
    }
    return false;
  }

  async stopGroup(): Promise<void> {
    this.polling = false;
    await this.poller;
    // One last poll of the committed offsets, then the members leave.
    const invokedT = this.h.now();
    try {
      const c = await this.admin.admin().fetchCommitted(this.o.group);
      this.h.add({ type: 'committed', invokedT, offsets: c.filter((x) => x.topic === this.o.topic).map((x) => [x.partition, x.offset]) });
    } catch {
      /* nothing observed */
    }
    await Promise.all(this.members.map((m) => m.close()));
  }

  /**
   * Waits until every partition's ISR holds all its replicas (followers caught up, divergent tails
   * truncated), up to `timeoutMs`; records the last view either way. True if it got there.
   */
  async waitIsrFull(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let last: Array<{ partition: number; leader: number; replicas: number[]; isr: number[] }> = [];
    for (;;) {
      try {
        const [d] = await this.admin.admin().describeTopics([this.o.topic]);
        last = (d?.partitions ?? []).map((p) => ({ partition: p.partition, leader: p.leaderId, replicas: [...p.replicas], isr: [...p.isr] }));
      } catch {
        /* retry */
      }
      const full = last.length === this.o.partitions && last.every((p) => p.leader >= 0 && p.replicas.every((r) => p.isr.includes(r)));
      if (full || Date.now() > deadline) {
        this.h.add({ type: 'isr', partitions: last, full });
        return full;
      }
      await sleep(500);
    }
  }

  /** Reads every partition from its log start to its high watermark into the history. */
  async finalRead(timeoutMs: number): Promise<void> {
    const admin = this.admin.admin();
    const starts = await admin.listOffsets(this.o.topic, undefined, 'earliest');
    const ends = await admin.listOffsets(this.o.topic, undefined, 'latest');
    const reader = new Ferry({ bootstrap: this.o.bootstrap, clientId: 'chaos-final-read', requestTimeoutMs: 10_000 });
    try {
      for (let p = 0; p < this.o.partitions; p++) {
        const logStart = starts.find((s) => s.partition === p)?.offset ?? 0;
        const end = ends.find((s) => s.partition === p)?.offset ?? 0;
        const ids: Array<string | null> = new Array(Math.max(0, end - logStart)).fill(null);
        if (end > logStart) {
          const c = reader.consumer({ autoOffsetReset: 'earliest', fetchMaxWaitMs: 100 });
          c.assign([{ topic: this.o.topic, partition: p, offset: logStart }]);
          const deadline = Date.now() + timeoutMs;
          const it = c[Symbol.asyncIterator]();
          let timer: NodeJS.Timeout | undefined;
          try {
            for (;;) {
              const left = deadline - Date.now();
              if (left <= 0) throw new Error(`final read of partition ${p} timed out`);
              const next = await Promise.race([it.next(), new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), left)))]);
              clearTimeout(timer);
              if (next === 'timeout') throw new Error(`final read of partition ${p} timed out`);
              if (next.done) break;
              const r = next.value;
              if (r.offset >= end) break;
              ids[r.offset - logStart] = r.value?.toString() ?? '';
              if (r.offset === end - 1) break;
            }
          } finally {
            await c.close().catch(() => undefined);
          }
        }
        this.h.add({ type: 'final', partition: p, logStart, end, ids });
      }
    } finally {
      await reader.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.polling = false;
    await Promise.all(this.producers.map((p) => p.stop().catch(() => undefined)));
    await Promise.all(this.members.filter((m) => !m.isClosing).map((m) => m.close()));
    await this.admin.close().catch(() => undefined);
  }
}
