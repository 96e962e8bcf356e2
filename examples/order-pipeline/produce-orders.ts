/**
 * Produces order events to `order-events`, keyed by user_id (creating the topic if needed).
 *
 *   node dist/examples/order-pipeline/produce-orders.js [--count 1000] [--users 50]
 *        [--rate-per-s 200] [--bootstrap 127.0.0.1:9092]
 *
 * Each order gets a `created`, `paid` and `shipped` event, in that order on its user's partition.
 */
import { ErrorCode, Ferry, FerryError } from '../../src/client/index.js';
import { PARTITIONS, TOPIC, encodeEvent, orderEvents } from './pipeline.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

async function main(): Promise<void> {
  const ferry = new Ferry({ bootstrap: arg('bootstrap', '127.0.0.1:9092'), clientId: 'order-producer' });
  try {
    await ferry.admin().createTopics([{ name: TOPIC, partitions: PARTITIONS }]).catch((err: unknown) => {
      if (!(err instanceof FerryError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS)) throw err;
    });
    const producer = ferry.producer({ lingerMs: 5 });
    const events = orderEvents(Number(arg('count', '1000')), Number(arg('users', '50')));
    const gapMs = 1000 / Number(arg('rate-per-s', '200'));
    const acks: Promise<unknown>[] = [];
    const start = Date.now();
    for (let i = 0; i < events.length; i++) {
      const wait = start + i * gapMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      acks.push(producer.send({ topic: TOPIC, ...encodeEvent(events[i]!) }));
    }
    await Promise.all(acks);
    process.stderr.write(`produced ${events.length} events\n`);
  } finally {
    await ferry.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`producer failed: ${String(err)}\n`);
  process.exit(1);
});
