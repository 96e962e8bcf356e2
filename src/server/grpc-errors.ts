/**
 * The one place any error becomes a gRPC status. A FerryError keeps its code in trailing metadata
 * (`ferry-error-code`, `ferry-retriable`, and for leadership errors `ferry-leader-id`,
 * `ferry-leader-address`, `ferry-leader-epoch`) so every client can recover the typed error; the
 * status code is the nearest gRPC meaning so plain gRPC tooling (grpcurl) reads it right too.
 * Anything else is an internal error: logged with its stack, reported as UNKNOWN_SERVER_ERROR.
 */
import * as grpc from '@grpc/grpc-js';
import { ErrorCode, FerryError } from '../protocol/errors.js';

const STATUS_BY_CODE: Partial<Record<ErrorCode, grpc.status>> = {
  [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]: grpc.status.NOT_FOUND,
  [ErrorCode.GROUP_ID_NOT_FOUND]: grpc.status.NOT_FOUND,
  [ErrorCode.TOPIC_ALREADY_EXISTS]: grpc.status.ALREADY_EXISTS,
  [ErrorCode.OFFSET_OUT_OF_RANGE]: grpc.status.OUT_OF_RANGE,
  [ErrorCode.REQUEST_TIMED_OUT]: grpc.status.DEADLINE_EXCEEDED,
  [ErrorCode.THROTTLED]: grpc.status.RESOURCE_EXHAUSTED,
  [ErrorCode.RECORD_LIST_TOO_LARGE]: grpc.status.RESOURCE_EXHAUSTED,
  [ErrorCode.STORAGE_ERROR]: grpc.status.INTERNAL,
  [ErrorCode.UNKNOWN_SERVER_ERROR]: grpc.status.INTERNAL,
  [ErrorCode.POLICY_VIOLATION]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.NON_EMPTY_GROUP]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.UNSUPPORTED_COMPRESSION_TYPE]: grpc.status.UNIMPLEMENTED,
};

export function grpcStatusFor(err: FerryError): grpc.status {
  const mapped = STATUS_BY_CODE[err.code];
  if (mapped !== undefined) return mapped;
  if (err.retriable) return grpc.status.UNAVAILABLE;
  return grpc.status.INVALID_ARGUMENT;
}

export function asFerryError(err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  return new FerryError(ErrorCode.UNKNOWN_SERVER_ERROR, err instanceof Error ? err.message : String(err));
}

export function toServiceError(err: FerryError): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  metadata.set('ferry-error-code', err.code);
  metadata.set('ferry-retriable', String(err.retriable));
  if (err.leader) {
    metadata.set('ferry-leader-id', String(err.leader.leaderId));
    metadata.set('ferry-leader-address', err.leader.leaderAddress);
    metadata.set('ferry-leader-epoch', String(err.leader.leaderEpoch));
  }
  return { code: grpcStatusFor(err), details: `${err.code}: ${err.message}`, metadata };
}
