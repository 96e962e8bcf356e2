/**
 * Test harness for replicated clusters: N real broker processes on loopback, every one a
 * controller-quorum voter (node ids 1..N), each with its own temp data dir. `ready()` waits until
 * every broker is registered and unfenced, so topics with replication factor N can be created.
 * Timings can be shrunk with `config` (e.g. FAST_CLUSTER_CONFIG) so fault tests take seconds.
 */
import { createServer } from 'node:net';
import { startBroker, type BrokerHandle, type LogLine } from './broker.js';

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

export async function startCluster(size = 3, config: Record<string, string> = {}): Promise<ClusterHandle> {
  const ports = await freePorts(size);
  const voters = ports.map((p, i) => `${i + 1}@127.0.0.1:${p}`).join(',');
  const brokers = await Promise.all(ports.map((port, i) => startBroker({ port, config: { ...config, 'node.id': String(i + 1), 'controller.quorum.voters': voters } })));
  const handle: ClusterHandle = {
    brokers,
    bootstrap: brokers.map((b) => b.bootstrap).join(','),
    broker: (id) => brokers[id - 1]!,
    ready: async (timeoutMs = 20_000) => {
      await until('every running broker unfenced', () => brokers.every((b) => b.proc.exitCode !== null || b.proc.signalCode !== null || lastFenceState(b.logs) === 'unfenced'), timeoutMs);
    },
    cleanup: async () => {
      await Promise.all(brokers.map((b) => b.cleanup()));
    },
  };
  await handle.ready();
  return handle;
}

/** The broker's own view of its fencing, from its latest lifecycle log line. */
export function lastFenceState(logs: readonly LogLine[]): 'fenced' | 'unfenced' | 'unknown' {
  for (let i = logs.length - 1; i >= 0; i--) {
    const msg = logs[i]!.msg;
    if (msg === 'broker unfenced by the controller') return 'unfenced';
    if (msg === 'broker fenced by the controller' || msg === 'broker registered with the controller' || msg === 'starting broker') return 'fenced';
  }
  return 'unknown';
}
