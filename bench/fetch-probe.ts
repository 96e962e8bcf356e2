/**
 * Fetch probes against a running broker, for the figures in docs/BENCHMARKS.md ("Closing the peer
 * gaps"). Raw SDK connection, no consumer logic, one request at a time, so round trips and broker
 * CPU per request can be compared between builds on a busy machine.
 *
 *   node dist/bench/fetch-probe.js bulk 127.0.0.1:9092 [--broker-pid PID] [--prewrite]
 *     one partition of 300,000 values of 1 KiB (written first with --prewrite), read from offset 0
 *     in 16 MiB fetches: median round trip, median decode time, broker CPU (with --broker-pid).
 *     For page faults and task-clock: perf stat -e page-faults,task-clock -p PID -- <this command>.
 *   node dist/bench/fetch-probe.js tail 127.0.0.1:9092 [--broker-pid PID] [--count 2000]
 *     produce one 100-byte record, then fetch it at the log end, --count times: round trip p50/p90
 *     of the tail fetch (what a caught-up consumer pays per fetch), broker CPU per produce+fetch.
 */
import { readFileSync } from 'node:fs';
import { Ferry } from '../src/client/index.js';
import { ConnectionPool, unary } from '../src/client/connection-pool.js';
import { decodeFetchedRecords, nextFetchOffset } from '../src/client/fetch-decoder.js';
import type { FetchResponse__Output } from '../src/generated/ferry/v1/FetchResponse.js';
import type { ProduceResponse__Output } from '../src/generated/ferry/v1/ProduceResponse.js';
import { RecordBatchBuilder } from '../src/protocol/record-builder.js';
import type { ConsumerRecord } from '../src/client/types.js';

const BULK_TOPIC = 'fetch-probe-bulk';
const BULK_VALUES = 300_000;
const FETCH_BYTES = 16 * 1024 * 1024;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** CPU seconds (user + system) of a process, from /proc; 0 without a pid. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

async function main(): Promise<void> {
  const [mode, bootstrap] = process.argv.slice(2);
  if ((mode !== 'bulk' && mode !== 'tail') || !bootstrap) {
    process.stderr.write('usage: fetch-probe.js bulk|tail HOST:PORT [--broker-pid PID] [--prewrite] [--count N]\n');
    process.exit(2);
  }
  const pid = arg('--broker-pid') !== undefined ? Number(arg('--broker-pid')) : undefined;
  const ferry = new Ferry({ bootstrap });
  const pool = new ConnectionPool({ clientId: 'fetch-probe', maxMessageBytes: 256 * 1024 * 1024 });
  const clients = pool.get(bootstrap);
  try {
    if (mode === 'bulk') {
      if (process.argv.includes('--prewrite')) {
        await ferry.admin().createTopics([{ name: BULK_TOPIC, partitions: 1 }]);
        const producer = ferry.producer({ acks: 1 });
        const records = Array.from({ length: 500 }, () => ({ value: Buffer.alloc(1024, 7) }));
        for (let n = 0; n < BULK_VALUES; n += records.length) await producer.sendBatch(BULK_TOPIC, records);
        await producer.close();
      }
      let offset = 0;
      let count = 0;
      const rtts: number[] = [];
      const decodes: number[] = [];
      const cpu0 = cpuSeconds(pid);
      const start = performance.now();
      for (;;) {
        const request = {
          maxWaitMs: 0,
          minBytes: 1,
          maxBytes: 64 * 1024 * 1024,
          topics: [{ topic: BULK_TOPIC, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: FETCH_BYTES, currentLeaderEpoch: -1 }] }],
          decodeRecords: false,
        };
        const sent = performance.now();
        const res = await unary<FetchResponse__Output>((o, cb) => clients.fetch.Fetch(request, o, cb), 60_000);
        const received = performance.now();
        const buf = res.topics[0]!.partitions[0]!.recordBatches;
        if (!buf || buf.length === 0) break;
        const out: ConsumerRecord[] = [];
        decodeFetchedRecords(BULK_TOPIC, 0, buf, offset, out);
        offset = nextFetchOffset(buf, offset);
        count += out.length;
        rtts.push(received - sent);
        decodes.push(performance.now() - received);
      }
      const ms = performance.now() - start;
      const cpu = pid !== undefined ? `, broker CPU ${(cpuSeconds(pid) - cpu0).toFixed(2)} s` : '';
      console.log(`bulk: ${rtts.length} fetches, ${count} records in ${ms.toFixed(0)} ms (${Math.round((count / ms) * 1000)} msgs/s serial); round trip median ${quantile(rtts, 0.5).toFixed(1)} ms, decode median ${quantile(decodes, 0.5).toFixed(1)} ms${cpu}`);
    } else {
      const n = Number(arg('--count') ?? 2000);
      const warmup = Math.min(200, Math.floor(n / 10));
      const topic = `fetch-probe-tail-${Date.now()}`;
      await ferry.admin().createTopics([{ name: topic, partitions: 1 }]);
      const builder = new RecordBatchBuilder(1024);
      builder.tryAppend({ key: null, value: Buffer.alloc(100), timestamp: Date.now() });
      const produce = { acks: 1, timeoutMs: 30_000, topics: [{ topic, partitions: [{ partition: 0, recordBatch: builder.build() }] }] };
      const rtts: number[] = [];
      let cpu0 = 0;
      for (let i = 0; i < n; i++) {
        if (i === warmup) cpu0 = cpuSeconds(pid);
        await unary<ProduceResponse__Output>((o, cb) => clients.produce.Produce(produce, o, cb), 30_000);
        const fetch = {
          maxWaitMs: 500,
          minBytes: 1,
          maxBytes: 1024 * 1024,
          topics: [{ topic, partitions: [{ partition: 0, fetchOffset: i, partitionMaxBytes: 1024 * 1024, currentLeaderEpoch: -1 }] }],
          decodeRecords: false,
        };
        const sent = performance.now();
        await unary<FetchResponse__Output>((o, cb) => clients.fetch.Fetch(fetch, o, cb), 30_000);
        if (i >= warmup) rtts.push(performance.now() - sent);
      }
      const cpu = pid !== undefined ? `; broker CPU ${(((cpuSeconds(pid) - cpu0) / (n - warmup)) * 1e6).toFixed(0)} us per produce+fetch` : '';
      console.log(`tail: fetch round trip p50 ${(quantile(rtts, 0.5) * 1000).toFixed(0)} us, p90 ${(quantile(rtts, 0.9) * 1000).toFixed(0)} us (${rtts.length} fetches)${cpu}`);
    }
  } finally {
    pool.close();
    await ferry.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`fetch-probe: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
