/**
 * What every client made by one `Ferry` instance shares: the connection pool (one channel per
 * broker), the metadata cache, the logger and the resolved top-level options.
 */
import type { ConnectionPool } from './connection-pool.js';
import type { MetadataCache } from './metadata-cache.js';
import type { Logger, RetryOptions } from './types.js';

export interface ClientContext {
  readonly clientId: string;
  readonly pool: ConnectionPool;
  readonly metadata: MetadataCache;
  readonly logger: Logger;
  readonly requestTimeoutMs: number;
  /** Per-broker connection bound for requests any broker can answer (see FerryOptions). */
  readonly connectTimeoutMs: number;
  readonly retry: RetryOptions;
}

export const noopLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
