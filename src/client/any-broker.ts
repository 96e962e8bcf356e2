/**
 * Requests any broker can answer (admin calls, which a broker forwards to the active controller;
 * FindCoordinator; ListGroups): each attempt goes to one broker, retried with the Ferry retry
 * policy (`ctx.retry`) while the error is retriable.
 *
 * Which broker: the metadata cache's candidates (brokers of the last metadata response, then the
 * bootstrap list, live ones first), skipping those this call already tried until all were; each
 * gets `connectTimeoutMs` to connect, so a dead or silent address costs at most that. A connection
 * failure marks the broker (it goes to the back for every request); NOT_CONTROLLER with a leader
 * hint sends the next attempt to the named controller.
 */
import type * as grpc from '@grpc/grpc-js';
import { ErrorCode, type FerryError } from '../protocol/errors.js';
import { normalizeAddress } from './broker-addresses.js';
import { awaitConnected, unary, type BrokerClients } from './connection-pool.js';
import type { ClientContext } from './context.js';
import { isConnectionError, toFerryError } from './errors.js';
import { withRetry } from './retry.js';

export type AnyBrokerInvoke<T> = (clients: BrokerClients, options: grpc.CallOptions, cb: grpc.requestCallback<T>) => unknown;

export interface AnyBrokerOptions<T> {
  isCancelled?: () => boolean;
  /** A failure carried inside a successful response (thrown, so it is retried like a status error). */
  responseError?: (res: T) => FerryError | null;
}

export function callAnyBroker<T>(ctx: ClientContext, invoke: AnyBrokerInvoke<T>, options: AnyBrokerOptions<T> = {}): Promise<{ res: T; address: string }> {
  const tried = new Set<string>();
  let preferred: string | null = null;
  const pick = (): string => {
    if (preferred !== null) {
      const p = preferred;
      preferred = null;
      return p;
    }
    const candidates = ctx.metadata.addresses();
    let next = candidates.find((a) => !tried.has(a));
    if (next === undefined) {
      tried.clear();
      next = candidates[0]!;
    }
    return next;
  };
  return withRetry(
    async () => {
      const address = pick();
      tried.add(address);
      try {
        const clients = ctx.pool.get(address);
        await awaitConnected(clients, ctx.connectTimeoutMs);
        const res = await unary<T>((o, cb) => invoke(clients, o, cb), ctx.requestTimeoutMs);
        ctx.metadata.brokerAnswered(address);
        const err = options.responseError?.(res);
        if (err) throw err;
        return { res, address };
      } catch (raw) {
        const err = toFerryError(raw);
        if (isConnectionError(err)) ctx.metadata.brokerFailed(address);
        const hinted = err.code === ErrorCode.NOT_CONTROLLER && err.leader ? normalizeAddress(err.leader.leaderAddress, address) : '';
        if (hinted !== '') preferred = hinted;
        throw err;
      }
    },
    ctx.retry,
    options.isCancelled ? { isCancelled: options.isCancelled } : {},
  );
}
