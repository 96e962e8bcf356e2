/**
 * Redis Streams through ioredis. Server: `redis-server <generated config>` on 127.0.0.1, AOF on
 * (`appendonly yes`), `appendfsync always` in fsync mode (the AOF is fsynced before replies go out,
 * once per event-loop turn, so a pipeline shares one fsync) and `no` (or `everysec`) in os mode.
 * RDB snapshots and automatic AOF rewrites are off: each would fork and copy the whole data set
 * during a run, and the bench deletes its streams after every run anyway.
 *
 * Produce: one XADD per value, a chunk sent as one pipeline (one round trip, acknowledged when every
 * reply is in). Consume: XREADGROUP ... NOACK COUNT n, several in flight (the group's last-delivered
 * id advances per call, so reads pipeline; NOACK because Redis has no cumulative ack and per-entry
 * XACK would be a second write per record where the others ack once per batch).
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, makeServerDir, ServerProcess } from './servers.js';
import type { ClientConfig, DurabilityMode, PeerAdmin, PeerConsumer, PeerProducer, PeerSystem, ServerHandle, ServerStartOptions, ValuesSink } from './types.js';

const GROUP = 'bench';
/** Entries per XREADGROUP call. */
const READ_COUNT = 1000;
/** XREADGROUP calls in flight while draining stored data. */
const READS_IN_FLIGHT = 4;
/** Live reads block this long for new entries before asking again. */
const BLOCK_MS = 100;

function appendfsync(mode: DurabilityMode, opts: ServerStartOptions): string {
  return mode === 'fsync' ? 'always' : (opts.redisRelaxed ?? 'no');
}

function client(endpoint: string): Redis {
  const [host, port] = endpoint.split(':');
  // No offline queue, no reconnects: a lost server must fail the run, not stall it.
  const c = new Redis({ host, port: Number(port), lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // Connection errors surface as rejected commands; without a listener ioredis also prints them.
  c.on('error', () => undefined);
  return c;
}

export const redis: PeerSystem = {
  name: 'redis',
  clientPackage: 'ioredis',

  durability(mode, opts) {
    const fsync = appendfsync(mode, opts);
    if (fsync === 'always') return { supported: true, setting: 'appendfsync always', description: 'AOF, appendfsync always: fsync before replying (one fsync per event-loop turn covers a whole pipeline)' };
    return {
      supported: true,
      setting: `appendfsync ${fsync}`,
      description: fsync === 'no' ? 'AOF, appendfsync no: written to the OS before replying, fsync left to the OS' : 'AOF, appendfsync everysec: written to the OS before replying, fsync once a second in the background',
    };
  },

  async startServer(mode, opts): Promise<ServerHandle> {
    const dir = await makeServerDir('redis');
    const port = await freePort();
    const fsync = appendfsync(mode, opts);
    const conf = [
      'bind 127.0.0.1',
      `port ${port}`,
      `dir ${dir}`,
      'daemonize no',
      'protected-mode yes',
      'save ""',
      'appendonly yes',
      `appendfsync ${fsync}`,
      'auto-aof-rewrite-percentage 0',
      'maxmemory 0',
    ].join('\n');
    const confFile = join(dir, 'redis.conf');
    await writeFile(confFile, `${conf}\n`);
    const endpoint = `127.0.0.1:${port}`;
    return ServerProcess.start(
      {
        name: 'redis',
        command: 'redis-server',
        args: [confFile],
        dir,
        probe: async () => {
          const c = client(endpoint);
          try {
            await c.connect();
            await c.ping();
          } finally {
            c.disconnect();
          }
        },
      },
      endpoint,
    );
  },

  async openAdmin(config: ClientConfig): Promise<PeerAdmin> {
    const c = client(config.endpoint);
    await c.connect();
    return {
      async createTargets(base) {
        const keys = Array.from({ length: config.partitions }, (_, i) => `${base}-${i}`);
        // The group exists before any entry, at id 0, so a consumer reads everything written later.
        for (const key of keys) await c.xgroup('CREATE', key, GROUP, '0', 'MKSTREAM');
        return keys;
      },
      async deleteTargets(targets) {
        if (targets.length > 0) await c.del(...targets);
      },
      async close() {
        c.disconnect();
      },
    };
  },

  async openProducer(config: ClientConfig, _opts): Promise<PeerProducer> {
    const c = client(config.endpoint);
    await c.connect();
    return {
      async sendChunk(target, values) {
        const pipeline = c.pipeline();
        for (const v of values) pipeline.xadd(target, '*', 'v', v);
        const replies = await pipeline.exec();
        const failed = replies?.find(([err]) => err !== null);
        if (!replies || failed) throw failed?.[0] ?? new Error('pipeline aborted');
      },
      async close() {
        c.disconnect();
      },
    };
  },

  async openConsumer(config: ClientConfig): Promise<PeerConsumer> {
    const c = client(config.endpoint);
    await c.connect();
    let closed = false;
    const loops: Promise<void>[] = [];
    return {
      async start(targets: string[], sink: ValuesSink, opts) {
        const args = ['GROUP', GROUP, `c-${process.pid}`, 'COUNT', String(READ_COUNT), ...(opts.live ? ['BLOCK', String(BLOCK_MS)] : []), 'NOACK', 'STREAMS', ...targets, ...targets.map(() => '>')];
        // Blocking reads on one connection run one after another anyway: one loop when live.
        const inFlight = opts.live ? 1 : READS_IN_FLIGHT;
        for (let i = 0; i < inFlight; i++) {
          loops.push(
            (async () => {
              while (!closed) {
                const reply = (await c.callBuffer('XREADGROUP', ...args)) as StreamReply | null;
                if (reply === null) {
                  if (!opts.live) await new Promise((resolve) => setTimeout(resolve, 1));
                  continue;
                }
                for (const [, entries] of reply) {
                  const values: Uint8Array[] = new Array(entries.length);
                  for (let j = 0; j < entries.length; j++) values[j] = entries[j]![1][1]!;
                  sink(values);
                }
              }
            })().catch((err: unknown) => {
              if (!closed) opts.onError(err);
            }),
          );
        }
      },
      async close() {
        closed = true;
        c.disconnect();
        await Promise.allSettled(loops);
      },
    };
  },

  async serverVersion() {
    const { stdout } = await promisify(execFile)('redis-server', ['--version']);
    return /v=(\S+)/.exec(stdout)?.[1] ?? stdout.trim();
  },
};

/** XREADGROUP's reply with buffers: [[key, [[id, [field, value]], ...]], ...]. */
type StreamReply = [Buffer, [Buffer, Buffer[]][]][];
