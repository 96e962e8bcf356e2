/**
 * Requests whose bytes do not decode as their protobuf message. grpc-js would answer those itself
 * with a bare INTERNAL "Error deserializing request", no Ferry error code; instead the broker's
 * request deserializers (grpc-definitions.ts) return a marker, and the handler wrappers (unary.ts,
 * the Consume stream) answer it as a typed INVALID_REQUEST (gRPC INVALID_ARGUMENT) naming the cause.
 */
import { ErrorCode, FerryError } from './errors.js';

const MALFORMED: unique symbol = Symbol.for('ferry.v1.malformedRequest');

interface Malformed {
  [MALFORMED]: string;
}

/** The marker a wrapped deserializer returns instead of throwing. */
export function malformedRequest(err: unknown): object {
  return { [MALFORMED]: err instanceof Error ? err.message : String(err) } satisfies Malformed;
}

/** Throws the typed error when `request` is the marker of an undecodable request. */
export function rejectMalformed(request: unknown): void {
  const reason = typeof request === 'object' && request !== null ? (request as Partial<Malformed>)[MALFORMED] : undefined;
  if (reason !== undefined) throw new FerryError(ErrorCode.INVALID_REQUEST, `malformed request: the bytes do not decode as its protobuf message (${reason})`);
}
