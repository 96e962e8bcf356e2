/**
 * RabbitMQ through amqplib. Server: `rabbitmq-server` from the Debian package, run as our own node
 * (`ferrybench-<pid>@localhost`), not the system service: a temp HOME with its own Erlang cookie,
 * mnesia and log directories in the temp dir, AMQP on 127.0.0.1:<free port>, Erlang distribution on
 * 127.0.0.1:<free port>, and a private `epmd` on a free port started in the same process group, so
 * stopping the group leaves nothing behind. Ready once an AMQP connection opens.
 *
 * fsync mode: a durable classic queue, persistent messages and publisher confirms (a confirm is sent
 * once the message store has fsynced it). os mode: the same queue with transient messages: RabbitMQ
 * has no "written to the OS, not fsynced" setting for persistent messages, so this mode keeps
 * messages in memory only (paged to disk under memory pressure) and is marked weaker than the others.
 * Consume: a prefetch window per queue and cumulative acks (`ack(msg, allUpTo=true)`).
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type Message } from 'amqplib';
import { freePort, makeServerDir, ServerProcess } from './servers.js';
import type { ClientConfig, DurabilityMode, PeerAdmin, PeerConsumer, PeerProducer, PeerSystem, ServerHandle, ValuesSink } from './types.js';

const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
/** Unacknowledged deliveries per consumer. */
const PREFETCH_MESSAGES = 2000;
/** Ack (cumulative) after this many messages, or after ACK_IDLE_MS with one unacknowledged. */
const ACK_EVERY_MESSAGES = 500;
const ACK_IDLE_MS = 50;
/** Time for our epmd to listen before the node looks for it (else the node starts its own, which escapes our group). */
const EPMD_HEAD_START_S = 0.5;

function url(endpoint: string): string {
  return `amqp://guest:guest@${endpoint}`;
}

async function open(endpoint: string): Promise<ChannelModel> {
  return amqp.connect(url(endpoint));
}

function persistent(mode: DurabilityMode): boolean {
  return mode === 'fsync';
}

export const rabbitmq: PeerSystem = {
  name: 'rabbitmq',
  clientPackage: 'amqplib',

  durability(mode) {
    return mode === 'fsync'
      ? {
          supported: true,
          setting: 'persistent + confirms',
          description: 'durable classic queue, persistent messages, publisher confirms (confirm after the message store fsyncs); consumers get each message before its fsync',
          // Measured (docs/BENCHMARKS.md, "RabbitMQ hands consumers messages before its fsync"): with a consumer
          // attached, every message reached it before the publisher's confirm, i.e. before the
          // fsync that the confirm waits for. Ferry (flush.mode=always) and Redis (appendfsync
          // always) show consumers only what is fsynced, so e2e latency is not like with like here.
          weakerIn: { workloads: ['e2e'], why: 'delivers to consumers before the fsync (only the confirm waits for it)' },
        }
      : { supported: true, weaker: true, setting: 'transient + confirms (memory only)', description: 'durable classic queue, transient messages, publisher confirms: kept in memory only (no setting writes persistent messages to the OS without fsync)' };
  },

  async startServer(_mode, _opts): Promise<ServerHandle> {
    const dir = await makeServerDir('rabbitmq');
    const [amqpPort, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
    const home = join(dir, 'home');
    await mkdir(home);
    await writeFile(join(home, '.erlang.cookie'), `ferrybench${process.pid}${Date.now()}`, { mode: 0o400 });
    await writeFile(join(dir, 'enabled_plugins'), '[].\n');
    await writeFile(join(dir, 'rabbitmq.conf'), `listeners.tcp.default = 127.0.0.1:${amqpPort}\n`);
    await writeFile(join(dir, 'rabbitmq-env.conf'), '');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: home,
      ERL_EPMD_PORT: String(epmdPort),
      RABBITMQ_NODENAME: `ferrybench-${process.pid}@localhost`,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(amqpPort),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
      RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
      RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
      // Distribution on loopback too (it binds every interface by default).
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    };
    const endpoint = `127.0.0.1:${amqpPort}`;
    const script = `epmd -port ${epmdPort} -address 127.0.0.1 & sleep ${EPMD_HEAD_START_S}; exec ${RABBITMQ_SERVER}`;
    return ServerProcess.start(
      {
        name: 'rabbitmq',
        command: 'sh',
        args: ['-c', script],
        env,
        dir,
        probe: async () => {
          const conn = await open(endpoint);
          await conn.close();
        },
      },
      endpoint,
    );
  },

  async openAdmin(config: ClientConfig): Promise<PeerAdmin> {
    const conn = await open(config.endpoint);
    const ch = await conn.createChannel();
    return {
      async createTargets(base) {
        const names = Array.from({ length: config.partitions }, (_, i) => `${base}-${i}`);
        for (const name of names) await ch.assertQueue(name, { durable: true, autoDelete: false });
        return names;
      },
      async deleteTargets(targets) {
        for (const name of targets) await ch.deleteQueue(name);
      },
      async close() {
        await conn.close();
      },
    };
  },

  async openProducer(config: ClientConfig, _opts): Promise<PeerProducer> {
    const conn = await open(config.endpoint);
    const ch: ConfirmChannel = await conn.createConfirmChannel();
    const options = { persistent: persistent(config.mode) };
    return {
      sendChunk(target, values) {
        // publish() buffers even when it returns false; the worker's window of unacknowledged
        // records is what bounds memory, as for the other systems.
        return new Promise<void>((resolve, reject) => {
          let left = values.length;
          const confirmed = (err: unknown) => {
            if (err) reject(err instanceof Error ? err : new Error(`nacked: ${String(err)}`));
            else if (--left === 0) resolve();
          };
          for (const v of values) ch.publish('', target, v, options, confirmed);
        });
      },
      async close() {
        await conn.close();
      },
    };
  },

  async openConsumer(config: ClientConfig): Promise<PeerConsumer> {
    const conn = await open(config.endpoint);
    const channels: Channel[] = [];
    const timers: NodeJS.Timeout[] = [];
    return {
      async start(targets: string[], sink: ValuesSink, opts) {
        const one: Uint8Array[] = [new Uint8Array(0)];
        for (const queue of targets) {
          // A channel per queue: prefetch and cumulative acks are per channel.
          const ch = await conn.createChannel();
          ch.on('error', (err: Error) => opts.onError(err));
          channels.push(ch);
          await ch.prefetch(PREFETCH_MESSAGES);
          let unacked: Message | undefined;
          let sinceAck = 0;
          await ch.consume(
            queue,
            (msg) => {
              if (!msg) return opts.onError(new Error(`consumer of ${queue} cancelled by the server`));
              one[0] = msg.content;
              sink(one);
              unacked = msg;
              if (++sinceAck >= ACK_EVERY_MESSAGES) {
                ch.ack(msg, true);
                unacked = undefined;
                sinceAck = 0;
              }
            },
            { noAck: false },
          );
          timers.push(
            setInterval(() => {
              if (unacked) {
                ch.ack(unacked, true);
                unacked = undefined;
                sinceAck = 0;
              }
            }, ACK_IDLE_MS),
          );
        }
      },
      async close() {
        for (const t of timers) clearInterval(t);
        await conn.close().catch(() => undefined);
      },
    };
  },

  async serverVersion() {
    const run = promisify(execFile);
    const version = async (pkg: string) => (await run('dpkg-query', ['-W', '-f=${Version}', pkg]).catch(() => ({ stdout: '?' }))).stdout.trim();
    return `${await version('rabbitmq-server')} (Erlang ${await version('erlang-base')})`;
  },
};
