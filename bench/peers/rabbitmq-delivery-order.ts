/**
 * Does RabbitMQ hand a persistent message to a consumer before the fsync its publisher confirm waits
 * for? (It decides whether its fsync-mode e2e latency is like with like with Ferry's
 * flush.mode=always, whose consumers see only fsynced records.)
 *
 * Starts the bench's RabbitMQ (fsync mode: durable classic queue, persistent messages), attaches a
 * consumer as the e2e workload does (manual acks, prefetch 2,000, cumulative acks), publishes one
 * message every 5 ms on a confirm channel and reports how many reached the consumer before their
 * confirm. To see the fsyncs themselves, run it under `strace -f -c -e trace=fsync,fdatasync`.
 *
 *   npm run build && node dist/bench/peers/rabbitmq-delivery-order.js [messages]
 */
import amqp from 'amqplib';
import { rabbitmq } from './rabbitmq.js';

const MESSAGES = Number(process.argv[2] ?? 400);
const WARMUP = Math.min(50, Math.floor(MESSAGES / 4));

async function main(): Promise<void> {
  const server = await rabbitmq.startServer('fsync', {});
  try {
    const conn = await amqp.connect(`amqp://guest:guest@${server.endpoint}`);
    const publisher = await conn.createConfirmChannel();
    const consumer = await conn.createChannel();
    const queue = `delivery-order-${process.pid}`;
    await publisher.assertQueue(queue, { durable: true });
    const sentAt: number[] = [];
    const receivedAt: number[] = [];
    const confirmedAt: number[] = [];
    await consumer.prefetch(2000);
    let received = 0;
    await consumer.consume(queue, (m) => {
      if (!m) return;
      receivedAt[Number(m.content.toString())] = performance.now();
      if (++received % 50 === 0) consumer.ack(m, true);
    });
    for (let i = 0; i < MESSAGES; i++) {
      sentAt[i] = performance.now();
      publisher.publish('', queue, Buffer.from(String(i)), { persistent: true }, () => (confirmedAt[i] = performance.now()));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await publisher.waitForConfirms();
    await new Promise((resolve) => setTimeout(resolve, 200));
    let before = 0;
    const toConsumer: number[] = [];
    const toConfirm: number[] = [];
    for (let i = WARMUP; i < MESSAGES; i++) {
      const r = receivedAt[i] ?? Infinity;
      if (r < confirmedAt[i]!) before++;
      toConsumer.push(r - sentAt[i]!);
      toConfirm.push(confirmedAt[i]! - sentAt[i]!);
    }
    const median = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!.toFixed(2);
    const n = MESSAGES - WARMUP;
    console.log(`${before} of ${n} messages reached the consumer before their publisher confirm; median publish → consumer ${median(toConsumer)} ms, publish → confirm ${median(toConfirm)} ms`);
    await publisher.deleteQueue(queue);
    await conn.close();
  } finally {
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
