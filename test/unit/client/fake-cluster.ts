/**
 * Several in-process gRPC "brokers" (node ids 1..n, real ferry.v1 services on loopback ports) over
 * one shared in-memory log per partition, with leadership the test moves by hand: for exercising
 * the SDK's handling of leader moves, fencing, offline partitions and dead brokers without a real
 * cluster.
 *
 * Each broker answers Metadata with the cluster as it stands (live brokers, leaders, epochs); a
 * Produce / Fetch / ListOffsets for a partition it does not lead gets NOT_LEADER_OR_FOLLOWER, with
 * the leader hint unless `leaderHints` is false; a Fetch naming another leader epoch gets
 * FENCED_LEADER_EPOCH (older) or UNKNOWN_LEADER_EPOCH (newer), as a real leader does. Hooks inject
 * per-partition errors before a leader appends or reads, and whole-request gRPC errors.
 * ProduceStream is answered UNIMPLEMENTED (the SDK falls back to unary Produce, as with a broker
 * older than the RPC) unless `produceStream` serves it, each message through the Produce handler.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach } from 'vitest';
import { Ferry } from '../../../src/client/index.js';
import { loadFerryProto } from '../../../src/protocol/grpc-definitions.js';
import { iterateBatches, stampBatch } from '../../../src/protocol/record-batch.js';
import { decodeBatch, type DecodedRecord } from '../../../src/protocol/record-decoder.js';
import type { FetchRequest__Output } from '../../../src/generated/ferry/v1/FetchRequest.js';
import type { ProduceRequest__Output } from '../../../src/generated/ferry/v1/ProduceRequest.js';
import { FerryError, toWireError, type ErrorCode, type WireError } from '../../../src/protocol/errors.js';
import { toFerryError } from '../../../src/client/errors.js';
import { ProducerStateManager } from '../../../src/storage/producer-state.js';
import { appendedProducerBatches, producerBatchMetas } from '../../../src/storage/producer-batches.js';
import { validateBatches } from '../../../src/protocol/record-batch.js';

type Handler = (call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => void;
type StreamHandler = (call: grpc.ServerDuplexStream<any, any>) => void;

export interface PartitionCall {
  broker: number;
  topic: string;
  partition: number;
  /** 1-based count of such calls for this partition, over all brokers. */
  attempt: number;
}

export interface FakeClusterOptions {
  brokers: number;
  /** Topic → partition count; every partition starts led by broker 1 at epoch 0. */
  topics: Record<string, number>;
  leaderHints?: boolean;
  /** Before a leader appends: an error to answer with instead (nothing is appended). */
  onProduce?: (c: PartitionCall) => Partial<WireError> | undefined;
  /** Before a leader reads. */
  onFetch?: (c: PartitionCall) => Partial<WireError> | undefined;
  /** Per request, any service: a gRPC error to fail the whole call with (see `statusError`). */
  onRequest?: (broker: number, method: string, n: number) => grpc.ServiceError | undefined;
  /**
   * After a leader appended: true = the answer is "lost" (REQUEST_TIMED_OUT, retriable) although
   * the records are in the log, as when a connection drops after the write.
   */
  loseAnswer?: (c: PartitionCall) => boolean;
  /** Admin CreateTopics per topic: an error to answer with instead of creating it. */
  onCreateTopic?: (broker: number, name: string, attempt: number) => Partial<WireError> | undefined;
  /**
   * Serve ProduceStream (each message through the Produce handler above, hooks included). Default
   * false: the brokers answer UNIMPLEMENTED for it, like a broker older than the RPC.
   */
  produceStream?: boolean;
  /** Produce answers go out this long after the append (the records are stored at once). */
  produceAnswerDelayMs?: number;
}

interface Log {
  batches: Buffer[];
  end: number;
  /** The broker's idempotence checks (the real module), shared by every "broker" like the log. */
  producers: ProducerStateManager;
}

export interface FakeCluster {
  address(id: number): string;
  /** Every broker, comma-separated. */
  bootstrap: string;
  leader(topic: string, partition: number): { leaderId: number; leaderEpoch: number };
  /** Moves leadership (a new epoch); -1 = offline. */
  moveLeader(topic: string, partition: number, to: number): void;
  /** Stops broker `id` at once (connections reset) and drops it from metadata. */
  kill(id: number): Promise<void>;
  records(topic: string, partition: number): DecodedRecord[];
  produceRequests: { broker: number; req: ProduceRequest__Output }[];
  /** Most produce requests received and not yet answered at any one time. */
  maxProducesUnanswered: number;
  /** Broker ids, one per ProduceStream opened (with `produceStream`). */
  produceStreams: number[];
  fetchRequests: { broker: number; req: FetchRequest__Output }[];
  metadataRequests: number[];
  close(): Promise<void>;
}

export function wire(e: Partial<WireError> & { code: ErrorCode }): WireError {
  return { retriable: false, message: e.code, leaderId: -1, leaderAddress: '', leaderEpoch: -1, ...e };
}

/** A whole-request failure as the broker sends it: gRPC status + ferry-* trailing metadata. */
export function statusError(status: grpc.status, code: ErrorCode | null, hint?: { leaderId: number; leaderAddress: string; leaderEpoch: number }): grpc.ServiceError {
  const md = new grpc.Metadata();
  if (code) md.set('ferry-error-code', code);
  if (hint) {
    md.set('ferry-leader-id', String(hint.leaderId));
    md.set('ferry-leader-address', hint.leaderAddress);
    md.set('ferry-leader-epoch', String(hint.leaderEpoch));
  }
  return Object.assign(new Error(code ?? 'injected'), { code: status, details: code ?? 'injected', metadata: md });
}

/**
 * For test files that start a fake cluster in each test: returns `setup(opts)` — a 3-broker fake
 * cluster holding topic t (1 partition) unless `opts` says otherwise, and a Ferry client with fast
 * retries — and installs an afterEach that closes both.
 */
export function fakeClusterPerTest(): (opts?: Partial<FakeClusterOptions>) => Promise<{ cluster: FakeCluster; ferry: Ferry }> {
  let cluster: FakeCluster | undefined;
  let ferry: Ferry | undefined;
  afterEach(async () => {
    await ferry?.close();
    await cluster?.close();
    ferry = cluster = undefined;
  });
  return async (opts = {}) => {
    cluster = await startFakeCluster({ brokers: 3, topics: { t: 1 }, ...opts });
    ferry = new Ferry({ bootstrap: cluster.bootstrap, retry: { retries: 3, initialRetryTimeMs: 10, maxRetryTimeMs: 50 }, metadataRefreshBackoffMs: 10 });
    return { cluster, ferry };
  };
}

export async function startFakeCluster(opts: FakeClusterOptions): Promise<FakeCluster> {
  const { proto } = loadFerryProto();
  const v1 = proto.ferry.v1;
  const servers = new Map<number, grpc.Server>();
  const ports = new Map<number, number>();
  const partitions = new Map<string, number>(Object.entries(opts.topics));
  const leaders = new Map<string, { leaderId: number; leaderEpoch: number }>();
  const logs = new Map<string, Log>();
  const attempts = new Map<string, number>();
  const requestCounts = new Map<string, number>();
  let nextProducerId = 1000;
  const cluster: FakeCluster = {
    address: (id) => `127.0.0.1:${ports.get(id)}`,
    bootstrap: '',
    leader: (t, p) => leaders.get(key(t, p)) ?? { leaderId: 1, leaderEpoch: 0 },
    moveLeader: (t, p, to) => {
      leaders.set(key(t, p), { leaderId: to, leaderEpoch: cluster.leader(t, p).leaderEpoch + 1 });
    },
    kill: async (id) => {
      servers.get(id)?.forceShutdown();
      servers.delete(id);
    },
    records: (t, p) => (logs.get(key(t, p))?.batches ?? []).flatMap((b) => decodeBatch(b, 0).records),
    produceRequests: [],
    maxProducesUnanswered: 0,
    produceStreams: [],
    fetchRequests: [],
    metadataRequests: [],
    close: async () => {
      for (const s of servers.values()) s.forceShutdown();
      servers.clear();
    },
  };

  function key(t: string, p: number): string {
    return `${t}/${p}`;
  }
  function count(map: Map<string, number>, k: string): number {
    const n = (map.get(k) ?? 0) + 1;
    map.set(k, n);
    return n;
  }
  function log(t: string, p: number): Log {
    let l = logs.get(key(t, p));
    if (!l) logs.set(key(t, p), (l = { batches: [], end: 0, producers: new ProducerStateManager() }));
    return l;
  }
  /** An error for a partition this broker cannot serve, or undefined. */
  function leadershipError(id: number, t: string, p: number, epoch = -1): WireError | undefined {
    if (!partitions.has(t) || p >= partitions.get(t)!) return wire({ code: 'UNKNOWN_TOPIC_OR_PARTITION' });
    const l = cluster.leader(t, p);
    if (l.leaderId !== id) {
      const hint = opts.leaderHints !== false && l.leaderId >= 0 ? { leaderId: l.leaderId, leaderAddress: cluster.address(l.leaderId), leaderEpoch: l.leaderEpoch } : {};
      return wire({ code: 'NOT_LEADER_OR_FOLLOWER', retriable: true, ...hint });
    }
    if (epoch >= 0 && epoch < l.leaderEpoch) return wire({ code: 'FENCED_LEADER_EPOCH', retriable: true });
    if (epoch > l.leaderEpoch) return wire({ code: 'UNKNOWN_LEADER_EPOCH', retriable: true });
    return undefined;
  }
  function guarded(id: number, method: string, handler: Handler): Handler {
    return (call, cb) => {
      const fail = opts.onRequest?.(id, method, count(requestCounts, `${id}/${method}`));
      if (fail) return cb(fail);
      handler(call, cb);
    };
  }

  /**
   * ProduceStream over `produce`: answers in completion order with the correlation id; a whole-call
   * error with a Ferry code becomes the request's `error`, one without (e.g. UNAVAILABLE) ends the
   * stream with that status, as a broken connection would.
   */
  function produceStream(id: number, produce: Handler): StreamHandler {
    return (call) => {
      cluster.produceStreams.push(id);
      let ended = false;
      call.on('data', (m: { correlationId: number; request: ProduceRequest__Output | null }) => {
        produce({ request: m.request } as grpc.ServerUnaryCall<any, any>, (err, res) => {
          if (ended) return;
          const e = err as grpc.ServiceError | null;
          const code = e?.metadata?.get('ferry-error-code')[0];
          if (e && code === undefined) {
            ended = true;
            call.emit('error', e);
          } else if (e) call.write({ correlationId: m.correlationId, error: toWireError(toFerryError(e)) });
          else call.write({ correlationId: m.correlationId, response: res });
        });
      });
      call.on('end', () => {
        if (!ended) call.end();
        ended = true;
      });
    };
  }

  let producesUnanswered = 0;

  function services(id: number): Record<string, Record<string, Handler | StreamHandler>> {
    const produce: Handler = guarded(id, 'Produce', (call, cb) => {
      const req = call.request as ProduceRequest__Output;
      cluster.produceRequests.push({ broker: id, req });
      producesUnanswered++;
      cluster.maxProducesUnanswered = Math.max(cluster.maxProducesUnanswered, producesUnanswered);
      const topics = req.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          const attempt = count(attempts, `produce/${key(t.topic, p.partition)}`);
          const err = leadershipError(id, t.topic, p.partition) ?? injected(opts.onProduce?.({ broker: id, topic: t.topic, partition: p.partition, attempt }));
          if (err) return { partition: p.partition, error: err, baseOffset: -1 };
          const l = log(t.topic, p.partition);
          const bytes = Buffer.from(p.recordBatch);
          let checked;
          try {
            checked = l.producers.check(producerBatchMetas(bytes, validateBatches(bytes, { maxBatchBytes: 1 << 30 })));
          } catch (e) {
            const fe = e as FerryError;
            return { partition: p.partition, error: wire({ code: fe.code, message: fe.message }), baseOffset: -1 };
          }
          let base = l.end;
          let last = l.end - 1;
          if (checked.duplicate) {
            base = checked.baseOffset;
            last = checked.lastOffset;
          } else {
            for (const { pos, size } of iterateBatches(bytes)) {
              const batch = Buffer.from(bytes.subarray(pos, pos + size));
              stampBatch(batch, 0, l.end, cluster.leader(t.topic, p.partition).leaderEpoch);
              l.end += batch.readInt32BE(57);
              l.batches.push(batch);
              for (const pb of appendedProducerBatches(batch, true)) l.producers.update(pb);
            }
            last = l.end - 1;
          }
          if (opts.loseAnswer?.({ broker: id, topic: t.topic, partition: p.partition, attempt })) {
            return { partition: p.partition, error: wire({ code: 'REQUEST_TIMED_OUT', retriable: true }), baseOffset: -1 };
          }
          return { partition: p.partition, baseOffset: base, lastOffset: last, logAppendTimeMs: -1, logStartOffset: 0 };
        }),
      }));
      const answer = () => {
        producesUnanswered--;
        cb(null, { topics });
      };
      if (opts.produceAnswerDelayMs) setTimeout(answer, opts.produceAnswerDelayMs);
      else answer();
    });
    return {
      Metadata: {
        Metadata: guarded(id, 'Metadata', (call, cb) => {
          cluster.metadataRequests.push(id);
          const names: string[] = call.request.topics.length > 0 ? call.request.topics : [...partitions.keys()];
          cb(null, {
            clusterId: 'fake',
            controllerId: 1,
            brokers: [...servers.keys()].map((nodeId) => ({ nodeId, host: '127.0.0.1', port: ports.get(nodeId), rack: '' })),
            topics: names.map((name) => {
              const n = partitions.get(name);
              if (n === undefined) return { name, error: wire({ code: 'UNKNOWN_TOPIC_OR_PARTITION' }), partitions: [] };
              return {
                name,
                topicId: `id-${name}`,
                partitions: Array.from({ length: n }, (_, partition) => {
                  const l = cluster.leader(name, partition);
                  return { partition, ...l, replicas: [...servers.keys()], isr: [...servers.keys()] };
                }),
              };
            }),
          });
        }),
      },
      Produce: {
        InitProducerId: guarded(id, 'InitProducerId', (_call, cb) => {
          cb(null, { producerId: nextProducerId++, producerEpoch: 0 });
        }),
        Produce: produce,
        ...(opts.produceStream ? { ProduceStream: produceStream(id, produce) } : {}),
      },
      Fetch: {
        Fetch: guarded(id, 'Fetch', (call, cb) => {
          const req = call.request as FetchRequest__Output;
          cluster.fetchRequests.push({ broker: id, req });
          const answer = () => ({
            topics: req.topics.map((t) => ({
              topic: t.topic,
              partitions: t.partitions.map((p) => {
                const attempt = count(attempts, `fetch/${key(t.topic, p.partition)}`);
                const err =
                  leadershipError(id, t.topic, p.partition, p.currentLeaderEpoch) ??
                  injected(opts.onFetch?.({ broker: id, topic: t.topic, partition: p.partition, attempt }));
                if (err) return { partition: p.partition, error: err, highWatermark: -1 };
                const l = log(t.topic, p.partition);
                if (p.fetchOffset > l.end) return { partition: p.partition, error: wire({ code: 'OFFSET_OUT_OF_RANGE' }), highWatermark: l.end };
                const out = l.batches.filter((b) => b.readInt32BE(4) + b.readInt32BE(23) >= p.fetchOffset).slice(0, 4);
                return { partition: p.partition, highWatermark: l.end, logStartOffset: 0, logEndOffset: l.end, recordBatches: Buffer.concat(out) };
              }),
            })),
          });
          const res = answer();
          const empty = res.topics.every((t) => t.partitions.every((p) => !('recordBatches' in p) || p.recordBatches.length === 0));
          if (empty && req.maxWaitMs > 0) setTimeout(() => cb(null, answer()), Math.min(req.maxWaitMs, 20));
          else cb(null, res);
        }),
        ListOffsets: guarded(id, 'ListOffsets', (call, cb) => {
          const topics = (call.request as { topics: { topic: string; partitions: { partition: number; timestamp: number }[] }[] }).topics.map((t) => ({
            topic: t.topic,
            partitions: t.partitions.map((p) => {
              const err = leadershipError(id, t.topic, p.partition);
              if (err) return { partition: p.partition, error: err, offset: -1 };
              const end = log(t.topic, p.partition).end;
              return { partition: p.partition, offset: p.timestamp === -2 ? 0 : end, timestamp: -1, leaderEpoch: cluster.leader(t.topic, p.partition).leaderEpoch };
            }),
          }));
          cb(null, { topics });
        }),
      },
      Admin: {
        CreateTopics: guarded(id, 'CreateTopics', (call, cb) => {
          const req = call.request as { topics: { name: string; numPartitions: number }[] };
          const topics = req.topics.map((t) => {
            const injectedErr = injected(opts.onCreateTopic?.(id, t.name, count(attempts, `create/${t.name}`)));
            if (injectedErr) return { name: t.name, error: injectedErr };
            if (partitions.has(t.name)) return { name: t.name, error: wire({ code: 'TOPIC_ALREADY_EXISTS' }) };
            partitions.set(t.name, t.numPartitions || 1);
            return { name: t.name };
          });
          cb(null, { topics });
        }),
        // Offsets only for partitions this broker leads, -1 elsewhere (a broker without a replica).
        DescribeTopics: guarded(id, 'DescribeTopics', (call, cb) => {
          const names = (call.request as { names: string[] }).names;
          const topics = names.map((name) => {
            const n = partitions.get(name);
            if (n === undefined) return { name, error: wire({ code: 'UNKNOWN_TOPIC_OR_PARTITION' }) };
            const parts = Array.from({ length: n }, (_, partition) => {
              const l = cluster.leader(name, partition);
              const end = l.leaderId === id ? log(name, partition).end : -1;
              return { partition, ...l, replicas: [...servers.keys()], isr: [...servers.keys()], logStartOffset: end < 0 ? -1 : 0, highWatermark: end, logEndOffset: end, sizeBytes: 0 };
            });
            return { name, topicId: `id-${name}`, partitions: parts, configs: [] };
          });
          cb(null, { topics });
        }),
        DeleteTopics: guarded(id, 'DeleteTopics', (call, cb) => {
          const names = (call.request as { names: string[] }).names;
          cb(null, { topics: names.map((name) => (partitions.delete(name) ? { name } : { name, error: wire({ code: 'UNKNOWN_TOPIC_OR_PARTITION' }) })) });
        }),
      },
    };
  }

  for (let id = 1; id <= opts.brokers; id++) {
    const server = new grpc.Server();
    const impl = services(id);
    server.addService(v1.MetadataService.service, impl.Metadata!);
    server.addService(v1.ProduceService.service, impl.Produce!);
    server.addService(v1.FetchService.service, impl.Fetch!);
    server.addService(v1.AdminService.service, impl.Admin!);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    servers.set(id, server);
    ports.set(id, port);
  }
  cluster.bootstrap = [...ports.keys()].map((id) => cluster.address(id)).join(',');
  return cluster;
}

function injected(e: Partial<WireError> | undefined): WireError | undefined {
  return e ? wire({ code: 'UNKNOWN_SERVER_ERROR', ...e }) : undefined;
}
