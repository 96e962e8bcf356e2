/**
 * Who leads what, as last heard from the cluster: topic → partitions → leader address and epoch.
 *
 * Filled from the Metadata RPC, asked of any broker this client knows (broker-addresses.ts: the
 * brokers of the last response, then the bootstrap list, live ones first; a broker that cannot be
 * connected to within `connectTimeoutMs` is skipped for the next), with `allowAutoTopicCreation:
 * true` as Kafka producers do. Refreshes are coalesced: any number of callers asking for any topics
 * while a request is out share the next request, which carries every topic the cache knows plus the
 * new ones. Two requests are at least `refreshBackoffMs` apart, so an error storm cannot turn into a
 * metadata storm. Entries older than `maxAgeMs` are refreshed on use.
 *
 * Leader epochs only move forward (KIP-320): a response from a broker whose metadata lags, naming an
 * older leader epoch than the one cached for the same topic id, does not move the leader back. A
 * leader hint in a NOT_LEADER_OR_FOLLOWER error (`applyLeaderHint`) updates one partition at once,
 * so a retry need not wait for a metadata round trip.
 *
 * `topic()` is synchronous for the producer's hot path; `getTopic()` waits for metadata when the
 * topic is unknown, stale or errored, and throws its FerryError once retries are spent.
 */
import { ErrorCode, FerryError, type LeaderHint } from '../protocol/errors.js';
import type { MetadataResponse__Output } from '../generated/ferry/v1/MetadataResponse.js';
import { BrokerAddresses, advertisedAddress, normalizeAddress } from './broker-addresses.js';
import { awaitConnected, unary, type ConnectionPool } from './connection-pool.js';
import { fromResponseError, isConnectionError, isRetriableForClient, toFerryError } from './errors.js';
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
  /** '' when the broker did not say. */
  readonly topicId: string;
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
  connectTimeoutMs: number;
  retry: RetryOptions;
  refreshBackoffMs: number;
  maxAgeMs: number;
  logger: Logger;
}

const NO_LEADER: PartitionLeader = Object.freeze({ leaderId: -1, leaderEpoch: -1, address: null });

export class MetadataCache {
  private readonly topics = new Map<string, TopicInfo>();
  private readonly brokers: BrokerAddresses;
  private readonly wanted = new Set<string>();
  private inflight: Promise<void> | null = null;
  private lastRequestMs = 0;
  private closed = false;

  constructor(
    private readonly pool: ConnectionPool,
    private readonly options: MetadataCacheOptions,
  ) {
    this.brokers = new BrokerAddresses(options.bootstrap);
  }

  /** Cached topic, or undefined (unknown or never fetched). Never does I/O. */
  topic(name: string): TopicInfo | undefined {
    return this.topics.get(name);
  }

  leaderAddress(topic: string, partition: number): string | null {
    return this.topics.get(topic)?.partitions[partition]?.address ?? null;
  }

  /** The cached leader epoch of a partition; -1 when unknown (requests then skip epoch fencing). */
  leaderEpoch(topic: string, partition: number): number {
    return this.topics.get(topic)?.partitions[partition]?.leaderEpoch ?? -1;
  }

  /** The address of broker `nodeId` from the last metadata response; undefined when not known. */
  brokerAddress(nodeId: number): string | undefined {
    return this.brokers.addressOf(nodeId);
  }

  /** Where to send requests any broker can answer, in the order to try them (see broker-addresses.ts). */
  addresses(): string[] {
    return this.brokers.candidates();
  }

  /** A request to `address` failed at the connection level: try other brokers first from now on. */
  brokerFailed(address: string): void {
    this.brokers.markFailed(address);
  }

  brokerAnswered(address: string): void {
    this.brokers.markOk(address);
  }

  /** Marks topics (all when omitted) for refresh on next use. */
  markStale(topics?: Iterable<string>): void {
    const names = topics ? [...topics] : [...this.topics.keys()];
    for (const name of names) {
      const t = this.topics.get(name);
      if (t) this.topics.set(name, { ...t, fetchedAtMs: 0 });
    }
  }

  /**
   * Takes the leader named by an error's hint for one partition, if its epoch is newer than the
   * cached one. `askedAddress` is the broker that sent the hint (for a wildcard host in it).
   * Returns whether the cache changed.
   */
  applyLeaderHint(topic: string, partition: number, hint: LeaderHint, askedAddress: string): boolean {
    const t = this.topics.get(topic);
    const cached = t?.partitions[partition];
    if (!t || !cached || hint.leaderId < 0 || hint.leaderEpoch < 0 || hint.leaderEpoch <= cached.leaderEpoch) return false;
    const address = this.brokers.addressOf(hint.leaderId) ?? (normalizeAddress(hint.leaderAddress, askedAddress) || null);
    const partitions = [...t.partitions];
    partitions[partition] = { leaderId: hint.leaderId, leaderEpoch: hint.leaderEpoch, address };
    this.topics.set(topic, { ...t, partitions });
    this.options.logger.debug({ topic, partition, leaderId: hint.leaderId, leaderEpoch: hint.leaderEpoch, address }, 'leader hint applied');
    return true;
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

  /**
   * One Metadata RPC, trying every known broker in turn (live ones first), each given
   * `connectTimeoutMs` to connect; rejects with the last error when none answers.
   */
  async request(
    topics: string[],
    allowAutoTopicCreation: boolean,
    includeInternal: boolean,
  ): Promise<{ response: MetadataResponse__Output; address: string }> {
    let lastError: FerryError | undefined;
    for (const address of this.brokers.candidates()) {
      if (this.closed) break;
      try {
        const clients = this.pool.get(address);
        await awaitConnected(clients, this.options.connectTimeoutMs);
        const response = await unary<MetadataResponse__Output>(
          (o, cb) => clients.metadata.Metadata({ topics, allowAutoTopicCreation, includeInternal }, o, cb),
          this.options.requestTimeoutMs,
        );
        this.brokers.markOk(address);
        return { response, address };
      } catch (err) {
        lastError = toFerryError(err);
        if (isConnectionError(lastError)) this.brokers.markFailed(address);
        this.options.logger.debug({ address, code: lastError.code, err: lastError.message }, 'metadata request failed');
        if (!isRetriableForClient(lastError)) throw lastError;
      }
    }
    throw lastError ?? new FerryError(ErrorCode.BROKER_NOT_AVAILABLE, 'no broker address to ask for metadata');
  }

  /** Folds a response into the cache. Exposed for tests. */
  apply(res: MetadataResponse__Output, askedAddress: string): void {
    const now = Date.now();
    this.brokers.setBrokers(res.brokers.map((b) => ({ nodeId: b.nodeId, address: advertisedAddress(b.host, b.port, askedAddress) })));
    for (const t of res.topics) {
      const error = fromResponseError(t.error);
      if (error && error.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
        this.topics.set(t.name, { name: t.name, topicId: t.topicId, numPartitions: 0, partitions: [], error, fetchedAtMs: now });
        continue;
      }
      const old = this.topics.get(t.name);
      // Epochs of a deleted and re-created topic start again: compare only within one topic id.
      const sameTopic = old !== undefined && old.topicId === t.topicId;
      const partitions: PartitionLeader[] = [];
      for (const p of t.partitions) {
        const cached = sameTopic ? old.partitions[p.partition] : undefined;
        if (cached && p.leaderEpoch >= 0 && p.leaderEpoch < cached.leaderEpoch) {
          partitions[p.partition] = cached; // this broker's metadata lags: keep the newer leader
          continue;
        }
        partitions[p.partition] = {
          leaderId: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          address: p.leaderId >= 0 ? (this.brokers.addressOf(p.leaderId) ?? null) : null,
        };
      }
      // A sparse answer (some partitions missing) would leave holes; fill them as leaderless.
      for (let i = 0; i < partitions.length; i++) if (!partitions[i]) partitions[i] = NO_LEADER;
      this.topics.set(t.name, { name: t.name, topicId: t.topicId, numPartitions: partitions.length, partitions, error, fetchedAtMs: now });
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
