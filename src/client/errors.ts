/**
 * The one place where anything that went wrong on the wire becomes a `FerryError`.
 *
 * Two shapes arrive:
 *  - whole-request failures: a gRPC status error whose trailing metadata carries `ferry-error-code`,
 *    `ferry-retriable`, `ferry-leader-id`, `ferry-leader-address` (set by the broker's grpc-errors.ts);
 *    without that metadata (transport failures, deadline) the gRPC status code decides;
 *  - per-partition/per-topic failures: the `ferry.v1.Error` message inside a response.
 * Retriability is the code's (src/protocol/errors.ts decides it once for broker and SDK).
 */
import { status as GrpcStatus, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { ErrorCode, FerryError, fromWireError, isErrorCode, type WireError } from '../protocol/errors.js';

export const METADATA_ERROR_CODE = 'ferry-error-code';
export const METADATA_RETRIABLE = 'ferry-retriable';
export const METADATA_LEADER_ID = 'ferry-leader-id';
export const METADATA_LEADER_ADDRESS = 'ferry-leader-address';
export const METADATA_LEADER_EPOCH = 'ferry-leader-epoch';

function isServiceError(err: unknown): err is ServiceError {
  return (
    err instanceof Error &&
    typeof (err as Partial<ServiceError>).code === 'number' &&
    'metadata' in err
  );
}

function firstString(md: Metadata | undefined, key: string): string | undefined {
  const values = md?.get(key);
  if (!values || values.length === 0) return undefined;
  const v = values[0]!;
  return typeof v === 'string' ? v : v.toString('utf8');
}

/** The FerryError code for a gRPC status that carried no Ferry metadata. */
export function codeForGrpcStatus(code: number, details: string): ErrorCode {
  switch (code) {
    case GrpcStatus.UNAVAILABLE:
    // The SDK never cancels its own calls: CANCELLED means the broker reset the stream or the
    // connection went away under the call (a broker shutting down), so it is a lost broker too.
    case GrpcStatus.CANCELLED:
      return ErrorCode.BROKER_NOT_AVAILABLE;
    case GrpcStatus.DEADLINE_EXCEEDED:
      return ErrorCode.REQUEST_TIMED_OUT;
    case GrpcStatus.RESOURCE_EXHAUSTED:
      // grpc-js reports an over-limit message this way; anything else is a server-side limit.
      return /larger than max|message length/i.test(details) ? ErrorCode.RECORD_LIST_TOO_LARGE : ErrorCode.THROTTLED;
    case GrpcStatus.INVALID_ARGUMENT:
    case GrpcStatus.UNIMPLEMENTED:
    case GrpcStatus.OUT_OF_RANGE:
      return ErrorCode.INVALID_REQUEST;
    case GrpcStatus.NOT_FOUND:
      return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    case GrpcStatus.ALREADY_EXISTS:
      return ErrorCode.TOPIC_ALREADY_EXISTS;
    default:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}

/** Maps any thrown value to a FerryError. Idempotent: a FerryError comes back unchanged. */
export function toFerryError(err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  if (isServiceError(err)) {
    const md = err.metadata;
    const wireCode = firstString(md, METADATA_ERROR_CODE);
    const details = err.details || err.message;
    let result: FerryError;
    if (wireCode !== undefined) {
      const leaderId = Number(firstString(md, METADATA_LEADER_ID) ?? -1);
      const leader =
        Number.isInteger(leaderId) && leaderId >= 0
          ? {
              leaderId,
              leaderAddress: firstString(md, METADATA_LEADER_ADDRESS) ?? '',
              leaderEpoch: Number(firstString(md, METADATA_LEADER_EPOCH) ?? -1),
            }
          : undefined;
      const code = isErrorCode(wireCode) ? wireCode : ErrorCode.UNKNOWN_SERVER_ERROR;
      result = new FerryError(code, details || code, leader);
    } else {
      const code = codeForGrpcStatus(err.code, details);
      result = new FerryError(code, `gRPC ${GrpcStatus[err.code] ?? err.code}: ${details}`);
    }
    result.cause = err;
    return result;
  }
  const message = err instanceof Error ? err.message : String(err);
  const result = new FerryError(ErrorCode.UNKNOWN_SERVER_ERROR, message);
  result.cause = err;
  return result;
}

/** A per-partition `Error` from a response; null when it says NONE or is absent. */
export function fromResponseError(wire: WireError | null | undefined): FerryError | null {
  return fromWireError(wire);
}

/**
 * Errors after which cached leadership is suspect and metadata must be fetched again. Not here,
 * because the leader is still right and only a retry is needed: NOT_ENOUGH_REPLICAS(_AFTER_APPEND)
 * (the ISR is short), THROTTLED, CORRUPT_MESSAGE, STORAGE_ERROR, NOT_CONTROLLER (admin requests go
 * to any broker, which forwards them).
 */
const REFRESH_METADATA: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.BROKER_NOT_AVAILABLE,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.SHUTTING_DOWN,
]);

export function needsMetadataRefresh(err: FerryError): boolean {
  return REFRESH_METADATA.has(err.code);
}

/**
 * The broker could not be reached or did not answer at all: the connection failed (gRPC
 * UNAVAILABLE), or the client's own deadline passed. A REQUEST_TIMED_OUT the broker sent (e.g. an
 * acks=all wait that ran out) is an answer, so it does not count.
 */
export function isConnectionError(err: FerryError): boolean {
  if (err.code === ErrorCode.BROKER_NOT_AVAILABLE) return true;
  if (err.code !== ErrorCode.REQUEST_TIMED_OUT) return false;
  const cause = err.cause;
  return isServiceError(cause) && cause.code === GrpcStatus.DEADLINE_EXCEEDED && firstString(cause.metadata, METADATA_ERROR_CODE) === undefined;
}

/**
 * Whether a request failing with `err` may be sent again. UNKNOWN_TOPIC_OR_PARTITION is retriable
 * for clients as in Kafka (the topic may be being created or its metadata not yet propagated).
 */
export function isRetriableForClient(err: FerryError): boolean {
  return err.retriable || err.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
}

/** `err` with the topic's name in front of its message (unless it already names it). */
export function withTopic(err: FerryError, topic: string): FerryError {
  if (err.message.includes(topic)) return err;
  const e = new FerryError(err.code, `${topic}: ${err.message}`, err.leader);
  e.cause = err;
  return e;
}

/** Thrown by clients used after close(). */
export function closedError(what: string): FerryError {
  return new FerryError(ErrorCode.INVALID_REQUEST, `${what} is closed`);
}
