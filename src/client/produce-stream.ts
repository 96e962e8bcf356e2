/**
 * How the producer's requests reach a broker: over one ProduceStream per broker address (the
 * default, `transport: 'stream'`), or one unary Produce call per request (`'unary'`, and the
 * fallback for brokers without ProduceStream). `send` has the unary call's contract either way:
 * it resolves with the ProduceResponse or rejects with the FerryError the unary call would have
 * given, so the sender's retry, leader-refresh and idempotence rules apply unchanged.
 *
 * A stream (proto/ferry/v1/produce.proto, ProduceStream):
 *  - is opened lazily on the broker's pooled channel (connection-pool.ts), reopened on the next
 *    send after it failed, and cancelled after STREAM_IDLE_CLOSE_MS with nothing in flight (an
 *    open stream keeps the connection, and so the Node process, alive);
 *  - carries each request with a correlation id; answers are matched by it, in whatever order they
 *    come. Each request is serialized when sent (serializeProduceStreamRequest: batches copied once),
 *    never later: its batch buffers may be recycled once a retry of them has been acknowledged;
 *  - gives each request its own deadline (`timeoutMs`): when it passes, the request fails with what
 *    the unary call gets on DEADLINE_EXCEEDED (REQUEST_TIMED_OUT, a connection error) and a late
 *    answer is ignored; the stream stays open for the others;
 *  - fails every request still in flight when it ends: with its status as a FerryError (a broken
 *    connection = BROKER_NOT_AVAILABLE, a broker shutting down = SHUTTING_DOWN, ...), exactly as
 *    each unary call on that connection would have failed. Two statuses are about one request, not
 *    the stream, and send the requests in flight again as unary calls (with what is left of their
 *    deadlines) so each gets its own answer: UNIMPLEMENTED without a Ferry code (a broker older than
 *    ProduceStream, or a test double; that address then uses unary calls for
 *    UNIMPLEMENTED_RECHECK_MS) and RESOURCE_EXHAUSTED for a message over a gRPC size limit (only the
 *    request too large gets RECORD_LIST_TOO_LARGE). Either way the broker had not answered them; a
 *    request it had appended but not answered is sent again, as any retry after a lost answer
 *    (idempotent producers store it once).
 */
import { status as GrpcStatus, Metadata, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { ProduceRequest } from '../generated/ferry/v1/ProduceRequest.js';
import type { ProduceResponse__Output } from '../generated/ferry/v1/ProduceResponse.js';
import type { ProduceStreamRequest } from '../generated/ferry/v1/ProduceStreamRequest.js';
import type { ProduceStreamResponse__Output } from '../generated/ferry/v1/ProduceStreamResponse.js';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { serializeProduceStreamRequest } from '../protocol/grpc-definitions.js';
import { unary } from './connection-pool.js';
import type { ClientContext } from './context.js';
import { fromResponseError, METADATA_ERROR_CODE, toFerryError } from './errors.js';
import type { ProducerTransport } from './types.js';

/** A stream with nothing in flight for this long is cancelled (the next send opens another). */
export const STREAM_IDLE_CLOSE_MS = 1_000;
/** After a broker answered UNIMPLEMENTED for ProduceStream, unary calls go to it for this long before the stream is tried again. */
export const UNIMPLEMENTED_RECHECK_MS = 5 * 60_000;

export interface ProduceTransport {
  /**
   * Sends `request` to the broker at `address` (serialized before this returns); rejects with a
   * FerryError. Throws when the request cannot even be sent (connection pool closed, a request that
   * does not serialize).
   */
  send(address: string, request: ProduceRequest, timeoutMs: number): Promise<ProduceResponse__Output>;
  /** Stops using the transport: streams end once their requests are answered (or time out). */
  close(): void;
}

export function createProduceTransport(ctx: ClientContext, name: ProducerTransport): ProduceTransport {
  return name === 'stream' ? new ProduceStreams(ctx) : { send: (address, request, timeoutMs) => sendUnary(ctx, address, request, timeoutMs), close: () => undefined };
}

/** One unary Produce call. */
export function sendUnary(ctx: ClientContext, address: string, request: ProduceRequest, timeoutMs: number): Promise<ProduceResponse__Output> {
  const client = ctx.pool.get(address).produce;
  return unary<ProduceResponse__Output>((o, cb) => client.Produce(request, o, cb), timeoutMs);
}

/** The 'stream' transport: one ProduceStream per broker address. */
export class ProduceStreams implements ProduceTransport {
  private readonly streams = new Map<string, BrokerStream>();
  /** Addresses that answered UNIMPLEMENTED → when to try the stream again. */
  private readonly unaryUntil = new Map<string, number>();
  private closed = false;
  /** Counters (tests, logs). */
  readonly stats = { streamsOpened: 0, streamRequests: 0, unaryRequests: 0 };

  constructor(private readonly ctx: ClientContext) {}

  send(address: string, request: ProduceRequest, timeoutMs: number): Promise<ProduceResponse__Output> {
    const until = this.unaryUntil.get(address);
    if (this.closed || (until !== undefined && Date.now() < until)) return this.sendUnary(address, request, timeoutMs);
    if (until !== undefined) this.unaryUntil.delete(address);
    let stream = this.streams.get(address);
    if (!stream) {
      // A Buffer goes through the request serializer unchanged (grpc-definitions.ts).
      const call = this.ctx.pool.get(address).produce.ProduceStream() as unknown as ClientDuplexStream<Buffer, ProduceStreamResponse__Output>;
      stream = new BrokerStream(address, call, this);
      this.streams.set(address, stream);
      this.stats.streamsOpened++;
    }
    this.stats.streamRequests++;
    return stream.send(request, timeoutMs);
  }

  close(): void {
    this.closed = true;
    for (const s of [...this.streams.values()]) s.close();
  }

  sendUnary(address: string, request: ProduceRequest, timeoutMs: number): Promise<ProduceResponse__Output> {
    this.stats.unaryRequests++;
    return sendUnary(this.ctx, address, request, timeoutMs);
  }

  /** Called by a stream that ended: the next send to its address opens a new one. */
  detach(stream: BrokerStream): void {
    if (this.streams.get(stream.address) === stream) this.streams.delete(stream.address);
  }

  /** The broker at `address` has no ProduceStream. */
  unimplemented(address: string): void {
    if (!this.unaryUntil.has(address)) this.ctx.logger.info({ address }, 'broker does not implement ProduceStream; using unary Produce calls');
    this.unaryUntil.set(address, Date.now() + UNIMPLEMENTED_RECHECK_MS);
  }

  get logger(): ClientContext['logger'] {
    return this.ctx.logger;
  }
}

interface InFlight {
  request: ProduceRequest;
  deadlineMs: number;
  timeoutMs: number;
  timer: NodeJS.Timeout;
  resolve: (res: ProduceResponse__Output) => void;
  reject: (err: FerryError) => void;
}

/** One open ProduceStream call to one broker. */
class BrokerStream {
  private readonly inFlight = new Map<number, InFlight>();
  private nextCorrelationId = 1;
  private idleTimer: NodeJS.Timeout | null = null;
  /** The status the call ended with (from 'error'); null while open or after an OK end. */
  private endError: ServiceError | null = null;
  private ended = false;
  private closing = false;

  constructor(
    readonly address: string,
    private readonly call: ClientDuplexStream<Buffer, ProduceStreamResponse__Output>,
    private readonly owner: ProduceStreams,
  ) {
    call.on('data', (res: ProduceStreamResponse__Output) => this.onResponse(res));
    call.on('error', (err: ServiceError) => {
      this.endError = err;
      this.owner.detach(this); // sends from now on open a new stream
    });
    // 'end' comes after every answer that arrived was delivered, so none is failed by mistake.
    call.on('end', () => this.onEnd());
    call.on('status', () => {
      this.owner.detach(this);
      setImmediate(() => this.onEnd()); // in case 'end' never comes; after it when it does
    });
    this.armIdleTimer(); // until the first request is written (send clears it)
  }

  send(request: ProduceRequest, timeoutMs: number): Promise<ProduceResponse__Output> {
    const correlationId = this.nextCorrelationId++;
    const bytes = serializeProduceStreamRequest({ correlationId, request } satisfies ProduceStreamRequest);
    this.clearIdleTimer();
    return new Promise<ProduceResponse__Output>((resolve, reject) => {
      const timer = setTimeout(() => this.onTimeout(correlationId), timeoutMs);
      this.inFlight.set(correlationId, { request, deadlineMs: Date.now() + timeoutMs, timeoutMs, timer, resolve, reject });
      this.call.write(bytes);
    });
  }

  /** No new requests; cancelled once those in flight are settled. */
  close(): void {
    this.closing = true;
    this.owner.detach(this);
    if (this.inFlight.size === 0) this.cancel();
  }

  private onResponse(res: ProduceStreamResponse__Output): void {
    const entry = this.take(res.correlationId);
    if (!entry) return; // timed out already: its outcome was reported as unknown
    const err = fromResponseError(res.error);
    if (err) entry.reject(err);
    else if (!res.response) entry.reject(new FerryError(ErrorCode.UNKNOWN_SERVER_ERROR, `ProduceStream answer ${res.correlationId} has neither a response nor an error`));
    else entry.resolve(res.response);
  }

  private onTimeout(correlationId: number): void {
    const entry = this.take(correlationId);
    if (entry) entry.reject(deadlineExceeded(entry.timeoutMs));
  }

  /** Removes and returns an in-flight request; arms the idle timer when it was the last. */
  private take(correlationId: number): InFlight | undefined {
    const entry = this.inFlight.get(correlationId);
    if (!entry) return undefined;
    this.inFlight.delete(correlationId);
    clearTimeout(entry.timer);
    if (this.inFlight.size === 0 && !this.ended) {
      if (this.closing) this.cancel();
      else this.armIdleTimer();
    }
    return entry;
  }

  private onEnd(): void {
    if (this.ended) return;
    this.ended = true;
    this.clearIdleTimer();
    this.owner.detach(this);
    const entries = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const e of entries) clearTimeout(e.timer);
    if (entries.length === 0) return;
    const status = this.endError;
    if (status && isUnimplemented(status)) {
      this.owner.unimplemented(this.address);
      this.resendUnary(entries);
      return;
    }
    if (status && isOverSizeLimit(status)) {
      this.owner.logger.debug({ address: this.address, requests: entries.length }, 'ProduceStream ended over a message size limit; sending its requests as unary calls');
      this.resendUnary(entries);
      return;
    }
    const err = status
      ? toFerryError(status)
      : new FerryError(ErrorCode.BROKER_NOT_AVAILABLE, `the ProduceStream to ${this.address} ended with ${entries.length} request(s) unanswered`);
    for (const e of entries) e.reject(err);
  }

  /** In send order (correlation ids grow), each with what is left of its deadline. */
  private resendUnary(entries: InFlight[]): void {
    for (const e of entries) {
      const leftMs = e.deadlineMs - Date.now();
      if (leftMs <= 0) e.reject(deadlineExceeded(e.timeoutMs));
      else this.owner.sendUnary(this.address, e.request, leftMs).then(e.resolve, (err: unknown) => e.reject(toFerryError(err)));
    }
  }

  private armIdleTimer(): void {
    this.clearIdleTimer();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.inFlight.size > 0) return;
      this.owner.detach(this);
      this.cancel();
    }, STREAM_IDLE_CLOSE_MS);
    this.idleTimer.unref();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private cancel(): void {
    this.clearIdleTimer();
    if (!this.ended) this.call.cancel();
  }
}

/** What a unary call gets when its deadline passes (a connection error: see errors.ts isConnectionError). */
function deadlineExceeded(timeoutMs: number): FerryError {
  const status: ServiceError = Object.assign(new Error(`no answer on the ProduceStream within ${timeoutMs} ms`), {
    code: GrpcStatus.DEADLINE_EXCEEDED,
    details: `Deadline exceeded: no answer on the ProduceStream within ${timeoutMs} ms`,
    metadata: new Metadata(),
  });
  return toFerryError(status);
}

function hasFerryCode(status: ServiceError): boolean {
  return (status.metadata?.get(METADATA_ERROR_CODE).length ?? 0) > 0;
}

function isUnimplemented(status: ServiceError): boolean {
  return status.code === GrpcStatus.UNIMPLEMENTED && !hasFerryCode(status);
}

/** grpc-js's own size check (either side) ended the stream: it was about one message. */
function isOverSizeLimit(status: ServiceError): boolean {
  return status.code === GrpcStatus.RESOURCE_EXHAUSTED && !hasFerryCode(status) && toFerryError(status).code === ErrorCode.RECORD_LIST_TOO_LARGE;
}
