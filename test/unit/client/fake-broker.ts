/**
 * A tiny in-process gRPC server speaking the ferry.v1 Metadata, Produce, Fetch and ListOffsets RPCs
 * on a loopback port, backed by in-memory logs, with hooks to inject errors. For SDK unit tests.
 */
import * as grpc from '@grpc/grpc-js';
import { loadFerryProto } from '../../../src/protocol/grpc-definitions.js';
import { batchSizeAt, iterateBatches, stampBatch } from '../../../src/protocol/record-batch.js';
import { decodeBatch, type DecodedRecord } from '../../../src/protocol/record-decoder.js';
import type { ProduceRequest__Output } from '../../../src/generated/ferry/v1/ProduceRequest.js';
import type { FetchRequest__Output } from '../../../src/generated/ferry/v1/FetchRequest.js';
import type { WireError } from '../../../src/protocol/errors.js';

export interface StoredRecord extends DecodedRecord {
  value: Buffer | null;
}

export interface FakeBrokerOptions {
  topics: Record<string, number>;
  /** Called per produced partition; return an error to answer with instead of appending. */
  onProducePartition?: (topic: string, partition: number, attempt: number) => Partial<WireError> | undefined;
  /** Called per Produce request; throw a grpc ServiceError-like object to fail the whole call. */
  onProduceRequest?: (req: ProduceRequest__Output, n: number) => grpc.ServiceError | undefined;
  /** Adds more services (e.g. a fake GroupService) to the same server; `port()` is known once bound. */
  addServices?: (server: grpc.Server, port: () => number) => void;
}

export interface FakeBroker {
  address: string;
  logs: Map<string, Buffer[]>;
  records(topic: string, partition: number): StoredRecord[];
  produceRequests: ProduceRequest__Output[];
  fetchRequests: FetchRequest__Output[];
  close(): Promise<void>;
}

const NO_ERROR: WireError = { code: 'NONE', retriable: false, message: '', leaderId: -1, leaderAddress: '', leaderEpoch: -1 };

export function wireError(e: Partial<WireError>): WireError {
  return { ...NO_ERROR, ...e };
}

export async function startFakeBroker(opts: FakeBrokerOptions): Promise<FakeBroker> {
  const { proto } = loadFerryProto();
  const server = new grpc.Server();
  const logs = new Map<string, Buffer[]>();
  const ends = new Map<string, number>();
  const attempts = new Map<string, number>();
  const produceRequests: ProduceRequest__Output[] = [];
  const fetchRequests: FetchRequest__Output[] = [];
  let port = 0;
  const key = (t: string, p: number) => `${t}/${p}`;

  server.addService(proto.ferry.v1.MetadataService.service, {
    Metadata: (call: grpc.ServerUnaryCall<{ topics: string[] }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const names = call.request.topics.length > 0 ? call.request.topics : Object.keys(opts.topics);
      cb(null, {
        clusterId: 'fake',
        controllerId: 1,
        brokers: [{ nodeId: 1, host: '127.0.0.1', port, rack: '' }],
        topics: names.map((name) => {
          const n = opts.topics[name];
          if (n === undefined) return { name, error: wireError({ code: 'UNKNOWN_TOPIC_OR_PARTITION', message: `unknown ${name}` }), partitions: [] };
          return {
            name,
            error: null,
            partitions: Array.from({ length: n }, (_, partition) => ({ partition, leaderId: 1, leaderEpoch: 0, replicas: [1], isr: [1] })),
          };
        }),
      });
    },
  });

  server.addService(proto.ferry.v1.ProduceService.service, {
    // Producers are idempotent by default (acks all): they ask for an id first. This broker stores
    // what it is sent without sequence checks (fake-cluster.ts runs the real ones).
    InitProducerId: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { producerId: 7, producerEpoch: 0 }),
    Produce: (call: grpc.ServerUnaryCall<ProduceRequest__Output, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const req = call.request;
      produceRequests.push(req);
      const fail = opts.onProduceRequest?.(req, produceRequests.length);
      if (fail) return cb(fail);
      cb(null, {
        topics: req.topics.map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((p) => {
            const k = key(t.topic, p.partition);
            const attempt = (attempts.get(k) ?? 0) + 1;
            attempts.set(k, attempt);
            const injected = opts.onProducePartition?.(t.topic, p.partition, attempt);
            if (injected) return { partition: p.partition, error: wireError(injected), baseOffset: -1 };
            const buf = Buffer.from(p.recordBatch);
            let next = ends.get(k) ?? 0;
            const base = next;
            const list = logs.get(k) ?? [];
            for (const { pos, size } of iterateBatches(buf)) {
              const batch = Buffer.from(buf.subarray(pos, pos + size));
              stampBatch(batch, 0, next, 0);
              next += batch.readInt32BE(57);
              list.push(batch);
            }
            logs.set(k, list);
            ends.set(k, next);
            return { partition: p.partition, error: null, baseOffset: base, lastOffset: next - 1, logAppendTimeMs: -1, logStartOffset: 0 };
          }),
        })),
      });
    },
  });

  server.addService(proto.ferry.v1.FetchService.service, {
    Fetch: (call: grpc.ServerUnaryCall<FetchRequest__Output, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const req = call.request;
      fetchRequests.push(req);
      const answer = () => ({
        topics: req.topics.map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((p) => {
            const k = key(t.topic, p.partition);
            const end = ends.get(k) ?? 0;
            if (p.fetchOffset > end) {
              return { partition: p.partition, error: wireError({ code: 'OFFSET_OUT_OF_RANGE', message: 'oor' }), highWatermark: end };
            }
            const out: Buffer[] = [];
            let bytes = 0;
            for (const b of logs.get(k) ?? []) {
              const last = b.readInt32BE(4) + b.readInt32BE(23);
              if (last < p.fetchOffset) continue;
              if (bytes > 0 && bytes + b.length > (p.partitionMaxBytes || 1 << 20)) break;
              out.push(b);
              bytes += b.length;
            }
            return { partition: p.partition, error: null, highWatermark: end, logStartOffset: 0, logEndOffset: end, recordBatches: Buffer.concat(out) };
          }),
        })),
      });
      const res = answer();
      const empty = res.topics.every((t) => t.partitions.every((p) => !p.recordBatches || p.recordBatches.length === 0));
      if (empty && req.maxWaitMs > 0) setTimeout(() => cb(null, answer()), Math.min(req.maxWaitMs, 50));
      else cb(null, res);
    },
    ListOffsets: (call: grpc.ServerUnaryCall<{ topics: { topic: string; partitions: { partition: number; timestamp: number }[] }[] }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      cb(null, {
        topics: call.request.topics.map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((p) => {
            const end = ends.get(key(t.topic, p.partition)) ?? 0;
            return { partition: p.partition, error: null, offset: p.timestamp === -2 ? 0 : end, timestamp: -1, leaderEpoch: 0 };
          }),
        })),
      });
    },
  });

  opts.addServices?.(server, () => port);
  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    logs,
    produceRequests,
    fetchRequests,
    records(topic, partition) {
      const out: StoredRecord[] = [];
      for (const b of logs.get(key(topic, partition)) ?? []) out.push(...decodeBatch(b, 0).records);
      return out;
    },
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

export { batchSizeAt };
