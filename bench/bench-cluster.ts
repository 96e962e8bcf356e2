/**
 * The brokers a bench run owns when no --bootstrap is given: one single node, or with --brokers N a
 * cluster of N processes on this machine, every one a controller-quorum voter (node ids 1..N), all
 * with default configs except flush.mode. Ready once every broker is registered and unfenced (the
 * metadata lists N live brokers), so topics with replication factor N can be created.
 */
import { Ferry } from '../src/client/index.js';
import { BrokerProcess, type FlushMode } from './broker-process.js';
import { freePort } from './free-port.js';

const CLUSTER_READY_TIMEOUT_MS = 60_000;

export class BenchCluster {
  private constructor(readonly brokers: BrokerProcess[]) {}

  get bootstrap(): string {
    return this.brokers.map((b) => b.bootstrap).join(',');
  }

  static async start(size: number, flushMode: FlushMode): Promise<BenchCluster> {
    if (size === 1) return new BenchCluster([await BrokerProcess.start(flushMode)]);
    const ports: number[] = [];
    for (let i = 0; i < size; i++) ports.push(await freePort());
    const voters = ports.map((p, i) => `${i + 1}@127.0.0.1:${p}`).join(',');
    const brokers = await Promise.all(ports.map((port, i) => BrokerProcess.start(flushMode, { nodeId: i + 1, port, voters })));
    const cluster = new BenchCluster(brokers);
    await cluster.waitLiveBrokers(size);
    return cluster;
  }

  /** The broker with node id `id` (1-based; a single node is id 1). */
  broker(id: number): BrokerProcess {
    return this.brokers[id - 1]!;
  }

  /** Waits until the metadata lists `n` live (unfenced) brokers. */
  async waitLiveBrokers(n: number, timeoutMs = CLUSTER_READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const ferry = new Ferry({ bootstrap: this.bootstrap.split(','), clientId: 'bench-cluster-probe', requestTimeoutMs: 2_000 });
    try {
      for (;;) {
        const live = await ferry.admin().metadata().then((m) => m.brokers.length, () => 0);
        if (live >= n) return;
        if (Date.now() > deadline) throw new Error(`only ${live} of ${n} brokers live after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await ferry.close().catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.brokers.map((b) => b.stop()));
  }
}
