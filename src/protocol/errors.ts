/**
 * Ferry's typed errors, shared by broker and SDK.
 *
 * `ErrorCode` mirrors the `ferry.v1.ErrorCode` enum in proto/ferry/v1/common.proto (by name: the gRPC
 * layer carries enums as strings). Whether a code is retriable is decided here, once, so broker and
 * clients agree. Operating errors (bad input, missing topic, leadership moved) are FerryErrors;
 * broken invariants are plain `assert` failures and crash loudly.
 */

export const ErrorCode = {
  NONE: 'NONE',
  UNKNOWN_SERVER_ERROR: 'UNKNOWN_SERVER_ERROR',
  OFFSET_OUT_OF_RANGE: 'OFFSET_OUT_OF_RANGE',
  CORRUPT_MESSAGE: 'CORRUPT_MESSAGE',
  UNKNOWN_TOPIC_OR_PARTITION: 'UNKNOWN_TOPIC_OR_PARTITION',
  INVALID_FETCH_SIZE: 'INVALID_FETCH_SIZE',
  NOT_LEADER_OR_FOLLOWER: 'NOT_LEADER_OR_FOLLOWER',
  REQUEST_TIMED_OUT: 'REQUEST_TIMED_OUT',
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  INVALID_TOPIC: 'INVALID_TOPIC',
  RECORD_LIST_TOO_LARGE: 'RECORD_LIST_TOO_LARGE',
  NOT_ENOUGH_REPLICAS: 'NOT_ENOUGH_REPLICAS',
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  INVALID_REQUIRED_ACKS: 'INVALID_REQUIRED_ACKS',
  TOPIC_ALREADY_EXISTS: 'TOPIC_ALREADY_EXISTS',
  INVALID_PARTITIONS: 'INVALID_PARTITIONS',
  INVALID_REPLICATION_FACTOR: 'INVALID_REPLICATION_FACTOR',
  INVALID_CONFIG: 'INVALID_CONFIG',
  INVALID_REQUEST: 'INVALID_REQUEST',
  INVALID_RECORD: 'INVALID_RECORD',
  INVALID_TIMESTAMP: 'INVALID_TIMESTAMP',
  STORAGE_ERROR: 'STORAGE_ERROR',
  LEADER_NOT_AVAILABLE: 'LEADER_NOT_AVAILABLE',
  BROKER_NOT_AVAILABLE: 'BROKER_NOT_AVAILABLE',
  FENCED_LEADER_EPOCH: 'FENCED_LEADER_EPOCH',
  UNKNOWN_LEADER_EPOCH: 'UNKNOWN_LEADER_EPOCH',
  POLICY_VIOLATION: 'POLICY_VIOLATION',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  THROTTLED: 'THROTTLED',
  UNSUPPORTED_COMPRESSION_TYPE: 'UNSUPPORTED_COMPRESSION_TYPE',
  NOT_CONTROLLER: 'NOT_CONTROLLER',
  STALE_BROKER_EPOCH: 'STALE_BROKER_EPOCH',
  INCONSISTENT_CLUSTER_ID: 'INCONSISTENT_CLUSTER_ID',
  INELIGIBLE_REPLICA: 'INELIGIBLE_REPLICA',
  COORDINATOR_NOT_AVAILABLE: 'COORDINATOR_NOT_AVAILABLE',
  NOT_COORDINATOR: 'NOT_COORDINATOR',
  COORDINATOR_LOAD_IN_PROGRESS: 'COORDINATOR_LOAD_IN_PROGRESS',
  INVALID_GROUP_ID: 'INVALID_GROUP_ID',
  GROUP_ID_NOT_FOUND: 'GROUP_ID_NOT_FOUND',
  UNKNOWN_MEMBER_ID: 'UNKNOWN_MEMBER_ID',
  FENCED_MEMBER_EPOCH: 'FENCED_MEMBER_EPOCH',
  STALE_MEMBER_EPOCH: 'STALE_MEMBER_EPOCH',
  REBALANCE_IN_PROGRESS: 'REBALANCE_IN_PROGRESS',
  NON_EMPTY_GROUP: 'NON_EMPTY_GROUP',
  FENCED_INSTANCE_ID: 'FENCED_INSTANCE_ID',
  UNRELEASED_INSTANCE_ID: 'UNRELEASED_INSTANCE_ID',
  OFFSET_METADATA_TOO_LARGE: 'OFFSET_METADATA_TOO_LARGE',
  INVALID_COMMIT_OFFSET: 'INVALID_COMMIT_OFFSET',
  GROUP_MAX_SIZE_REACHED: 'GROUP_MAX_SIZE_REACHED',
  UNSUPPORTED_ASSIGNOR: 'UNSUPPORTED_ASSIGNOR',
  OUT_OF_ORDER_SEQUENCE_NUMBER: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
  DUPLICATE_SEQUENCE_NUMBER: 'DUPLICATE_SEQUENCE_NUMBER',
  INVALID_PRODUCER_EPOCH: 'INVALID_PRODUCER_EPOCH',
  UNKNOWN_PRODUCER_ID: 'UNKNOWN_PRODUCER_ID',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const RETRIABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.CORRUPT_MESSAGE, // Kafka treats it as retriable: the bytes may have been damaged in flight
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.BROKER_NOT_AVAILABLE,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.STORAGE_ERROR,
  ErrorCode.SHUTTING_DOWN,
  ErrorCode.THROTTLED,
  ErrorCode.NOT_CONTROLLER,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.REBALANCE_IN_PROGRESS,
]);

export function isRetriable(code: ErrorCode): boolean {
  return RETRIABLE.has(code);
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ErrorCode, value);
}

export interface LeaderHint {
  leaderId: number;
  leaderAddress: string;
  leaderEpoch: number;
}

/** An operating error with a code every client understands. */
export class FerryError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly leader: LeaderHint | undefined;

  constructor(code: ErrorCode, message: string, leader?: LeaderHint) {
    super(message);
    this.name = 'FerryError';
    this.code = code;
    this.retriable = isRetriable(code);
    this.leader = leader;
  }

  override toString(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** The wire shape of ferry.v1.Error (as the gRPC loader presents it). */
export interface WireError {
  code: ErrorCode;
  retriable: boolean;
  message: string;
  leaderId: number;
  leaderAddress: string;
  leaderEpoch: number;
}

export function toWireError(err: FerryError): WireError {
  return {
    code: err.code,
    retriable: err.retriable,
    message: err.message,
    leaderId: err.leader?.leaderId ?? -1,
    leaderAddress: err.leader?.leaderAddress ?? '',
    leaderEpoch: err.leader?.leaderEpoch ?? -1,
  };
}

/** Null when the wire error says NONE (or is absent). */
export function fromWireError(
  wire: { code?: string | number | null; message?: string | null; leaderId?: number | null; leaderAddress?: string | null; leaderEpoch?: number | null } | null | undefined,
): FerryError | null {
  if (!wire || !wire.code || wire.code === ErrorCode.NONE) return null;
  const code = isErrorCode(wire.code) ? wire.code : ErrorCode.UNKNOWN_SERVER_ERROR;
  const leader =
    typeof wire.leaderId === 'number' && wire.leaderId >= 0
      ? { leaderId: wire.leaderId, leaderAddress: wire.leaderAddress ?? '', leaderEpoch: wire.leaderEpoch ?? -1 }
      : undefined;
  return new FerryError(code, wire.message || code, leader);
}
