/**
 * Defaults and validation of every client option, in one place. Bad options throw a FerryError
 * (INVALID_CONFIG) naming the option, the value and what is allowed, at construction time.
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { DEFAULT_RETRY } from './retry.js';
import type { AssignorName, AutoOffsetReset, ConsumerOptions, ConsumerTransport, FerryOptions, PartitionerName, ProducerOptions, ProducerTransport, RetryOptions } from './types.js';

const MiB = 1024 * 1024;

function invalid(name: string, value: unknown, expected: string): FerryError {
  return new FerryError(ErrorCode.INVALID_CONFIG, `invalid ${name}=${JSON.stringify(value)}: expected ${expected}`);
}

/** An integer in [min, max] (Infinity allowed as max when `allowInfinity`), or the default. */
function int(name: string, value: number | undefined, def: number, min: number, max = Number.MAX_SAFE_INTEGER, allowInfinity = false): number {
  if (value === undefined) return def;
  if (allowInfinity && value === Infinity) return value;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(name, value, `an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '∞' : max}]`);
  }
  return value;
}

function oneOf<T extends string | number>(name: string, value: T | undefined, def: T, allowed: readonly T[]): T {
  if (value === undefined) return def;
  if (!allowed.includes(value)) throw invalid(name, value, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  return value;
}

const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[^\s:/]+):(\d{1,5})$/;

export interface ResolvedFerryOptions {
  bootstrap: string[];
  clientId: string;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  retry: RetryOptions;
  maxMessageBytes: number;
  metadataRefreshBackoffMs: number;
  metadataMaxAgeMs: number;
}

export function resolveFerryOptions(o: FerryOptions): ResolvedFerryOptions {
  if (!o || (typeof o.bootstrap !== 'string' && !Array.isArray(o.bootstrap))) {
    throw invalid('bootstrap', o?.bootstrap, "'host:port' or an array of them");
  }
  const bootstrap = (Array.isArray(o.bootstrap) ? o.bootstrap : o.bootstrap.split(','))
    .map((s) => (typeof s === 'string' ? s.trim() : s))
    .filter((s) => s !== '');
  if (bootstrap.length === 0) throw invalid('bootstrap', o.bootstrap, 'at least one host:port');
  for (const b of bootstrap) if (typeof b !== 'string' || !ADDRESS.test(b)) throw invalid('bootstrap', b, 'host:port');
  const r = o.retry ?? {};
  return {
    bootstrap,
    clientId: o.clientId ?? 'ferry-js',
    requestTimeoutMs: int('requestTimeoutMs', o.requestTimeoutMs, 30_000, 1),
    connectTimeoutMs: int('connectTimeoutMs', o.connectTimeoutMs, 10_000, 1, 2 ** 31 - 1),
    retry: {
      retries: int('retry.retries', r.retries, DEFAULT_RETRY.retries, 0),
      initialRetryTimeMs: int('retry.initialRetryTimeMs', r.initialRetryTimeMs, DEFAULT_RETRY.initialRetryTimeMs, 0),
      maxRetryTimeMs: int('retry.maxRetryTimeMs', r.maxRetryTimeMs, DEFAULT_RETRY.maxRetryTimeMs, 0),
    },
    maxMessageBytes: int('maxMessageBytes', o.maxMessageBytes, 256 * MiB, 1024, 2 ** 31 - 1),
    metadataRefreshBackoffMs: int('metadataRefreshBackoffMs', o.metadataRefreshBackoffMs, 100, 0),
    metadataMaxAgeMs: int('metadataMaxAgeMs', o.metadataMaxAgeMs, 300_000, 0),
  };
}

export interface ResolvedProducerOptions {
  acks: 0 | 1 | -1;
  batchSize: number;
  lingerMs: number;
  maxInFlightRequests: number;
  retries: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  requestTimeoutMs: number;
  deliveryTimeoutMs: number;
  compression: 'none' | 'gzip';
  bufferMemory: number;
  maxRequestSize: number;
  partitioner: PartitionerName;
  idempotent: boolean;
  transport: ProducerTransport;
}

export function resolveProducerOptions(o: ProducerOptions, defaultRequestTimeoutMs: number): ResolvedProducerOptions {
  o = o ?? {};
  const acksRaw = oneOf<0 | 1 | -1 | 'all'>('acks', o.acks, -1, [0, 1, -1, 'all']);
  const lingerMs = int('lingerMs', o.lingerMs, 5, 0);
  const requestTimeoutMs = int('requestTimeoutMs', o.requestTimeoutMs, defaultRequestTimeoutMs, 1);
  const deliveryTimeoutMs = int('deliveryTimeoutMs', o.deliveryTimeoutMs, Math.max(120_000, lingerMs + requestTimeoutMs), 1);
  // As Kafka: a record must be able to wait out its linger and one request before it may expire.
  if (deliveryTimeoutMs < lingerMs + requestTimeoutMs) {
    throw invalid('deliveryTimeoutMs', deliveryTimeoutMs, `>= lingerMs + requestTimeoutMs (${lingerMs + requestTimeoutMs})`);
  }
  const retryBackoffMs = int('retryBackoffMs', o.retryBackoffMs, 100, 0);
  const retryBackoffMaxMs = int('retryBackoffMaxMs', o.retryBackoffMaxMs, Math.max(1000, retryBackoffMs), 0);
  if (retryBackoffMaxMs < retryBackoffMs) throw invalid('retryBackoffMaxMs', retryBackoffMaxMs, `>= retryBackoffMs (${retryBackoffMs})`);
  const batchSize = int('batchSize', o.batchSize, 16_384, 1, 64 * MiB);
  const maxRequestSize = int('maxRequestSize', o.maxRequestSize, MiB, 1024, 2 ** 31 - 1);
  const bufferMemory = int('bufferMemory', o.bufferMemory, 32 * MiB, 1024);
  if (bufferMemory < batchSize) throw invalid('bufferMemory', bufferMemory, `>= batchSize (${batchSize})`);
  // As Kafka since 3.0 (KIP-679): idempotent unless asked not to, when acks is all (with acks 0 or 1
  // the default is off; asking for idempotence with them is an error, below).
  const idempotent = bool('idempotent', o.idempotent, acksRaw === -1 || acksRaw === 'all');
  // As Kafka: with acks 0 or 1 an acknowledged batch can vanish in a leader change, leaving a gap in
  // the sequence that every later batch would trip over (OUT_OF_ORDER_SEQUENCE_NUMBER).
  if (idempotent && acksRaw !== -1 && acksRaw !== 'all') {
    throw new FerryError(ErrorCode.INVALID_CONFIG, `invalid acks=${JSON.stringify(acksRaw)}: an idempotent producer needs acks 'all' (-1)`);
  }
  return {
    idempotent,
    acks: acksRaw === 'all' ? -1 : acksRaw,
    batchSize,
    lingerMs,
    maxInFlightRequests: int('maxInFlightRequests', o.maxInFlightRequests, 5, 1, 1000),
    retries: int('retries', o.retries, Infinity, 0, Number.MAX_SAFE_INTEGER, true),
    retryBackoffMs,
    retryBackoffMaxMs,
    requestTimeoutMs,
    deliveryTimeoutMs,
    compression: oneOf('compression', o.compression, 'none', ['none', 'gzip']),
    bufferMemory,
    maxRequestSize,
    partitioner: oneOf<PartitionerName>('partitioner', o.partitioner, 'default', ['default', 'murmur2', 'roundrobin']),
    transport: oneOf<ProducerTransport>('transport', o.transport, 'stream', ['stream', 'unary']),
  };
}

export interface ResolvedConsumerOptions {
  transport: ConsumerTransport;
  fetchMaxWaitMs: number;
  fetchMinBytes: number;
  fetchMaxBytes: number;
  maxPartitionFetchBytes: number;
  /** maxPartitionFetchBytes was left to the default: a single-partition consumer may fetch more. */
  adaptivePartitionFetch: boolean;
  autoOffsetReset: AutoOffsetReset;
  maxBufferedBytes: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  groupId: string | null;
  groupInstanceId: string | null;
  /** 0 = the broker's default (then DEFAULT_SESSION_TIMEOUT_MS is assumed locally). */
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  enableAutoCommit: boolean;
  autoCommitIntervalMs: number;
  assignor: AssignorName;
}

/**
 * Session timeout the consumer assumes when it leaves the choice to the broker (the broker's
 * group.session.timeout.ms default), ms. Used only to drop partitions after that long without an
 * answered heartbeat; erring short is safe (an early drop), erring long is not (two owners).
 */
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;

function optionalString(name: string, value: string | undefined): string | null {
  if (value === undefined) return null;
  if (typeof value !== 'string' || value === '') throw invalid(name, value, 'a non-empty string');
  return value;
}

export function resolveConsumerOptions(o: ConsumerOptions): ResolvedConsumerOptions {
  o = o ?? {};
  const fetchMaxBytes = int('fetchMaxBytes', o.fetchMaxBytes, 50 * MiB, 1, 2 ** 31 - 1);
  const retryBackoffMs = int('retryBackoffMs', o.retryBackoffMs, 100, 0);
  return {
    transport: oneOf<ConsumerTransport>('transport', o.transport, 'stream', ['stream', 'fetch']),
    fetchMaxWaitMs: int('fetchMaxWaitMs', o.fetchMaxWaitMs, 500, 0, 2 ** 31 - 1),
    fetchMinBytes: int('fetchMinBytes', o.fetchMinBytes, 1, 0, 2 ** 31 - 1),
    fetchMaxBytes,
    maxPartitionFetchBytes: int('maxPartitionFetchBytes', o.maxPartitionFetchBytes, MiB, 1, 2 ** 31 - 1),
    adaptivePartitionFetch: o.maxPartitionFetchBytes === undefined,
    autoOffsetReset: oneOf<AutoOffsetReset>('autoOffsetReset', o.autoOffsetReset, 'latest', ['earliest', 'latest', 'none']),
    maxBufferedBytes: int('maxBufferedBytes', o.maxBufferedBytes, 64 * MiB, 1),
    retryBackoffMs,
    retryBackoffMaxMs: int('retryBackoffMaxMs', o.retryBackoffMaxMs, Math.max(1000, retryBackoffMs), retryBackoffMs),
    groupId: optionalString('groupId', o.groupId),
    groupInstanceId: optionalString('groupInstanceId', o.groupInstanceId),
    sessionTimeoutMs: int('sessionTimeoutMs', o.sessionTimeoutMs, 0, 1, 2 ** 31 - 1),
    rebalanceTimeoutMs: int('rebalanceTimeoutMs', o.rebalanceTimeoutMs, 300_000, 1, 2 ** 31 - 1),
    heartbeatIntervalMs: int('heartbeatIntervalMs', o.heartbeatIntervalMs, 3000, 1, 2 ** 31 - 1),
    enableAutoCommit: bool('enableAutoCommit', o.enableAutoCommit, true),
    autoCommitIntervalMs: int('autoCommitIntervalMs', o.autoCommitIntervalMs, 5000, 1, 2 ** 31 - 1),
    assignor: oneOf<AssignorName>('assignor', o.assignor, 'sticky', ['sticky', 'range', 'roundrobin']),
  };
}

function bool(name: string, value: boolean | undefined, def: boolean): boolean {
  if (value === undefined) return def;
  if (typeof value !== 'boolean') throw invalid(name, value, 'true or false');
  return value;
}
