/**
 * Wraps an async handler as a grpc-js unary handler: results go to the callback, any throw becomes a
 * typed gRPC status (grpc-errors.ts). A handler bug can never crash the broker; unexpected errors
 * are logged with their stack.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { FerryError } from '../protocol/errors.js';
import { rejectMalformed } from '../protocol/malformed-request.js';
import { asFerryError, toServiceError } from './grpc-errors.js';

export function unary<Req, Res>(
  logger: Logger,
  method: string,
  handler: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    let promise: Promise<Res>;
    try {
      rejectMalformed(call.request);
      promise = handler(call.request, call);
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.then(
      (response) => callback(null, response),
      (err: unknown) => callback(toServiceError(reportRequestError(logger, method, err))),
    );
  };
}

/**
 * Logs a request that failed (a FerryError at debug, anything else as the bug it is, with its stack)
 * and returns it as a FerryError. Also used per request on streams (ProduceStream).
 */
export function reportRequestError(logger: Logger, method: string, err: unknown): FerryError {
  if (!(err instanceof FerryError)) logger.error({ err, method }, 'unexpected error in request handler');
  else logger.debug({ method, code: err.code, msg: err.message }, 'request failed');
  return asFerryError(err);
}
