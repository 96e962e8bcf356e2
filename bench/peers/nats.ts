/**
 * NATS JetStream through the `nats` client (v2). Server: `nats-server -js -a 127.0.0.1 -p PORT -sd
 * DIR` (file storage, one replica). nats-server 2.9 has no fsync-per-write setting (`sync_interval`
 * / `sync_always` arrived in 2.10): it writes each message to its block file before the publish ack
 * and fsyncs on a background timer, so it takes part in the os mode only.
 *
 * Produce: `js.publish()` per value, a whole chunk in flight at once (the publishAsync pattern),
 * acknowledged when every PubAck is in. This client does a request/reply per publish, so it is
 * usually the client process, not the server, that limits the rate: the report shows its CPU.
 * Consume: a durable pull consumer per stream with AckPolicy.All (one ack covers everything before
 * it, as a Kafka offset commit does), `consume()` with a callback and `max_messages` per pull.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AckPolicy, connect, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type ConsumerMessages, type JsMsg, type NatsConnection } from 'nats';
import { freePort, makeServerDir, ServerProcess } from './servers.js';
import type { ClientConfig, PeerAdmin, PeerConsumer, PeerProducer, PeerSystem, ServerHandle, ValuesSink } from './types.js';

const CONSUMER = 'bench';
/** Messages per pull request (the client asks for more at 75% consumed). */
const PULL_MAX_MESSAGES = 1000;
/** Ack (cumulative) after this many messages... */
const ACK_EVERY_MESSAGES = 500;
/** ...or after this long with an unacknowledged message, so a slow live stream is acked too. */
const ACK_IDLE_MS = 50;
/** Unacknowledged messages the server allows a consumer; above two pulls' worth. */
const MAX_ACK_PENDING = 20_000;

async function open(endpoint: string): Promise<NatsConnection> {
  // No reconnects: a lost server must fail the run, not stall it.
  return connect({ servers: endpoint, reconnect: false, maxPingOut: 10 });
}

export const nats: PeerSystem = {
  name: 'nats',
  clientPackage: 'nats',

  durability(mode) {
    return mode === 'fsync'
      ? { supported: false, setting: 'n/a', description: 'nats-server 2.9 has no fsync-per-write setting (sync_interval/sync_always came in 2.10)' }
      : { supported: true, setting: 'file store, default sync', description: 'JetStream file store (defaults): written to the OS before the publish ack, fsync on a background timer' };
  },

  async startServer(_mode, _opts): Promise<ServerHandle> {
    const dir = await makeServerDir('nats');
    const port = await freePort();
    const endpoint = `127.0.0.1:${port}`;
    return ServerProcess.start(
      {
        name: 'nats',
        command: 'nats-server',
        args: ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir, '-n', `ferrybench-${process.pid}`],
        dir,
        probe: async () => {
          const nc = await open(endpoint);
          try {
            await (await nc.jetstreamManager()).getAccountInfo();
          } finally {
            await nc.close();
          }
        },
      },
      endpoint,
    );
  },

  async openAdmin(config: ClientConfig): Promise<PeerAdmin> {
    const nc = await open(config.endpoint);
    const jsm = await nc.jetstreamManager();
    return {
      async createTargets(base) {
        const names = Array.from({ length: config.partitions }, (_, i) => `${base}-${i}`);
        for (const name of names) {
          await jsm.streams.add({
            name,
            subjects: [name],
            storage: StorageType.File,
            num_replicas: 1,
            retention: RetentionPolicy.Limits,
            discard: DiscardPolicy.Old,
          });
          await jsm.consumers.add(name, {
            durable_name: CONSUMER,
            ack_policy: AckPolicy.All,
            deliver_policy: DeliverPolicy.All,
            max_ack_pending: MAX_ACK_PENDING,
          });
        }
        return names;
      },
      async deleteTargets(targets) {
        for (const name of targets) await jsm.streams.delete(name);
      },
      async close() {
        await nc.close();
      },
    };
  },

  async openProducer(config: ClientConfig, _opts): Promise<PeerProducer> {
    const nc = await open(config.endpoint);
    const js = nc.jetstream();
    return {
      async sendChunk(target, values) {
        await Promise.all(values.map((v) => js.publish(target, v)));
      },
      async close() {
        await nc.close();
      },
    };
  },

  async openConsumer(config: ClientConfig): Promise<PeerConsumer> {
    const nc = await open(config.endpoint);
    const js = nc.jetstream();
    const subscriptions: ConsumerMessages[] = [];
    const timers: NodeJS.Timeout[] = [];
    return {
      async start(targets: string[], sink: ValuesSink, opts) {
        const one: Uint8Array[] = [new Uint8Array(0)];
        for (const stream of targets) {
          const consumer = await js.consumers.get(stream, CONSUMER);
          let unacked: JsMsg | undefined;
          let sinceAck = 0;
          const messages = await consumer.consume({
            max_messages: PULL_MAX_MESSAGES,
            callback: (m) => {
              one[0] = m.data;
              sink(one);
              unacked = m;
              if (++sinceAck >= ACK_EVERY_MESSAGES) {
                m.ack();
                unacked = undefined;
                sinceAck = 0;
              }
            },
          });
          subscriptions.push(messages);
          void messages.closed().then((err) => {
            if (err) opts.onError(err);
          });
          const timer = setInterval(() => {
            if (unacked) {
              unacked.ack();
              unacked = undefined;
              sinceAck = 0;
            }
          }, ACK_IDLE_MS);
          timers.push(timer);
        }
      },
      async close() {
        for (const t of timers) clearInterval(t);
        await Promise.allSettled(subscriptions.map((s) => s.close()));
        await nc.close();
      },
    };
  },

  async serverVersion() {
    const { stdout } = await promisify(execFile)('nats-server', ['--version']);
    return /\bv(\d\S*)/.exec(stdout)?.[1] ?? stdout.trim();
  },
};
