/**
 * The link to one consumer group's coordinator: which broker it is, and GroupService calls to it.
 *
 * Discovery: FindCoordinator, asked of any known broker (metadata brokers first, then bootstrap),
 * retried with the Ferry retry policy. The answer is cached until a call to it fails with a
 * coordinator error (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS) or a
 * transport error (broker gone, deadline); the next call then asks again. Concurrent discoveries
 * share one request.
 *
 * `call()` makes exactly one attempt (the heartbeat loop keeps its own schedule); `callWithRetry()`
 * retries what `isRetriableForGroup` allows, re-discovering in between. A response whose `error`
 * field is set is thrown as that FerryError, so callers see a single failure shape.
 */
import type * as grpc from '@grpc/grpc-js';
import type { FindCoordinatorResponse__Output } from '../generated/ferry/v1/FindCoordinatorResponse.js';
import type { GroupServiceClient } from '../generated/ferry/v1/GroupService.js';
import { ErrorCode, FerryError, type WireError } from '../protocol/errors.js';
import { unary } from './connection-pool.js';
import type { ClientContext } from './context.js';
import { callAnyBroker as callAny } from './any-broker.js';
import { advertisedAddress } from './broker-addresses.js';
import { fromResponseError, isRetriableForClient, toFerryError } from './errors.js';
import { backoffMs, sleep } from './retry.js';

/** Errors after which the cached coordinator address is suspect. */
const REDISCOVER: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.BROKER_NOT_AVAILABLE,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.SHUTTING_DOWN,
]);

export function needsRediscovery(err: FerryError): boolean {
  return REDISCOVER.has(err.code);
}

/** Retriable for group requests: the client's rule plus a stale member epoch (a heartbeat moves it on). */
export function isRetriableForGroup(err: FerryError): boolean {
  return isRetriableForClient(err) || err.code === ErrorCode.STALE_MEMBER_EPOCH;
}

type GroupInvoke<T> = (client: GroupServiceClient, options: grpc.CallOptions, cb: grpc.requestCallback<T>) => unknown;

/** Any broker can answer a FindCoordinator, ListGroups...: see any-broker.ts. */
export function callAnyBroker<T>(ctx: ClientContext, invoke: GroupInvoke<T>, isCancelled?: () => boolean): Promise<{ res: T; address: string }> {
  return callAny<T>(ctx, (clients, o, cb) => invoke(clients.group, o, cb), {
    ...(isCancelled ? { isCancelled } : {}),
    responseError: (res) => fromResponseError((res as { error?: WireError | null }).error),
  });
}

/** The coordinator's `host:port` for `groupId`. */
export async function findCoordinator(ctx: ClientContext, groupId: string, isCancelled?: () => boolean): Promise<string> {
  const { res, address } = await callAnyBroker<FindCoordinatorResponse__Output>(ctx, (c, o, cb) => c.FindCoordinator({ groupId }, o, cb), isCancelled);
  if (!Number.isInteger(res.port) || res.port <= 0) {
    throw new FerryError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `no coordinator for group ${groupId} yet`);
  }
  return advertisedAddress(res.host, res.port, address);
}

export class CoordinatorLink {
  private address: string | null = null;
  private finding: Promise<string> | null = null;
  private closed = false;

  constructor(
    private readonly ctx: ClientContext,
    readonly groupId: string,
  ) {}

  /** The cached coordinator address, discovering it when unknown. */
  coordinator(): Promise<string> {
    if (this.address !== null) return Promise.resolve(this.address);
    if (!this.finding) {
      this.finding = findCoordinator(this.ctx, this.groupId, () => this.closed)
        .then((address) => {
          if (this.address !== address) this.ctx.logger.debug({ groupId: this.groupId, address }, 'group coordinator found');
          this.address = address;
          return address;
        })
        .finally(() => {
          this.finding = null;
        });
    }
    return this.finding;
  }

  /** Forgets the cached address; the next call discovers again. */
  invalidate(): void {
    this.address = null;
  }

  /** One attempt at the coordinator; the response's `error` is thrown. Rediscovery errors invalidate. */
  async call<T>(invoke: GroupInvoke<T>, timeoutMs: number = this.ctx.requestTimeoutMs): Promise<T> {
    if (this.closed) throw new FerryError(ErrorCode.INVALID_REQUEST, `group ${this.groupId}: client is closed`);
    try {
      const address = await this.coordinator();
      const client = this.ctx.pool.get(address).group;
      const res = await unary<T>((o, cb) => invoke(client, o, cb), timeoutMs);
      const err = fromResponseError((res as { error?: WireError | null }).error);
      if (err) throw err;
      return res;
    } catch (raw) {
      const err = toFerryError(raw);
      if (needsRediscovery(err)) this.invalidate();
      throw err;
    }
  }

  /** `call()` retried with backoff while `isRetriableForGroup` says so, up to the Ferry retry count. */
  async callWithRetry<T>(invoke: GroupInvoke<T>): Promise<T> {
    const r = this.ctx.retry;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.call(invoke);
      } catch (raw) {
        const err = toFerryError(raw);
        if (!isRetriableForGroup(err) || attempt >= r.retries || this.closed) throw err;
        await sleep(backoffMs(attempt + 1, r.initialRetryTimeMs, r.maxRetryTimeMs));
      }
    }
  }

  close(): void {
    this.closed = true;
  }
}
