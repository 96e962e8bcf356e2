/**
 * ProduceStream: produce requests over one long-lived bidirectional gRPC stream (contract in
 * proto/ferry/v1/produce.proto). Each message is handed to the same ProduceHandler as a unary
 * Produce (lifecycle check, acks check, produce admission under queued.max.request.bytes, batch
 * validation, idempotent-producer checks, appends, acks wait), as soon as it is read, so requests
 * run concurrently and their answers go out as each finishes, with the request's correlation id:
 *  - success: `response` (acks=0: an empty one, at once, as the unary call answers);
 *  - a whole-request failure (what the unary call returns as a gRPC status): `error`, typed; the
 *    stream goes on.
 *
 * Bounds: while a stream has MAX_UNANSWERED_REQUESTS requests whose answer has not been handed to
 * HTTP/2, or its running requests hold MAX_UNANSWERED_BYTES of payload, the broker stops reading it
 * (call.pause()); HTTP/2 flow control then stops the client. Beyond those, a paused stream holds at
 * most grpc-js's readable buffer (16 decoded messages) and the HTTP/2 stream window
 * (http2-window.ts) of unread bytes.
 *
 * How a stream ends (its status is sent only after every request it read has been answered):
 *  - the client half-closes: OK;
 *  - a message does not decode: INVALID_REQUEST (gRPC INVALID_ARGUMENT, malformed-request.ts);
 *  - the broker shuts down: SHUTTING_DOWN (retriable), so it does not hold up the server's
 *    tryShutdown; requests read after that moment are left unanswered;
 *  - the client cancels (or its connection drops): nothing more is written; running requests still
 *    finish (their appends are not undone), as for a unary call the client gave up on.
 * A stream's status goes out through 'error' / end(), never destroy(), which skips grpc-js's status.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ProduceRequest__Output } from '../generated/ferry/v1/ProduceRequest.js';
import type { ProduceResponse } from '../generated/ferry/v1/ProduceResponse.js';
import type { ProduceStreamRequest__Output } from '../generated/ferry/v1/ProduceStreamRequest.js';
import type { ProduceStreamResponse } from '../generated/ferry/v1/ProduceStreamResponse.js';
import { ErrorCode, FerryError, toWireError } from '../protocol/errors.js';
import { rejectMalformed } from '../protocol/malformed-request.js';
import { toServiceError } from './grpc-errors.js';
import type { BrokerLifecycle } from './lifecycle.js';
import { produceRequestBytes } from './produce-admission.js';
import { reportRequestError } from './unary.js';

/** One produce request, as Produce and each message of ProduceStream run it; `peer` names the client in logs. */
export type ProduceHandler = (req: ProduceRequest__Output, peer: string) => Promise<ProduceResponse>;

/** A stream with this many requests read but not answered is not read further until one is. */
export const MAX_UNANSWERED_REQUESTS = 256;
/** Nor while its running requests hold this many payload bytes (produceRequestBytes). */
export const MAX_UNANSWERED_BYTES = 64 * 1024 * 1024;

const METHOD = 'ProduceStream';

type ProduceStreamCall = grpc.ServerDuplexStream<ProduceStreamRequest__Output, ProduceStreamResponse>;

export function produceStream(produce: ProduceHandler, lifecycle: BrokerLifecycle, logger: Logger): grpc.handleBidiStreamingCall<ProduceStreamRequest__Output, ProduceStreamResponse> {
  // One shutdown listener for every stream (an AbortSignal warns past 10 listeners).
  const open = new Set<ProduceStreamSession>();
  lifecycle.shutdownSignal.addEventListener('abort', () => {
    for (const session of [...open]) session.shutdown();
  }, { once: true });
  return (call) => {
    const session = new ProduceStreamSession(call, produce, logger, () => open.delete(session));
    open.add(session);
    session.start();
    if (lifecycle.isStopping) session.shutdown();
  };
}

class ProduceStreamSession {
  /** Requests read whose answer has not been handed to HTTP/2 yet. */
  private unanswered = 0;
  /** Payload bytes of the requests still running. */
  private runningBytes = 0;
  /** Requests whose ProduceHandler has not settled. */
  private running = 0;
  private requests = 0;
  private paused = false;
  /** Set once the stream is to end: with this status once nothing runs (null = OK). */
  private closing: { error: FerryError | null } | null = null;
  /** The status went out, or the client is gone: nothing more is written. */
  private finished = false;
  private readonly peer: string;

  constructor(
    private readonly call: ProduceStreamCall,
    private readonly produce: ProduceHandler,
    private readonly logger: Logger,
    /** Called once the stream needs no shutdown any more (its status went out, or the client left). */
    private readonly onDone: () => void,
  ) {
    this.peer = call.getPeer();
  }

  start(): void {
    this.logger.debug({ peer: this.peer }, 'produce stream opened');
    this.call.on('data', (message: ProduceStreamRequest__Output) => this.onRequest(message));
    this.call.on('end', () => this.close(null)); // the client half-closed: answer what was read, then OK
    this.call.on('cancelled', () => this.onGone());
  }

  /** The broker is shutting down. */
  shutdown(): void {
    this.close(new FerryError(ErrorCode.SHUTTING_DOWN, 'broker is shutting down'));
  }

  private onRequest(message: ProduceStreamRequest__Output): void {
    // Already buffered when the stream began to close: left unanswered, its status tells the client.
    if (this.closing || this.finished) return;
    try {
      rejectMalformed(message);
    } catch (err) {
      this.close(err as FerryError);
      return;
    }
    this.requests++;
    const { correlationId, request } = message;
    const bytes = request ? produceRequestBytes(request) : 0;
    this.unanswered++;
    this.running++;
    this.runningBytes += bytes;
    this.maybePause();
    const answer: Promise<ProduceStreamResponse> = request
      ? this.produce(request, this.peer).then(
          (response) => ({ correlationId, response }),
          (err: unknown) => ({ correlationId, error: toWireError(reportRequestError(this.logger, METHOD, err)) }),
        )
      : Promise.resolve({ correlationId, error: toWireError(new FerryError(ErrorCode.INVALID_REQUEST, 'ProduceStreamRequest without a request')) });
    void answer.then((response) => {
      this.running--;
      this.runningBytes -= bytes;
      this.write(response);
      if (this.closing && this.running === 0) this.finish();
    });
  }

  private write(response: ProduceStreamResponse): void {
    if (this.finished) return;
    // The callback runs once grpc-js handed the message to HTTP/2; a reader that does not read
    // keeps answers unhanded, which counts against MAX_UNANSWERED_REQUESTS.
    this.call.write(response, () => {
      this.unanswered--;
      this.maybeResume();
    });
  }

  private maybePause(): void {
    if (this.paused || !this.overLimit()) return;
    this.paused = true;
    this.call.pause();
  }

  private maybeResume(): void {
    if (!this.paused || this.closing || this.finished || this.overLimit()) return;
    this.paused = false;
    this.call.resume();
  }

  private overLimit(): boolean {
    return this.unanswered >= MAX_UNANSWERED_REQUESTS || this.runningBytes >= MAX_UNANSWERED_BYTES;
  }

  /** Reads nothing more; ends the stream with `error` (null = OK) once every running request is answered. */
  private close(error: FerryError | null): void {
    if (this.closing || this.finished) return;
    this.closing = { error };
    this.paused = true;
    this.call.pause();
    if (this.running === 0) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.onDone();
    const error = this.closing?.error ?? null;
    this.logger.debug({ peer: this.peer, requests: this.requests, code: error?.code ?? 'OK' }, 'produce stream closed');
    // grpc-js sends a streaming call's status from _final, after the answers written before: 'error'
    // ends the stream with this status; destroy() would skip it and the client would never hear back.
    if (error) this.call.emit('error', toServiceError(error));
    else this.call.end();
  }

  private onGone(): void {
    if (this.finished) return;
    this.finished = true;
    this.onDone();
    this.logger.debug({ peer: this.peer, requests: this.requests, running: this.running }, 'produce stream cancelled by the client');
  }
}
