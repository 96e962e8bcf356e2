/**
 * The consumer's I/O half: keeps records coming from each assigned partition's leader and hands
 * decoded results to the consumer's buffer. Two transports (option `transport`):
 *  - 'stream' (default): one server-streaming Consume call per broker for all the partitions it
 *    leads (consume-stream.ts). The broker pushes records as they become visible; the stream is
 *    re-opened whenever its partition set must change (seek, pause, reassignment, a leader move, a
 *    partition error), paused while the buffer is full, and watched by heartbeats. A broker that
 *    answers UNIMPLEMENTED is fetched from instead.
 *  - 'fetch': long-poll Fetch requests, Kafka's way (below).
 *
 * Per partition, two offsets: `fetchOffset` (next offset to ask the broker for) runs ahead of
 * `position` (next offset the application gets) by whatever is buffered. As soon as a partition's
 * fetch is answered it is fetched again, while the application works through the previous result
 * (pipelining), until `maxBufferedBytes` of fetched data wait in the buffer.
 *
 * `epoch` is bumped by seek/pause/reassignment; results fetched under an older epoch are dropped,
 * so nothing fetched before a seek can reach the application after it.
 *
 * Leadership: each fetch names the partition's leader epoch from metadata (`current_leader_epoch`),
 * so a deposed leader answers FENCED_LEADER_EPOCH instead of serving data it may later truncate,
 * and a broker behind the metadata answers UNKNOWN_LEADER_EPOCH.
 *
 * Errors: OFFSET_OUT_OF_RANGE → autoOffsetReset ('none' reports the error); retriable errors (leader
 * moved or fenced, no leader, broker unreachable) → the error's leader hint when it names a newer
 * epoch, else a metadata refresh, and an exponential backoff of that partition; the partition then
 * resumes from its fetch offset on whoever leads (nothing skipped, nothing repeated). Anything else
 * is reported to the consumer and the partition backs off.
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';
import type { FetchResponse__Output } from '../generated/ferry/v1/FetchResponse.js';
import { unary } from './connection-pool.js';
import type { ClientContext } from './context.js';
import { fromResponseError, isConnectionError, isRetriableForClient, needsMetadataRefresh, toFerryError } from './errors.js';
import { ConsumeStream, type ConsumeStreamMember } from './consume-stream.js';
import { DeadlineTimer } from './deadline-timer.js';
import { decodeFetchedRecords, nextFetchOffset } from './fetch-decoder.js';
import { listOffsets, specToTimestamp } from './list-offsets.js';
import type { ResolvedConsumerOptions } from './options.js';
import { backoffMs } from './retry.js';
import type { ConsumerRecord, OffsetSpec } from './types.js';

/** Concurrent fetch requests to one broker, each for a share of the partitions it leads. */
export const FETCH_REQUESTS_PER_BROKER = 2;
/** Per-partition fetch limit for a consumer of a single partition (see partitionFetchBytes). */
export const ADAPTIVE_PARTITION_FETCH_MAX_BYTES = 16 * 1024 * 1024;
/**
 * Largest message a Consume stream is asked to push. A stream overlaps transfers by itself, so big
 * messages buy nothing: with 300k stored records (peer harness, os mode, 2 runs per size) 1 MiB
 * used the least consumer CPU (0.27 s at 100 B, 0.52 s at 1 KiB) against 0.36 / 0.55 s at 2 MiB,
 * 0.38 / 0.59 s at 4 MiB and 0.40 / 0.85 s at 16 MiB (grpc-js assembles each message in one buffer).
 */
export const STREAM_MESSAGE_MAX_BYTES = 1024 * 1024;
/** Heartbeat interval asked of a quiet Consume stream: fetchMaxWaitMs, at least this. */
export const STREAM_MIN_HEARTBEAT_MS = 100;

export class PartitionState {
  /** Next offset to fetch; meaningful only when `reset` is null. */
  fetchOffset = -1;
  /** Next offset the application will see; -1 until known. */
  position = -1;
  /**
   * Next offset after the records the application has finished with (what a group commit may
   * store); -1 = none delivered since the last move, so `position` is exact.
   */
  processed = -1;
  paused = false;
  /** Bumped whenever buffered/in-flight data for this partition must be discarded. */
  epoch = 0;
  inFlight = false;
  /** Pending offset lookup (unset offset, out of range, or a seek by time); null = offset known. */
  reset: OffsetSpec | null = null;
  resetting = false;
  retryAtMs = 0;
  failures = 0;
  highWatermark = -1;
  /** The Consume stream feeding this partition ('stream' transport); `inFlight` while set. */
  stream: ConsumeStream | null = null;
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Moves both offsets to `offset`, discarding anything fetched before. */
  moveTo(offset: number): void {
    this.fetchOffset = offset;
    this.position = offset;
    this.processed = -1;
    this.reset = null;
    this.epoch++;
  }
}

export interface CompletedFetch {
  state: PartitionState;
  epoch: number;
  records: ConsumerRecord[];
  /** Next record to hand out. */
  index: number;
  highWatermark: number;
  bytes: number;
}

/** One partition's fetched bytes waiting to be decoded. */
interface Decodable {
  s: PartitionState;
  epoch: number;
  buf: Buffer;
  /** The fetch offset the bytes were asked from (records below it are skipped). */
  from: number;
  highWatermark: number;
}

export interface FetchSink {
  onFetched(cf: CompletedFetch): void;
  onError(err: FerryError, state: PartitionState): void;
}

export function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class Fetcher {
  readonly states = new Map<string, PartitionState>();
  /** Bytes of fetched data waiting in the consumer's buffer. */
  bufferedBytes = 0;
  running = false;
  private readonly timer = new DeadlineTimer(() => this.tick());
  private tickScheduled = false;
  /** Open Consume streams by broker address (at most one each). */
  private readonly streams = new Map<string, ConsumeStream>();
  /** Brokers that answered Consume with UNIMPLEMENTED: fetched from with unary Fetch. */
  private readonly fetchOnly = new Set<string>();

  constructor(
    private readonly ctx: ClientContext,
    private readonly options: ResolvedConsumerOptions,
    private readonly sink: FetchSink,
  ) {}

  /** Schedules a pass (coalesced). */
  tick(): void {
    if (this.tickScheduled || !this.running) return;
    this.tickScheduled = true;
    queueMicrotask(() => {
      this.tickScheduled = false;
      this.pass();
    });
  }

  stop(): void {
    this.running = false;
    this.timer.clear();
    for (const stream of [...this.streams.values()]) this.closeStream(stream);
  }

  private arm(delayMs: number): void {
    this.timer.arm(delayMs);
  }

  private backoff(state: PartitionState, now: number): void {
    state.failures++;
    state.retryAtMs = now + backoffMs(state.failures, this.options.retryBackoffMs, this.options.retryBackoffMaxMs);
  }

  private pass(): void {
    if (!this.running) return;
    const now = Date.now();
    let nextRetry = Infinity;
    const toReset: PartitionState[] = [];
    const byAddress = new Map<string, PartitionState[]>();
    const unknownLeader = new Set<string>();
    const bufferFull = this.bufferedBytes >= this.options.maxBufferedBytes;
    if (this.streams.size > 0) this.checkStreams(bufferFull);
    for (const s of this.states.values()) {
      if (s.paused || s.inFlight || s.resetting) continue;
      if (s.retryAtMs > now) {
        nextRetry = Math.min(nextRetry, s.retryAtMs);
        continue;
      }
      if (s.reset !== null) {
        toReset.push(s);
        continue;
      }
      if (s.fetchOffset < 0) continue; // waits for seek()
      if (bufferFull) continue; // consumption ticks us again
      const address = this.ctx.metadata.leaderAddress(s.topic, s.partition);
      if (address === null) {
        unknownLeader.add(s.topic);
        continue;
      }
      let list = byAddress.get(address);
      if (!list) byAddress.set(address, (list = []));
      list.push(s);
    }
    if (toReset.length > 0) this.resetOffsets(toReset);
    for (const [address, states] of byAddress) {
      if (this.options.transport === 'stream' && !this.fetchOnly.has(address)) {
        this.streamFrom(address, states);
        continue;
      }
      // Split a broker's partitions over up to FETCH_REQUESTS_PER_BROKER requests, so one set's result is
      // decoded and processed while the other's is read and shipped (a single fetch in flight
      // leaves both sides idle half the time).
      const requests = Math.min(FETCH_REQUESTS_PER_BROKER, states.length);
      for (let r = 0; r < requests; r++) this.fetchFrom(address, states.filter((_, i) => i % requests === r));
    }
    if (unknownLeader.size > 0) {
      this.ctx.metadata.refresh(unknownLeader).then(
        () => this.arm(0),
        (err: unknown) => {
          this.ctx.logger.warn({ err: toFerryError(err).message }, 'consumer metadata refresh failed');
          this.arm(this.options.retryBackoffMs);
        },
      );
    }
    if (nextRetry !== Infinity) this.arm(nextRetry - now);
  }

  /**
   * Closes streams that no longer match their partitions (removed, sought, paused, reset, led
   * elsewhere), so this pass regroups those partitions; pauses or resumes the rest with the buffer.
   */
  private checkStreams(bufferFull: boolean): void {
    for (const stream of [...this.streams.values()]) {
      const stale = stream.members.some(
        (m) =>
          m.state.stream !== stream ||
          m.state.epoch !== m.epoch ||
          m.state.paused ||
          m.state.reset !== null ||
          this.states.get(tpKey(m.state.topic, m.state.partition)) !== m.state ||
          this.ctx.metadata.leaderAddress(m.state.topic, m.state.partition) !== stream.address,
      );
      if (stale) this.closeStream(stream);
      else if (bufferFull) stream.pause();
      else stream.resume();
    }
  }

  /** Cancels a stream; returns its partitions, free for the next pass (from their fetch offsets). */
  private closeStream(stream: ConsumeStream): PartitionState[] {
    stream.cancel();
    return this.detach(stream);
  }

  private detach(stream: ConsumeStream): PartitionState[] {
    if (this.streams.get(stream.address) === stream) this.streams.delete(stream.address);
    const freed: PartitionState[] = [];
    for (const m of stream.members) {
      if (m.state.stream !== stream) continue;
      m.state.stream = null;
      m.state.inFlight = false;
      if (m.state.epoch === m.epoch) freed.push(m.state);
    }
    return freed;
  }

  /**
   * Streams `states` from the broker at `address`. A broker has one stream: if one is open, it is
   * replaced by a stream for its partitions and these together (what it had received is kept; what
   * was on the way is fetched again from the fetch offsets).
   */
  private streamFrom(address: string, states: PartitionState[]): void {
    const o = this.options;
    const previous = this.streams.get(address);
    if (previous) states = states.concat(this.closeStream(previous));
    const members: ConsumeStreamMember[] = states.map((state) => ({ state, epoch: state.epoch }));
    const heartbeatMs = Math.max(STREAM_MIN_HEARTBEAT_MS, o.fetchMaxWaitMs);
    const stream = new ConsumeStream(address, members, heartbeatMs, this.ctx.requestTimeoutMs, {
      onMessage: (st, res) => this.onStreamMessage(st, res),
      onClosed: (st, err, unimplemented) => this.onStreamClosed(st, err, unimplemented),
    });
    const partitionMaxBytes = Math.min(this.partitionFetchBytes(), STREAM_MESSAGE_MAX_BYTES);
    const topics = new Map<string, { partition: number; fetchOffset: number; partitionMaxBytes: number; currentLeaderEpoch: number }[]>();
    for (const s of states) {
      s.inFlight = true;
      s.stream = stream;
      let parts = topics.get(s.topic);
      if (!parts) topics.set(s.topic, (parts = []));
      parts.push({ partition: s.partition, fetchOffset: s.fetchOffset, partitionMaxBytes, currentLeaderEpoch: this.ctx.metadata.leaderEpoch(s.topic, s.partition) });
    }
    this.streams.set(address, stream);
    let client;
    try {
      client = this.ctx.pool.get(address).fetch;
    } catch (err) {
      this.closeStream(stream);
      this.onFetchFailed(address, states, toFerryError(err));
      return;
    }
    stream.open(client, {
      topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
      maxBytes: Math.min(o.fetchMaxBytes, STREAM_MESSAGE_MAX_BYTES),
      heartbeatMs,
      decodeRecords: false,
    });
  }

  private onStreamMessage(stream: ConsumeStream, res: FetchResponse__Output): void {
    const now = Date.now();
    let broken = false;
    const stale = new Set<string>();
    const toDecode: Decodable[] = [];
    for (const t of res.topics) {
      for (const r of t.partitions) {
        const m = stream.byKey.get(tpKey(t.topic, r.partition));
        if (!m) continue;
        const s = m.state;
        if (s.stream !== stream || s.epoch !== m.epoch || !this.running) continue; // the next pass closes it
        const err = fromResponseError(r.error);
        if (err) {
          // The broker dropped this partition from the stream: re-open without it (it backs off).
          broken = true;
          this.onPartitionError(s, err, now);
          const hinted = err.leader !== undefined && this.ctx.metadata.applyLeaderHint(s.topic, s.partition, err.leader, stream.address);
          if (!hinted && needsMetadataRefresh(err)) stale.add(s.topic);
          continue;
        }
        s.highWatermark = r.highWatermark;
        const buf = r.recordBatches;
        if (!buf || buf.length === 0) continue; // a heartbeat
        const from = s.fetchOffset;
        s.fetchOffset = nextFetchOffset(buf, from);
        this.bufferedBytes += buf.length;
        toDecode.push({ s, epoch: s.epoch, buf, from, highWatermark: r.highWatermark });
      }
    }
    if (broken) this.closeStream(stream);
    // Pause at once: grpc-js may hand over several messages decoded from one read before the next pass.
    else if (this.bufferedBytes >= this.options.maxBufferedBytes) stream.pause();
    this.deliver(toDecode, now);
    if (stale.size > 0) this.refresh(stale);
    this.tick();
  }

  private onStreamClosed(stream: ConsumeStream, err: FerryError | null, unimplemented: boolean): void {
    const freed = this.detach(stream);
    if (unimplemented) {
      this.fetchOnly.add(stream.address);
      this.ctx.logger.info({ address: stream.address }, 'broker does not support Consume streams; fetching instead');
    } else if (err !== null && this.running) {
      this.onFetchFailed(stream.address, freed, err);
      return;
    }
    this.tick();
  }

  private resetOffsets(states: PartitionState[]): void {
    const epochs = states.map((s) => s.epoch);
    for (const s of states) s.resetting = true;
    const queries = states.map((s) => ({ topic: s.topic, partition: s.partition, timestamp: specToTimestamp(s.reset!) }));
    listOffsets(this.ctx, queries, () => !this.running).then(
      (answers) => {
        answers.forEach((a, i) => {
          const s = states[i]!;
          s.resetting = false;
          if (s.epoch !== epochs[i]) return; // sought elsewhere meanwhile
          if (a.offset < 0) {
            // No record at or after that time: start at the end, as Kafka does.
            s.reset = 'latest';
            return;
          }
          s.moveTo(a.offset);
          s.failures = 0;
        });
        this.tick();
      },
      (err: unknown) => {
        const e = toFerryError(err);
        const now = Date.now();
        for (const s of states) {
          s.resetting = false;
          this.backoff(s, now);
        }
        if (!isRetriableForClient(e)) for (const s of states) this.sink.onError(e, s);
        this.tick();
      },
    );
  }

  private fetchFrom(address: string, states: PartitionState[]): void {
    const o = this.options;
    const partitionMaxBytes = this.partitionFetchBytes();
    const topics = new Map<string, { partition: number; fetchOffset: number; partitionMaxBytes: number; currentLeaderEpoch: number }[]>();
    const epochs: number[] = [];
    const offsets: number[] = [];
    for (const s of states) {
      s.inFlight = true;
      epochs.push(s.epoch);
      offsets.push(s.fetchOffset);
      let parts = topics.get(s.topic);
      if (!parts) topics.set(s.topic, (parts = []));
      const currentLeaderEpoch = this.ctx.metadata.leaderEpoch(s.topic, s.partition);
      parts.push({ partition: s.partition, fetchOffset: s.fetchOffset, partitionMaxBytes, currentLeaderEpoch });
    }
    const request = {
      maxWaitMs: o.fetchMaxWaitMs,
      minBytes: o.fetchMinBytes,
      maxBytes: o.fetchMaxBytes,
      topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
      decodeRecords: false,
    };
    let client;
    try {
      client = this.ctx.pool.get(address).fetch;
    } catch (err) {
      this.onFetchFailed(address, states, toFerryError(err));
      return;
    }
    unary<FetchResponse__Output>((opts, cb) => client.Fetch(request, opts, cb), this.ctx.requestTimeoutMs + o.fetchMaxWaitMs).then(
      (res) => this.onFetched(address, states, epochs, offsets, res),
      (err: unknown) => this.onFetchFailed(address, states, toFerryError(err)),
    );
  }

  /**
   * Per-partition byte limit. One assigned partition means one fetch in flight, so each result
   * should be big: measured with 1 KiB records, 165k msgs/s at 1 MiB per fetch and 329k at 16 MiB.
   * With several partitions the default 1 MiB stays: two smaller requests in flight overlap better
   * (8 partitions of 100 B: 2.87M msgs/s at 1 MiB, 1.85M at 4 MiB).
   */
  private partitionFetchBytes(): number {
    const o = this.options;
    if (!o.adaptivePartitionFetch || this.states.size !== 1) return o.maxPartitionFetchBytes;
    const grown = Math.min(ADAPTIVE_PARTITION_FETCH_MAX_BYTES, o.fetchMaxBytes, Math.floor(o.maxBufferedBytes / 2));
    return Math.max(o.maxPartitionFetchBytes, grown);
  }

  private onFetchFailed(address: string, states: PartitionState[], err: FerryError): void {
    const now = Date.now();
    for (const s of states) {
      s.inFlight = false;
      this.backoff(s, now);
    }
    this.ctx.logger.debug({ address, code: err.code, err: err.message }, 'fetch failed');
    if (isConnectionError(err)) this.ctx.metadata.brokerFailed(address);
    if (needsMetadataRefresh(err)) this.refresh(new Set(states.map((s) => s.topic)));
    if (!isRetriableForClient(err)) for (const s of states) this.sink.onError(err, s);
    this.tick();
  }

  /** Refreshes leadership of `topics`; the partitions' own backoff decides when they fetch again. */
  private refresh(topics: Set<string>): void {
    this.ctx.metadata.markStale(topics);
    this.ctx.metadata.refresh(topics).then(
      () => this.tick(),
      (err: unknown) => this.ctx.logger.debug({ err: toFerryError(err).message }, 'consumer metadata refresh failed'),
    );
  }

  private onFetched(address: string, states: PartitionState[], epochs: number[], offsets: number[], res: FetchResponse__Output): void {
    const now = Date.now();
    const results = new Map<string, FetchResponse__Output['topics'][number]['partitions'][number]>();
    for (const t of res.topics) for (const p of t.partitions) results.set(tpKey(t.topic, p.partition), p);
    const stale = new Set<string>();
    const toDecode: Decodable[] = [];
    for (let i = 0; i < states.length; i++) {
      const s = states[i]!;
      s.inFlight = false;
      if (s.epoch !== epochs[i] || !this.running) continue; // sought/paused/unassigned meanwhile
      const r = results.get(tpKey(s.topic, s.partition));
      if (!r) continue; // not answered this time: fetched again next pass
      const err = fromResponseError(r.error);
      if (err) {
        this.onPartitionError(s, err, now);
        const hinted = err.leader !== undefined && this.ctx.metadata.applyLeaderHint(s.topic, s.partition, err.leader, address);
        if (!hinted && needsMetadataRefresh(err)) stale.add(s.topic);
        continue;
      }
      s.highWatermark = r.highWatermark;
      const buf = r.recordBatches;
      if (!buf || buf.length === 0) {
        s.failures = 0;
        continue;
      }
      // Advance from batch headers alone, so the next fetch can go out before the records are decoded.
      s.fetchOffset = nextFetchOffset(buf, offsets[i]!);
      this.bufferedBytes += buf.length;
      toDecode.push({ s, epoch: s.epoch, buf, from: offsets[i]!, highWatermark: r.highWatermark });
    }
    // The broker reads and ships the next result while this one is decoded and processed.
    if (toDecode.length > 0) this.pass();
    this.deliver(toDecode, now);
    if (stale.size > 0) this.refresh(stale);
    this.tick();
  }

  /** Decodes fetched bytes and hands the records to the consumer's buffer. */
  private deliver(toDecode: Decodable[], now: number): void {
    for (const d of toDecode) {
      const { s } = d;
      const records: ConsumerRecord[] = [];
      try {
        decodeFetchedRecords(s.topic, s.partition, d.buf, d.from, records);
      } catch (e) {
        // Corrupt data: drop everything buffered or in flight for this partition and fetch again
        // from the application's position after a backoff (moveTo bumps the epoch).
        this.bufferedBytes -= d.buf.length;
        if (s.epoch === d.epoch) s.moveTo(s.position >= 0 ? s.position : d.from);
        this.backoff(s, now);
        this.sink.onError(toFerryError(e), s);
        continue;
      }
      s.failures = 0;
      if (records.length > 0) this.sink.onFetched({ state: s, epoch: d.epoch, records, index: 0, highWatermark: d.highWatermark, bytes: d.buf.length });
      else this.bufferedBytes -= d.buf.length;
    }
  }

  private onPartitionError(s: PartitionState, err: FerryError, now: number): void {
    if (err.code === ErrorCode.OFFSET_OUT_OF_RANGE) {
      const policy = this.options.autoOffsetReset;
      if (policy === 'none') {
        this.backoff(s, now);
        this.sink.onError(
          new FerryError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${s.fetchOffset} of ${s.topic}-${s.partition} is out of range and autoOffsetReset is 'none'`),
          s,
        );
      } else {
        this.ctx.logger.info({ topic: s.topic, partition: s.partition, offset: s.fetchOffset, reset: policy }, 'offset out of range; resetting');
        s.reset = policy;
      }
      return;
    }
    this.backoff(s, now);
    if (!isRetriableForClient(err)) this.sink.onError(err, s);
  }
}
