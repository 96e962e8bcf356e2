/**
 * The contract every system in the peer benchmark implements (ferry.ts, redis.ts, nats.ts,
 * rabbitmq.ts), so the workloads drive them all the same way.
 *
 * A *target* is one ordered log of the system: a Ferry topic (with its partitions), a Redis stream
 * key, a JetStream stream, a RabbitMQ queue. The parent creates fresh targets for every run through
 * `PeerAdmin`, forked worker processes produce to and consume from them through `PeerProducer` and
 * `PeerConsumer`, and the parent deletes them afterwards. Everything a worker needs travels in
 * `ClientConfig` (JSON over argv), so adapters hold no state shared between processes.
 */
import type { WorkloadName } from './options.js';

export const SYSTEM_NAMES = ['ferry', 'ferry-rf3', 'redis', 'nats', 'rabbitmq'] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];

/**
 * fsync: the system makes a write durable on disk before it acknowledges it.
 * os: the write reaches the OS (or only memory, see `Durability.weaker`) before the ack; fsync, if
 * any, happens later in the background.
 */
export const DURABILITY_MODES = ['fsync', 'os'] as const;
export type DurabilityMode = (typeof DURABILITY_MODES)[number];

export interface Durability {
  /** False: the system has no setting for this mode here; the cell is skipped with `description` as the reason. */
  supported: boolean;
  /** The setting in a few words, shown beside every figure (e.g. "appendfsync always"). */
  setting: string;
  /** When it fsyncs, in a sentence, for the durability table. */
  description: string;
  /** True when the setting keeps less than the others in its mode (e.g. messages only in memory). */
  weaker?: boolean;
  /**
   * Weaker in some workloads only, with the reason noted beside their figures: e.g. a system that
   * hands consumers values before its fsync is not like with like in e2e latency of the fsync mode.
   */
  weakerIn?: { workloads: readonly WorkloadName[]; why: string };
}

export interface ServerHandle {
  /** What clients connect to (host:port, or a URL). */
  endpoint: string;
  /** Root of the server's process tree: its CPU time is what the report counts as server CPU. */
  pid: number;
  dataDir: string;
  logFile: string;
  /** Stops the whole process tree (grace period, then SIGKILL) and removes the data directory. */
  stop(): Promise<void>;
}

export interface ClientConfig {
  endpoint: string;
  mode: DurabilityMode;
  /** Ferry partitions per topic, or how many targets the other systems use. */
  partitions: number;
  /** Ferry only: lingerMs of paced (e2e) producers; absent = the SDK default. */
  ferryE2eLingerMs?: number;
  /** Ferry only: the consumers' transport; absent = the SDK default. */
  ferryConsumerTransport?: 'stream' | 'fetch';
}

export interface PeerAdmin {
  /** Creates fresh, empty targets named from `base`; returns their names (Ferry: one topic). */
  createTargets(base: string): Promise<string[]>;
  deleteTargets(targets: string[]): Promise<void>;
  close(): Promise<void>;
}

export interface ProducerOptions {
  /** e2e: a few values per call, every millisecond, latency matters more than batching. */
  paced: boolean;
}

export interface PeerProducer {
  /** Sends the values to one target; resolves once the system acknowledged all of them. */
  sendChunk(target: string, values: Buffer[]): Promise<void>;
  close(): Promise<void>;
}

/** Called with each batch of values as delivered (the consumer may reuse nothing it passed). */
export type ValuesSink = (values: Uint8Array[]) => void;

export interface ConsumeOptions {
  live: boolean;
  /** A read loop failed after start() returned (the worker fails the run). */
  onError: (err: unknown) => void;
}

export interface PeerConsumer {
  /**
   * Starts reading every target from its first record and delivers batches to `sink` until
   * closed. `live`: records may still be arriving (e2e), so reads should block/wait instead of
   * treating an empty read as the end.
   */
  start(targets: string[], sink: ValuesSink, opts: ConsumeOptions): Promise<void>;
  close(): Promise<void>;
}

export interface PeerSystem {
  name: SystemName;
  /** The well-known Node client used, for the report. */
  clientPackage: string;
  durability(mode: DurabilityMode, opts: ServerStartOptions): Durability;
  startServer(mode: DurabilityMode, opts: ServerStartOptions): Promise<ServerHandle>;
  openAdmin(config: ClientConfig): Promise<PeerAdmin>;
  openProducer(config: ClientConfig, opts: ProducerOptions): Promise<PeerProducer>;
  openConsumer(config: ClientConfig): Promise<PeerConsumer>;
  /** Server version string, read from the installed binary. */
  serverVersion(): Promise<string>;
}

export interface ServerStartOptions {
  /** Node flags for a server that runs on Node (Ferry), e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** Redis's relaxed setting: `no` (write to the OS, never fsync) or `everysec`. */
  redisRelaxed?: 'no' | 'everysec';
}
