/**
 * Ferry through its own SDK (src/client), driven exactly like the peers. Server: `node
 * dist/cmd/ferry.js broker` on 127.0.0.1:<free port> with a temp data dir and `--flush-mode always`
 * (fsync before the ack, group commit) or `os` (written to the OS, never fsynced by the broker).
 * One target is one topic with `--partitions` partitions; producers use `sendBatch()` per chunk
 * (`send()` per value when paced, see openProducer) with acks=all (the same as acks=1 on one node, and what the cluster runs will use) and
 * idempotence (so each partition pipelines up to 5 requests: src/client/record-accumulator.ts), the consumer
 * assigns every partition from the earliest offset and reads batch by batch (`eachBatch`), with the
 * fetch sizes the Ferry bench measured fastest (bench/topic-reader.ts).
 *
 * `ferryRf3`: the same driven against a 3-broker cluster on this machine (every broker a controller
 * voter), topics with replication factor 3, acks=all (min.insync.replicas 2): an ack means the
 * batch is on all three replicas (fsynced on each with flush.mode=always). The three brokers run
 * under one `sh` so the report's server CPU (the process tree) is all three together.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ferry } from '../../src/client/index.js';
import { freePort, makeServerDir, ServerProcess } from './servers.js';
import type { ClientConfig, PeerAdmin, PeerConsumer, PeerProducer, PeerSystem, ServerHandle, ValuesSink } from './types.js';

const FERRY_CLI = fileURLToPath(new URL('../../cmd/ferry.js', import.meta.url));
/** Fetch size as in bench/topic-reader.ts; the per-partition limit is the SDK's default. */
const FETCH_MAX_BYTES = 64 * 2 ** 20;

function client(endpoint: string, id: string): Ferry {
  return new Ferry({ bootstrap: endpoint.split(','), clientId: `ferry-peer-bench-${id}` });
}

export const ferry: PeerSystem = {
  name: 'ferry',
  clientPackage: 'ferry SDK (src/client)',

  durability(mode) {
    return mode === 'fsync'
      ? { supported: true, setting: 'flush.mode=always', description: 'flush.mode=always: fsync before the ack (group commit), acks=all' }
      : { supported: true, setting: 'flush.mode=os', description: 'flush.mode=os: written to the OS before the ack, fsync left to the OS, acks=all' };
  },

  async startServer(mode, opts): Promise<ServerHandle> {
    const dir = await makeServerDir('ferry');
    const port = await freePort();
    const endpoint = `127.0.0.1:${port}`;
    const flushMode = mode === 'fsync' ? 'always' : 'os';
    return ServerProcess.start(
      {
        name: 'ferry',
        command: process.execPath,
        args: [...(opts.nodeArgs ?? []), FERRY_CLI, 'broker', '--data-dir', join(dir, 'data'), '--port', String(port), '--flush-mode', flushMode, '--log-level', 'warn'],
        dir,
        probe: async () => {
          const probe = new Ferry({ bootstrap: endpoint, requestTimeoutMs: 1000, retry: { retries: 0 } });
          try {
            await probe.admin().listTopics();
          } finally {
            await probe.close().catch(() => undefined);
          }
        },
      },
      endpoint,
    );
  },

  openAdmin(config: ClientConfig): Promise<PeerAdmin> {
    return openAdmin(config, undefined);
  },

  async openProducer(config: ClientConfig, opts): Promise<PeerProducer> {
    const f = client(config.endpoint, `producer-${process.pid}`);
    // Paced (e2e): lingerMs is an application setting (--ferry-e2e-linger-ms; default the SDK's
    // 5 ms, Kafka's). 0 sends the values due each tick at once, as the peers' clients do (while a
    // request is in flight the next ones still batch up behind it): a lower median, but at 10k
    // msgs/s 50–80% more CPU and no better p99 (docs/BENCHMARKS.md, "Closing the peer gaps").
    const linger = opts.paced && config.ferryE2eLingerMs !== undefined ? { lingerMs: config.ferryE2eLingerMs } : {};
    // Idempotent (the SDK default with acks all, as Kafka since 3.0): a partition's requests are pipelined, up to 5, with
    // order kept by sequence numbers; without it the SDK keeps one request per partition in flight.
    const producer = f.producer({ acks: -1, idempotent: true, ...linger });
    return {
      async sendChunk(target, values) {
        // As bench/produce-worker.ts: sendBatch() for throughput, send() per value when paced (the
        // SDK's own batching then decides what leaves together, as in an application).
        if (opts.paced) await Promise.all(values.map((value) => producer.send({ topic: target, value })));
        else await producer.sendBatch(target, values.map((value) => ({ value })));
      },
      async close() {
        await producer.close().catch(() => undefined);
        await f.close();
      },
    };
  },

  async openConsumer(config: ClientConfig): Promise<PeerConsumer> {
    const f = client(config.endpoint, `consumer-${process.pid}`);
    const transport = config.ferryConsumerTransport !== undefined ? { transport: config.ferryConsumerTransport } : {};
    const consumer = f.consumer({ autoOffsetReset: 'earliest', fetchMaxBytes: FETCH_MAX_BYTES, ...transport });
    let running: Promise<void> | undefined;
    return {
      async start(targets: string[], sink: ValuesSink, opts) {
        // Learn partition counts (and leaders) before the clock starts.
        const described = await f.admin().describeTopics(targets);
        consumer.assign(described.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partition }))));
        const values: Uint8Array[] = [];
        running = consumer.run({
          eachBatch: ({ records }) => {
            values.length = records.length;
            for (let i = 0; i < records.length; i++) values[i] = records[i]!.value ?? EMPTY;
            sink(values);
          },
        });
        running.catch((err: unknown) => opts.onError(err));
      },
      async close() {
        await consumer.stop().catch(() => undefined);
        await running?.catch(() => undefined);
        await consumer.close().catch(() => undefined);
        await f.close();
      },
    };
  },

  async serverVersion() {
    const rev = await new Promise<string>((resolve) => {
      const git = spawn('git', ['rev-parse', '--short', 'HEAD'], { cwd: fileURLToPath(new URL('.', import.meta.url)), stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      git.stdout.on('data', (d: Buffer) => (out += d.toString()));
      git.on('close', () => resolve(out.trim() || 'unknown'));
      git.on('error', () => resolve('unknown'));
    });
    return `main@${rev}`;
  },
};

const EMPTY = new Uint8Array(0);

/** Creates and deletes bench topics (replicationFactor undefined = the broker default). */
async function openAdmin(config: ClientConfig, replicationFactor: number | undefined): Promise<PeerAdmin> {
  const f = client(config.endpoint, 'admin');
  return {
    async createTargets(base) {
      await f.admin().createTopics([{ name: base, partitions: config.partitions, ...(replicationFactor !== undefined ? { replicationFactor } : {}) }]);
      return [base];
    },
    async deleteTargets(targets) {
      await f.admin().deleteTopics(targets);
    },
    async close() {
      await f.close();
    },
  };
}

/** Ferry as a 3-broker RF 3 cluster (see the top of this file). */
export const ferryRf3: PeerSystem = {
  ...ferry,
  name: 'ferry-rf3',
  durability(mode) {
    const flush = `flush.mode=${mode === 'fsync' ? 'always' : 'os'}`;
    const what = mode === 'fsync' ? 'fsync on all 3 replicas before the ack' : 'written to the OS on all 3 replicas before the ack';
    return { supported: true, setting: `RF 3, ${flush}`, description: `3-node cluster, RF 3, acks=all, ${flush}: ${what}` };
  },

  async startServer(mode, opts): Promise<ServerHandle> {
    const dir = await makeServerDir('ferry-rf3');
    const ports = [await freePort(), await freePort(), await freePort()];
    const endpoint = ports.map((p) => `127.0.0.1:${p}`).join(',');
    const voters = ports.map((p, i) => `${i + 1}@127.0.0.1:${p}`).join(',');
    const flushMode = mode === 'fsync' ? 'always' : 'os';
    const quote = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;
    const brokers = ports.map((port, i) => [process.execPath, ...(opts.nodeArgs ?? []), FERRY_CLI, 'broker', '--node-id', String(i + 1), '--data-dir', join(dir, `data-${i + 1}`),
      '--port', String(port), '--controller-quorum-voters', voters, '--flush-mode', flushMode, '--log-level', 'warn'].map(quote).join(' '));
    // The shell waits for its brokers when told to stop, so they shut down cleanly together.
    const script = `trap 'wait' TERM; ${brokers.map((b) => `${b} &`).join(' ')} wait`;
    return ServerProcess.start(
      {
        name: 'ferry-rf3',
        command: '/bin/sh',
        args: ['-c', script],
        dir,
        probe: async () => {
          const probe = new Ferry({ bootstrap: endpoint.split(','), requestTimeoutMs: 1000, retry: { retries: 0 } });
          try {
            const live = (await probe.admin().metadata()).brokers.length;
            if (live < 3) throw new Error(`${live} of 3 brokers live`);
          } finally {
            await probe.close().catch(() => undefined);
          }
        },
      },
      endpoint,
    );
  },

  openAdmin(config: ClientConfig): Promise<PeerAdmin> {
    return openAdmin(config, 3);
  },
};
