/**
 * One set of gRPC service clients per broker address (`host:port`), sharing a single HTTP/2 channel
 * (one TCP connection). Clients are created lazily and kept until `close()`.
 *
 * Channel options raise grpc-js's 4 MiB default message limits to `maxMessageBytes` so full fetch
 * responses and packed produce requests fit; keepalive notices dead brokers between requests; the
 * reconnect backoff is capped at RECONNECT_BACKOFF_MAX_MS (grpc-js lets it grow to 120 s, and while
 * it runs every call to that broker fails at once, so a restarted broker would stay unreachable).
 */
import * as grpc from '@grpc/grpc-js';
import type { AdminServiceClient } from '../generated/ferry/v1/AdminService.js';
import type { FetchServiceClient } from '../generated/ferry/v1/FetchService.js';
import type { GroupServiceClient } from '../generated/ferry/v1/GroupService.js';
import type { MetadataServiceClient } from '../generated/ferry/v1/MetadataService.js';
import type { ProduceServiceClient } from '../generated/ferry/v1/ProduceService.js';
import { loadFerryProto } from '../protocol/grpc-definitions.js';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { toFerryError } from './errors.js';

export interface BrokerClients {
  readonly address: string;
  readonly produce: ProduceServiceClient;
  readonly fetch: FetchServiceClient;
  readonly metadata: MetadataServiceClient;
  readonly admin: AdminServiceClient;
  /** Consumer groups and committed offsets (send to the group's coordinator). */
  readonly group: GroupServiceClient;
}

export interface ConnectionPoolOptions {
  clientId: string;
  /** Largest message sent or received, bytes. */
  maxMessageBytes: number;
}

export const KEEPALIVE_TIME_MS = 30_000;
export const KEEPALIVE_TIMEOUT_MS = 10_000;
export const FLOW_CONTROL_WINDOW_BYTES = 64 * 1024 * 1024;
/** Kafka's reconnect.backoff.ms / reconnect.backoff.max.ms defaults are 50 ms / 1 s. */
export const RECONNECT_BACKOFF_INITIAL_MS = 100;
export const RECONNECT_BACKOFF_MAX_MS = 1000;

export class ConnectionPool {
  private readonly clients = new Map<string, BrokerClients>();
  private closed = false;

  constructor(private readonly options: ConnectionPoolOptions) {}

  get(address: string): BrokerClients {
    let c = this.clients.get(address);
    if (c) return c;
    if (this.closed) throw new Error('connection pool is closed');
    const { proto } = loadFerryProto();
    const v1 = proto.ferry.v1;
    const channelOptions: grpc.ChannelOptions = {
      'grpc.max_send_message_length': this.options.maxMessageBytes,
      'grpc.max_receive_message_length': this.options.maxMessageBytes,
      'grpc.primary_user_agent': `ferry-js/${this.options.clientId}`,
      'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
      'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
      'grpc.initial_reconnect_backoff_ms': RECONNECT_BACKOFF_INITIAL_MS,
      'grpc.max_reconnect_backoff_ms': RECONNECT_BACKOFF_MAX_MS,
      // HTTP/2 receive window: the 64 KiB default makes a multi-MiB fetch response crawl through
      // WINDOW_UPDATE round trips. Responses are bounded by fetchMaxBytes anyway.
      'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
      // A client of its own: closing one Ferry instance must not tear down another's connection.
      'grpc.use_local_subchannel_pool': 1,
    };
    const creds = grpc.credentials.createInsecure();
    const produce = new v1.ProduceService(address, creds, channelOptions) as unknown as ProduceServiceClient;
    const shared = { ...channelOptions, channelOverride: produce.getChannel() };
    c = {
      address,
      produce,
      fetch: new v1.FetchService(address, creds, shared) as unknown as FetchServiceClient,
      metadata: new v1.MetadataService(address, creds, shared) as unknown as MetadataServiceClient,
      admin: new v1.AdminService(address, creds, shared) as unknown as AdminServiceClient,
      group: new v1.GroupService(address, creds, shared) as unknown as GroupServiceClient,
    };
    this.clients.set(address, c);
    return c;
  }

  /** Drops a broker's clients (e.g. it left the cluster); the next get() reconnects. */
  remove(address: string): void {
    const c = this.clients.get(address);
    if (!c) return;
    this.clients.delete(address);
    c.produce.close();
  }

  close(): void {
    this.closed = true;
    for (const c of this.clients.values()) c.produce.close();
    this.clients.clear();
  }
}

/**
 * Resolves once the broker's channel is connected; rejects with BROKER_NOT_AVAILABLE as soon as the
 * connection fails (refused, reset) or when it is still not up after `timeoutMs` (an address that
 * swallows packets, or a process that accepts but never answers). Used before requests that may go
 * to any broker, so a dead address costs at most `timeoutMs` before the next one is tried.
 */
export function awaitConnected(clients: BrokerClients, timeoutMs: number): Promise<void> {
  const channel = clients.produce.getChannel();
  const deadline = Date.now() + timeoutMs;
  const notAvailable = (why: string) => new FerryError(ErrorCode.BROKER_NOT_AVAILABLE, `broker ${clients.address} ${why}`);
  return new Promise<void>((resolve, reject) => {
    const check = (): void => {
      const state = channel.getConnectivityState(true);
      if (state === grpc.connectivityState.READY) return resolve();
      if (state === grpc.connectivityState.TRANSIENT_FAILURE) return reject(notAvailable('is not reachable (connection failed)'));
      if (state === grpc.connectivityState.SHUTDOWN) return reject(notAvailable('connection is closed'));
      channel.watchConnectivityState(state, deadline, (err) => (err ? reject(notAvailable(`did not connect within ${timeoutMs} ms`)) : check()));
    };
    check();
  });
}

/**
 * Promise form of a unary call with a deadline `timeoutMs` from now; rejects with a FerryError.
 * `invoke` receives the call options and the callback, e.g.
 * `unary((o, cb) => clients.produce.Produce(req, o, cb), 30_000)`.
 */
export function unary<Res>(
  invoke: (options: grpc.CallOptions, callback: grpc.requestCallback<Res>) => unknown,
  timeoutMs: number,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    invoke({ deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err) reject(toFerryError(err));
      else resolve(res as Res);
    });
  });
}
