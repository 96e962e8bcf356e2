/**
 * Who leads what, as last heard from the cluster: topic → partitions → leader address.
 *
 * Filled from the Metadata RPC (asked of any known broker, bootstrap first), with
 * `allowAutoTopicCreation: true` as Kafka producers do. Refreshes are coalesced: any number of
 * callers asking for any topics while a request is out share the next request, which carries every
 * topic the cache knows plus the new ones. Two requests are at least `refreshBackoffMs` apart, so an
 * error storm cannot turn into a metadata storm. Entries older than `maxAgeMs` are refreshed on use.
 *
 * `topic()` is synchronous for the producer's hot path; `getTopic()` waits for metadata when the
 * topic is unknown, stale or errored, and throws its FerryError once retries are spent.
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';
import type { MetadataResponse__Output } from '../generated/ferry/v1/MetadataResponse.js';
import { unary, type ConnectionPool } from './connection-pool.js';
import { fromResponseError, isRetriableForClient } from './errors.js';
import { sleep, withRetry } from './retry.js';
import type { ClusterMetadata, Logger, RetryOptions } from './types.js';

export interface PartitionLeader {
  leaderId: number;
  leaderEpoch: number;
  /** null when there is no leader right now (election in progress) or its address is unknown. */
  address: string | null;
}

export interface TopicInfo {
  readonly name: string;
  readonly numPartitions: number;
  /** Indexed by partition number. */
  readonly partitions: readonly PartitionLeader[];
  /** Set when the broker answered with a topic-level error (unknown topic, no leader yet...). */
  readonly error: FerryError | null;
  readonly fetchedAtMs: number;
}

export interface MetadataCacheOptions {
  bootstrap: string[];
  requestTimeoutMs: number;
  retry: RetryOptions;
  refreshBackoffMs: number;
  maxAgeMs: number;
  logger: Logger;
}

/** Hosts a broker may advertise that mean "the address you reached me on". */
const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::', '[::]']);

function hostOf(address: string): string {
  const i = address.lastIndexOf(':');
  return i < 0 ? address : address.slice(0, i);
}

export class MetadataCache {
  private readonly topics = new Map<string, TopicInfo>();
  private readonly brokers = new Map<number, string>();
  private readonly wanted = new Set<string>();
  private inflight: Promise<void> | null = null;
  private lastRequestMs = 0;
  private nextBroker = 0;
  private closed = false;

  constructor(
    private readonly pool: ConnectionPool,
    private readonly options: MetadataCacheOptions,
  ) {}

  /** Cached topic, or undefined (unknown or never fetched). Never does I/O. */
  topic(name: string): TopicInfo | undefined {
    return this.topics.get(name);
  }

  leaderAddress(topic: string, partition: number): string | null {
    return this.topics.get(topic)?.partitions[partition]?.address ?? null;
  }

  /** Known broker addresses first, then the bootstrap list: where to send cluster-wide requests. */
  addresses(): string[] {
    const seen = new Set<string>(this.brokers.values());
    for (const b of this.options.bootstrap) seen.add(b);
    return [...seen];
  }

  /** Marks topics (all when omitted) for refresh on next use. */
  markStale(topics?: Iterable<string>): void {
    const names = topics ? [...topics] : [...this.topics.keys()];
    for (const name of names) {
      const t = this.topics.get(name);
      if (t) this.topics.set(name, { ...t, fetchedAtMs: 0 });
    }
  }

  /** The topic's metadata, fetched if missing, stale or errored; throws its FerryError after retries. */
  async getTopic(name: string): Promise<TopicInfo> {
    const cached = this.topics.get(name);
    if (cached && cached.error === null && !this.isStale(cached)) return cached;
    return withRetry(
      async () => {
        await this.refresh([name]);
        const t = this.topics.get(name);
        if (!t) throw new FerryError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} not in metadata`);
        if (t.error) throw t.error;
        return t;
      },
      this.options.retry,
      { isCancelled: () => this.closed },
    );
  }

  isStale(t: TopicInfo): boolean {
    return Date.now() - t.fetchedAtMs > this.options.maxAgeMs;
  }

  /** Fetches metadata for `topics` (plus every cached topic). Coalesced with requests in flight. */
  refresh(topics: Iterable<string>): Promise<void> {
    for (const t of topics) this.wanted.add(t);
    if (!this.inflight) {
      this.inflight = this.drainWanted().finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  private async drainWanted(): Promise<void> {
    while (this.wanted.size > 0 && !this.closed) {
      const wait = this.lastRequestMs + this.options.refreshBackoffMs - Date.now();
      if (wait > 0) await sleep(wait);
      const names = new Set([...this.topics.keys(), ...this.wanted]);
      this.wanted.clear();
      this.lastRequestMs = Date.now();
      const res = await this.request([...names], true, false);
      this.apply(res.response, res.address);
    }
  }

  /** One Metadata RPC, trying each known broker in turn; rejects with the last error when all fail. */
  async request(
    topics: string[],
    allowAutoTopicCreation: boolean,
    includeInternal: boolean,
  ): Promise<{ response: MetadataResponse__Output; address: string }> {
    const addresses = this.addresses();
    let lastError: FerryError | undefined;
    for (let i = 0; i < addresses.length; i++) {
      const address = addresses[(this.nextBroker + i) % addresses.length]!;
      try {
        const client = this.pool.get(address).metadata;
        const response = await unary<MetadataResponse__Output>(
          (o, cb) => client.Metadata({ topics, allowAutoTopicCreation, includeInternal }, o, cb),
          this.options.requestTimeoutMs,
        );
        return { response, address };
      } catch (err) {
        lastError = err as FerryError;
        // Try the next broker next time too, so one dead bootstrap address is not asked first forever.
        this.nextBroker = (this.nextBroker + i + 1) % addresses.length;
        this.options.logger.debug({ address, err: lastError.message }, 'metadata request failed');
        if (!isRetriableForClient(lastError)) throw lastError;
      }
    }
    throw lastError ?? new FerryError(ErrorCode.BROKER_NOT_AVAILABLE, 'no broker address to ask for metadata');
  }

  /** Folds a response into the cache. Exposed for tests. */
  apply(res: MetadataResponse__Output, askedAddress: string): void {
    const now = Date.now();
    for (const b of res.brokers) {
      const host = WILDCARD_HOSTS.has(b.host) ? hostOf(askedAddress) : b.host;
      this.brokers.set(b.nodeId, `${host}:${b.port}`);
    }
    for (const t of res.topics) {
      const error = fromResponseError(t.error);
      const partitions: PartitionLeader[] = [];
      for (const p of t.partitions) {
        partitions[p.partition] = {
          leaderId: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          address: p.leaderId >= 0 ? (this.brokers.get(p.leaderId) ?? null) : null,
        };
      }
      // A sparse answer (some partitions missing) would leave holes; fill them as leaderless.
      for (let i = 0; i < partitions.length; i++) {
        if (!partitions[i]) partitions[i] = { leaderId: -1, leaderEpoch: -1, address: null };
      }
      if (error && error.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
        this.topics.set(t.name, { name: t.name, numPartitions: 0, partitions: [], error, fetchedAtMs: now });
        continue;
      }
      this.topics.set(t.name, { name: t.name, numPartitions: partitions.length, partitions, error, fetchedAtMs: now });
    }
  }

  /** Uncached cluster view for Admin.metadata(). */
  async cluster(topics: string[] | undefined, includeInternal: boolean): Promise<ClusterMetadata> {
    const { response, address } = await withRetry(() => this.request(topics ?? [], false, includeInternal), this.options.retry, {
      isCancelled: () => this.closed,
    });
    this.apply(response, address);
    return {
      clusterId: response.clusterId,
      controllerId: response.controllerId,
      brokers: response.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      topics: response.topics.map((t) => {
        const err = fromResponseError(t.error);
        if (err) throw err;
        return {
          name: t.name,
          topicId: t.topicId,
          isInternal: t.isInternal,
          partitions: t.partitions.map((p) => ({
            partition: p.partition,
            leaderId: p.leaderId,
            leaderEpoch: p.leaderEpoch,
            replicas: p.replicas,
            isr: p.isr,
            offlineReplicas: p.offlineReplicas,
          })),
        };
      }),
    };
  }

  close(): void {
    this.closed = true;
  }
}
