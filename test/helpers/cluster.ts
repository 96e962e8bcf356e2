/**
 * Test harness for replicated clusters: N real broker processes on loopback, every one a
 * controller-quorum voter (node ids 1..N), each with its own temp data dir. `ready()` waits until
 * every broker is registered and unfenced, so topics with replication factor N can be created.
 * Timings can be shrunk with `config` (e.g. FAST_CLUSTER_CONFIG) so fault tests take seconds.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { Ferry } from '../../src/client/index.js';
import { startBroker, type BrokerHandle, type LogLine } from './broker.js';
import { errorCodeOf, rawClients, type RawClients } from './grpc.js';

/** Faster elections and failure detection than the defaults, for tests. */
export const FAST_CLUSTER_CONFIG: Readonly<Record<string, string>> = Object.freeze({
  'controller.quorum.election.timeout.ms': '300',
  'controller.quorum.request.timeout.ms': '100',
  'broker.session.timeout.ms': '1500',
  'broker.heartbeat.interval.ms': '200',
  'replica.fetch.backoff.ms': '100',
});

export interface ClusterHandle {
  readonly brokers: BrokerHandle[];
  /** Comma-separated bootstrap list of every broker. */
  readonly bootstrap: string;
  /** The broker with node id `id` (1-based). */
  broker(id: number): BrokerHandle;
  /** The node id of a broker of this cluster. */
  idOf(broker: BrokerHandle): number;
  /** Brokers whose process is running now. */
  running(): BrokerHandle[];
  /** Raw gRPC clients to broker `id` (cached; closed by cleanup). */
  raw(id: number): RawClients;
  /** Resolves once every running broker is unfenced (after the given log marks, if any). */
  ready(timeoutMs?: number): Promise<void>;
  cleanup(): Promise<void>;
}

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export function hasLog(logs: readonly LogLine[], msg: string, match: (l: LogLine) => boolean = () => true): boolean {
  return logs.some((l) => l.msg === msg && match(l));
}

/** Attempts at finding free ports: another test may bind a port between freePorts and the broker. */
const PORT_ATTEMPTS = 3;

async function startBrokers(size: number, config: Record<string, string>): Promise<BrokerHandle[]> {
  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(size);
    const voters = ports.map((p, i) => `${i + 1}@127.0.0.1:${p}`).join(',');
    const started = await Promise.allSettled(ports.map((port, i) => startBroker({ port, config: { ...config, 'node.id': String(i + 1), 'controller.quorum.voters': voters } })));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (!failed) return started.map((r) => (r as PromiseFulfilledResult<BrokerHandle>).value);
    await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.cleanup() : undefined)));
    const portTaken = /EADDRINUSE|address already in use/i.test(String((failed.reason as Error)?.message ?? failed.reason));
    if (!portTaken || attempt >= PORT_ATTEMPTS) throw failed.reason;
  }
}

export async function startCluster(size = 3, config: Record<string, string> = {}): Promise<ClusterHandle> {
  const brokers = await startBrokers(size, config);
  const raws = new Map<number, RawClients>();
  const handle: ClusterHandle = {
    brokers,
    bootstrap: brokers.map((b) => b.bootstrap).join(','),
    broker: (id) => brokers[id - 1]!,
    idOf: (b) => {
      const i = brokers.indexOf(b);
      if (i < 0) throw new Error('not a broker of this cluster');
      return i + 1;
    },
    running: () => brokers.filter(isRunning),
    raw: (id) => {
      let r = raws.get(id);
      if (!r) raws.set(id, (r = rawClients(brokers[id - 1]!.bootstrap)));
      return r;
    },
    ready: async (timeoutMs = 20_000) => {
      await until('every running broker unfenced', () => brokers.every((b) => !isRunning(b) || lastFenceState(b.logs) === 'unfenced'), timeoutMs);
    },
    cleanup: async () => {
      for (const r of raws.values()) r.close();
      raws.clear();
      await Promise.all(brokers.map((b) => b.cleanup()));
    },
  };
  await handle.ready();
  return handle;
}

/** The broker's own view of its fencing, from its latest lifecycle log line. */
/**
 * For test files that start a cluster in each test: returns `setUp(config, size)`, which starts one
 * (FAST_CLUSTER_CONFIG plus `config`) with an SDK client, and installs an afterEach that prints the
 * cluster's logs when the test failed (or DUMP_CLUSTER_LOGS is set), then closes both.
 */
export function clusterPerTest(): (config?: Record<string, string>, size?: number) => Promise<{ cluster: ClusterHandle; ferry: Ferry }> {
  let cluster: ClusterHandle | undefined;
  let ferry: Ferry | undefined;
  afterEach(async (ctx) => {
    if (cluster && (ctx.task.result?.state === 'fail' || process.env.DUMP_CLUSTER_LOGS)) console.log(`cluster logs: ${dumpClusterLogs(cluster, ctx.task.name)}`);
    await ferry?.close();
    ferry = undefined;
    await cluster?.cleanup();
    cluster = undefined;
  });
  return async (config = {}, size = 3) => {
    cluster = await startCluster(size, { ...FAST_CLUSTER_CONFIG, ...config });
    ferry = new Ferry({ bootstrap: cluster.bootstrap, requestTimeoutMs: 5_000 });
    return { cluster, ferry };
  };
}

export function lastFenceState(logs: readonly LogLine[]): 'fenced' | 'unfenced' | 'unknown' {
  for (let i = logs.length - 1; i >= 0; i--) {
    const msg = logs[i]!.msg;
    if (msg === 'broker unfenced by the controller') return 'unfenced';
    if (msg === 'broker fenced by the controller' || msg === 'broker registered with the controller' || msg === 'starting broker') return 'fenced';
  }
  return 'unknown';
}

export function isRunning(b: BrokerHandle): boolean {
  return b.proc.exitCode === null && b.proc.signalCode === null;
}

/** When a broker wrote a log line (pino's ISO `time`), ms since the epoch. */
export function logTime(l: LogLine): number {
  return typeof l.time === 'string' ? Date.parse(l.time) : typeof l.time === 'number' ? l.time : NaN;
}

/** The last line with message `msg` (matching `match`) written at or after `sinceMs`, if any. */
export function lastLog(logs: readonly LogLine[], msg: string, sinceMs = 0, match: (l: LogLine) => boolean = () => true): LogLine | undefined {
  for (let i = logs.length - 1; i >= 0; i--) {
    const l = logs[i]!;
    if (l.msg === msg && logTime(l) >= sinceMs && match(l)) return l;
  }
  return undefined;
}

/**
 * The active controller as the brokers' logs tell it: the running broker whose latest
 * 'controller: activated' is the most recent one and was not followed by 'controller: deactivated'.
 */
export function activeControllerId(cluster: ClusterHandle): number | undefined {
  let best: { id: number; at: number } | undefined;
  for (const b of cluster.running()) {
    let at = -1;
    for (let i = b.logs.length - 1; i >= 0; i--) {
      const msg = b.logs[i]!.msg;
      if (msg === 'controller: deactivated') break;
      if (msg === 'controller: activated') {
        at = logTime(b.logs[i]!);
        break;
      }
      if (msg === 'starting broker') break;
    }
    if (at >= 0 && (!best || at > best.at)) best = { id: cluster.idOf(b), at };
  }
  return best?.id;
}

/** One partition as DescribeTopics on one broker reports it (offsets are that broker's replica's). */
export interface PartitionView {
  partition: number;
  leaderId: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  logStartOffset: number;
  highWatermark: number;
  logEndOffset: number;
}

/** DescribeTopics of `topic` on broker `id` (raw gRPC, no retries). */
export async function describeOn(cluster: ClusterHandle, id: number, topic: string): Promise<PartitionView[]> {
  const res = await cluster.raw(id).call<{ topics: Array<{ error: unknown; partitions: Array<Record<string, unknown>> }> }>('admin', 'DescribeTopics', { names: [topic] });
  const t = res.topics[0];
  if (!t || t.error) throw new Error(`DescribeTopics ${topic} on broker ${id}: ${JSON.stringify(t?.error)}`);
  return t.partitions.map((p) => ({
    partition: Number(p.partition),
    leaderId: Number(p.leaderId),
    leaderEpoch: Number(p.leaderEpoch),
    replicas: (p.replicas as number[]).map(Number),
    isr: (p.isr as number[]).map(Number),
    logStartOffset: Number(p.logStartOffset),
    highWatermark: Number(p.highWatermark),
    logEndOffset: Number(p.logEndOffset),
  }));
}

/** Polls DescribeTopics on the running brokers until `ok` holds for partition `partition` on broker `id`. */
export async function waitForPartition(cluster: ClusterHandle, id: number, topic: string, partition: number, what: string, ok: (p: PartitionView) => boolean, timeoutMs = 20_000): Promise<PartitionView> {
  let last: PartitionView | undefined;
  try {
    return await until(what, async () => {
      try {
        last = (await describeOn(cluster, id, topic))[partition];
      } catch {
        return undefined;
      }
      return last && ok(last) ? last : undefined;
    }, timeoutMs, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen on broker ${id}: ${JSON.stringify(last)}`);
  }
}

export interface RawProduceOutcome {
  /** null on success. */
  errorCode: string | null;
  baseOffset: number;
  /** Whole-request failure (gRPC status) rather than a per-partition error. */
  requestFailed: boolean;
}

/** One acks=all (by default) Produce of simple records to one partition on broker `id`, raw gRPC. */
export async function rawProduce(cluster: ClusterHandle, id: number, topic: string, partition: number, values: string[], opts: { acks?: number; timeoutMs?: number } = {}): Promise<RawProduceOutcome> {
  const req = {
    acks: opts.acks ?? -1,
    timeoutMs: opts.timeoutMs ?? 5_000,
    topics: [{ topic, partitions: [{ partition, records: values.map((v) => ({ value: Buffer.from(v), timestamp: Date.now() })) }] }],
  };
  try {
    const res = await cluster.raw(id).call<{ topics: Array<{ partitions: Array<{ error?: { code?: string } | null; baseOffset: number | string }> }> }>('produce', 'Produce', req);
    const p = res.topics[0]!.partitions[0]!;
    return { errorCode: p.error?.code ?? null, baseOffset: Number(p.baseOffset), requestFailed: false };
  } catch (err) {
    return { errorCode: errorCodeOf(err) ?? `GRPC_${(err as { code?: number }).code}`, baseOffset: -1, requestFailed: true };
  }
}

/**
 * rawProduce, retried while the partition's leadership is still settling (a topic just created:
 * the leader may not have applied the image yet) — NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE,
 * UNKNOWN_TOPIC_OR_PARTITION. Any other outcome is returned as is.
 */
export async function rawProduceWhenLeading(cluster: ClusterHandle, id: number, topic: string, partition: number, values: string[], opts: { acks?: number; timeoutMs?: number } = {}, waitMs = 10_000): Promise<RawProduceOutcome> {
  const settling = new Set(['NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION']);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const out = await rawProduce(cluster, id, topic, partition, values, opts);
    if (out.errorCode === null || !settling.has(out.errorCode) || Date.now() > deadline) return out;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Writes every broker's log lines (tagged with the node id, sorted by time) to a file in the temp
 * dir and returns its path: call it when a test fails, before cleanup removes the brokers.
 */
export function dumpClusterLogs(cluster: ClusterHandle, name: string): string {
  const lines = cluster.brokers.flatMap((b, i) => b.logs.map((l) => ({ node: i + 1, ...l })));
  lines.sort((a, b) => logTime(a) - logTime(b));
  const path = join(tmpdir(), `ferry-cluster-${name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)}-${Date.now()}.jsonl`);
  writeFileSync(path, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return path;
}

/**
 * Waits until every running broker has a local log for every partition of `topics` it is a replica
 * of (its replica manager has applied the topics' creation), e.g. __consumer_offsets, which the
 * cluster creates in the background after start-up.
 */
export async function waitForReplicas(cluster: ClusterHandle, topics: readonly string[], timeoutMs = 15_000): Promise<void> {
  for (const b of cluster.running()) {
    const id = cluster.idOf(b);
    for (const topic of topics) {
      await until(`broker ${id} holds its replicas of ${topic}`, async () => {
        try {
          const parts = await describeOn(cluster, id, topic);
          return parts.length > 0 && parts.every((p) => !p.replicas.includes(id) || p.logEndOffset >= 0);
        } catch {
          return false;
        }
      }, timeoutMs, 100);
    }
  }
}
