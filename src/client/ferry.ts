/**
 * `Ferry`: the entry point. Holds what its clients share (one gRPC channel per broker address, the
 * metadata cache, logger, retry policy) and makes producers, consumers and admins.
 * `close()` closes every client it made, then the connections.
 */
import { ConnectionPool } from './connection-pool.js';
import { noopLogger, type ClientContext } from './context.js';
import { Admin } from './admin.js';
import { Consumer } from './consumer.js';
import { MetadataCache } from './metadata-cache.js';
import { resolveFerryOptions } from './options.js';
import { Producer } from './producer.js';
import type { ConsumerOptions, FerryOptions, ProducerOptions } from './types.js';

export class Ferry {
  private readonly ctx: ClientContext;
  private readonly producers = new Set<Producer>();
  private readonly consumers = new Set<Consumer>();
  private readonly admins = new Set<Admin>();
  private closed = false;

  constructor(options: FerryOptions) {
    const o = resolveFerryOptions(options);
    const logger = options.logger ?? noopLogger;
    const pool = new ConnectionPool({ clientId: o.clientId, maxMessageBytes: o.maxMessageBytes });
    const metadata = new MetadataCache(pool, {
      bootstrap: o.bootstrap,
      requestTimeoutMs: o.requestTimeoutMs,
      connectTimeoutMs: o.connectTimeoutMs,
      retry: o.retry,
      refreshBackoffMs: o.metadataRefreshBackoffMs,
      maxAgeMs: o.metadataMaxAgeMs,
      logger,
    });
    this.ctx = {
      clientId: o.clientId,
      pool,
      metadata,
      logger,
      requestTimeoutMs: o.requestTimeoutMs,
      connectTimeoutMs: o.connectTimeoutMs,
      retry: o.retry,
    };
  }

  producer(options: ProducerOptions = {}): Producer {
    this.checkOpen();
    const p = new Producer(this.ctx, options, (x) => this.producers.delete(x));
    this.producers.add(p);
    return p;
  }

  consumer(options: ConsumerOptions = {}): Consumer {
    this.checkOpen();
    const c = new Consumer(this.ctx, options, (x) => this.consumers.delete(x));
    this.consumers.add(c);
    return c;
  }

  admin(): Admin {
    this.checkOpen();
    const a = new Admin(this.ctx, (x) => this.admins.delete(x));
    this.admins.add(a);
    return a;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all: Promise<void>[] = [];
    for (const p of [...this.producers]) all.push(p.close());
    for (const c of [...this.consumers]) all.push(c.close());
    for (const a of [...this.admins]) all.push(a.close());
    await Promise.allSettled(all);
    this.ctx.metadata.close();
    this.ctx.pool.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('this Ferry instance is closed');
  }
}
