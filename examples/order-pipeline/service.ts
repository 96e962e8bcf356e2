/**
 * One member of an order-pipeline service: joins the service's consumer group on `order-events`,
 * handles each event and commits after processing.
 *
 *   node dist/examples/order-pipeline/service.js --group payment-service [--member NAME]
 *        [--bootstrap 127.0.0.1:9092] [--session-timeout-ms 10000] [--processing-ms 0]
 *
 * Start several with the same --group: the coordinator splits the partitions between them; start
 * more, stop some, or kill one (SIGKILL): its partitions move to the others within the session
 * timeout and processing resumes from the last commit (records handled since then are handled
 * again — at-least-once).
 *
 * Commits: auto-commit is off; after each fetched batch of one partition is handled, its next
 * offset is committed. A SIGTERM / SIGINT closes the consumer (which commits and leaves the group).
 *
 * stdout: one JSON line per event — {"event":"assigned"|"revoked"|"processed", ...} — which the
 * order-pipeline test reads.
 */
import { Ferry } from '../../src/client/index.js';
import { HANDLERS, TOPIC, decodeEvent, isGroupName } from './pipeline.js';

function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : def;
  if (v === undefined) throw new Error(`missing --${name}`);
  return v;
}

function out(obj: object): void {
  process.stdout.write(`${JSON.stringify({ ...obj, t: Date.now() })}\n`);
}

async function main(): Promise<void> {
  const group = arg('group');
  if (!isGroupName(group)) throw new Error(`unknown service group ${group}`);
  const member = arg('member', `${group}-${process.pid}`);
  const processingMs = Number(arg('processing-ms', '0'));
  const handle = HANDLERS[group];
  const ferry = new Ferry({ bootstrap: arg('bootstrap', '127.0.0.1:9092'), clientId: member });
  const consumer = ferry.consumer({
    groupId: group,
    autoOffsetReset: 'earliest',
    enableAutoCommit: false,
    sessionTimeoutMs: Number(arg('session-timeout-ms', '10000')),
  });
  consumer.on('assigned', (parts) => out({ event: 'assigned', member, group, partitions: parts.map((p) => p.partition) }));
  consumer.on('revoked', (parts, info) => out({ event: 'revoked', member, group, partitions: parts.map((p) => p.partition), lost: info.lost }));

  const stop = () => {
    consumer.close().then(
      () => ferry.close().then(() => process.exit(0)),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  consumer.subscribe({ topics: [TOPIC] });
  await consumer.run({
    eachBatch: async ({ topic, partition, records }) => {
      for (const r of records) {
        const e = decodeEvent(r.value);
        if (processingMs > 0) await new Promise((resolve) => setTimeout(resolve, processingMs));
        out({ event: 'processed', member, group, partition, offset: r.offset, orderId: e.orderId, did: handle(e) });
      }
      // Commit after processing: a crash from here on re-delivers at most this batch.
      await consumer.commit([{ topic, partition, offset: records[records.length - 1]!.offset + 1 }]);
    },
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`service failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
