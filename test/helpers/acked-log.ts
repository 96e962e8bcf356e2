/**
 * Checks for "no acknowledged record lost" tests: read a topic back from offset 0 with the SDK and
 * compare it with what producers were told (partition, offset per acknowledged record).
 */
import { expect } from 'vitest';
import type { Ferry, Producer } from '../../src/client/index.js';

export interface Acked {
  seq: number;
  partition: number;
  offset: number;
  value: string;
}

/** Reads every partition of `topic` from offset 0 up to its current end (ListOffsets latest). */
export async function readAll(f: Ferry, topic: string, partitions: number): Promise<Map<number, Map<number, string>>> {
  const ends = await f.admin().listOffsets(topic, undefined, 'latest');
  const byPartition = new Map<number, Map<number, string>>();
  for (let p = 0; p < partitions; p++) byPartition.set(p, new Map());
  const remaining = new Map(ends.filter((e) => e.offset > 0).map((e) => [e.partition, e.offset]));
  if (remaining.size === 0) return byPartition;
  const consumer = f.consumer({ autoOffsetReset: 'earliest', fetchMaxWaitMs: 100 });
  consumer.assign([...remaining.keys()].map((partition) => ({ topic, partition, offset: 0 })));
  const timer = setTimeout(() => void consumer.close(), 20_000);
  try {
    for await (const r of consumer) {
      const m = byPartition.get(r.partition)!;
      expect(m.has(r.offset), `offset ${r.offset} of partition ${r.partition} delivered twice`).toBe(false);
      m.set(r.offset, r.value!.toString());
      if (r.offset + 1 >= remaining.get(r.partition)!) remaining.delete(r.partition);
      if (remaining.size === 0) break;
    }
  } finally {
    clearTimeout(timer);
    await consumer.close();
  }
  expect([...remaining.keys()], 'partitions not read to their end (consumer timed out)').toEqual([]);
  return byPartition;
}

/** Every acked record at its acked offset; acked offsets grow in send order per partition; no offset acked twice. */
export function checkAcked(acked: readonly Acked[], log: Map<number, Map<number, string>>): void {
  const byOffset = new Map<string, string>();
  const lastOffset = new Map<number, { seq: number; offset: number }>();
  for (const a of [...acked].sort((x, y) => x.seq - y.seq)) {
    const key = `${a.partition}:${a.offset}`;
    const other = byOffset.get(key);
    expect(other, `offset ${key} acknowledged for two records`).toBeUndefined();
    byOffset.set(key, a.value);
    expect(log.get(a.partition)!.get(a.offset), `acked record ${a.value} at ${key}`).toBe(a.value);
    const prev = lastOffset.get(a.partition);
    if (prev) expect(a.offset, `partition ${a.partition}: seq ${a.seq} acked at ${a.offset} after seq ${prev.seq} at ${prev.offset}`).toBeGreaterThan(prev.offset);
    lastOffset.set(a.partition, { seq: a.seq, offset: a.offset });
  }
}

export interface Load {
  readonly acked: Acked[];
  readonly failed: Array<{ seq: number; partition: number; err: string }>;
  /** Per acknowledged record: when it was sent and when its ack arrived (Date.now()). */
  readonly ackTimes: Array<{ seq: number; partition: number; sentAt: number; ackedAt: number }>;
  /** Records sent so far. */
  readonly sent: number;
  /** Stops sending and waits until every send settled. */
  stop(): Promise<void>;
}

/**
 * Keeps `producer` sending to partitions 0..partitions-1 in turn (value `v-<seq>`), at most
 * `maxOutstanding` unsettled sends at a time, until stop().
 */
export function startLoad(producer: Producer, topic: string, partitions: number, maxOutstanding = 60): Load {
  const acked: Acked[] = [];
  const failed: Load['failed'] = [];
  const ackTimes: Load['ackTimes'] = [];
  let stopped = false;
  let seq = 0;
  const loop = (async () => {
    const outstanding = new Set<Promise<void>>();
    while (!stopped) {
      const s = seq++;
      const partition = s % partitions;
      const value = `v-${s}`;
      const sentAt = Date.now();
      const pr = producer.send({ topic, partition, value }).then(
        (m) => {
          acked.push({ seq: s, partition: m.partition, offset: m.offset, value });
          ackTimes.push({ seq: s, partition: m.partition, sentAt, ackedAt: Date.now() });
        },
        (err: Error) => void failed.push({ seq: s, partition, err: err.message }),
      );
      outstanding.add(pr);
      void pr.finally(() => outstanding.delete(pr));
      if (outstanding.size >= maxOutstanding) await Promise.race(outstanding);
      if (s % 20 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(outstanding);
  })();
  return {
    acked,
    failed,
    ackTimes,
    get sent() {
      return seq;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** When partition `partition` first acknowledged a record sent after `afterMs`, or undefined. */
export function firstAckSentAfter(load: Load, partition: number, afterMs: number): number | undefined {
  let first: number | undefined;
  for (const t of load.ackTimes) if (t.partition === partition && t.sentAt > afterMs && (first === undefined || t.ackedAt < first)) first = t.ackedAt;
  return first;
}

/** Sends `n` records to every partition (acks=all by default); returns what was acknowledged. */
export async function produceAll(f: Ferry, topic: string, partitions: number, n: number, tag: string, acks: 1 | 'all' = 'all'): Promise<Array<{ partition: number; offset: number; value: string }>> {
  const producer = f.producer({ acks, lingerMs: 1, requestTimeoutMs: 5_000, deliveryTimeoutMs: 20_000, retryBackoffMs: 50, retryBackoffMaxMs: 200 });
  try {
    const sends = [];
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < partitions; p++) {
        const value = `${tag}-${p}-${i}`;
        sends.push(producer.send({ topic, partition: p, value }).then((m) => ({ partition: m.partition, offset: m.offset, value })));
      }
    }
    return await Promise.all(sends);
  } finally {
    await producer.close();
  }
}
