import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { fromResponseError, isConnectionError, isRetriableForClient, needsMetadataRefresh, toFerryError } from '../../../src/client/errors.js';
import { ErrorCode, FerryError } from '../../../src/protocol/errors.js';

function serviceError(code: number, details: string, md: Record<string, string> = {}): Error {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(md)) metadata.set(k, v);
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata });
}

describe('toFerryError', () => {
  it('reads the Ferry code and leader hint from trailing metadata', () => {
    const err = toFerryError(
      serviceError(status.FAILED_PRECONDITION, 'not the leader', {
        'ferry-error-code': 'NOT_LEADER_OR_FOLLOWER',
        'ferry-retriable': 'true',
        'ferry-leader-id': '2',
        'ferry-leader-address': '10.0.0.2:9092',
      }),
    );
    expect(err).toBeInstanceOf(FerryError);
    expect(err.code).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(err.retriable).toBe(true);
    expect(err.message).toBe('not the leader');
    expect(err.leader).toMatchObject({ leaderId: 2, leaderAddress: '10.0.0.2:9092' });
    expect(needsMetadataRefresh(err)).toBe(true);
  });

  it('maps a non-retriable Ferry code', () => {
    const err = toFerryError(serviceError(status.ALREADY_EXISTS, 'topic t exists', { 'ferry-error-code': 'TOPIC_ALREADY_EXISTS' }));
    expect(err.code).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    expect(err.retriable).toBe(false);
    expect(err.leader).toBeUndefined();
  });

  it('maps an unknown Ferry code to UNKNOWN_SERVER_ERROR', () => {
    expect(toFerryError(serviceError(status.INTERNAL, 'x', { 'ferry-error-code': 'NEW_CODE' })).code).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
  });

  it('maps bare gRPC statuses: UNAVAILABLE and DEADLINE_EXCEEDED are retriable', () => {
    const unavailable = toFerryError(serviceError(status.UNAVAILABLE, 'connect ECONNREFUSED'));
    expect(unavailable.code).toBe(ErrorCode.BROKER_NOT_AVAILABLE);
    expect(unavailable.retriable).toBe(true);
    const deadline = toFerryError(serviceError(status.DEADLINE_EXCEEDED, 'deadline'));
    expect(deadline.code).toBe(ErrorCode.REQUEST_TIMED_OUT);
    expect(deadline.retriable).toBe(true);
    expect(toFerryError(serviceError(status.RESOURCE_EXHAUSTED, 'Received message larger than max (5 vs. 4)')).code).toBe(
      ErrorCode.RECORD_LIST_TOO_LARGE,
    );
    expect(toFerryError(serviceError(status.INVALID_ARGUMENT, 'bad')).code).toBe(ErrorCode.INVALID_REQUEST);
    expect(toFerryError(serviceError(status.INTERNAL, 'boom')).retriable).toBe(false);
  });

  it('keeps FerryErrors and wraps anything else', () => {
    const e = new FerryError(ErrorCode.THROTTLED, 'slow down');
    expect(toFerryError(e)).toBe(e);
    const wrapped = toFerryError(new TypeError('oops'));
    expect(wrapped.code).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
    expect(wrapped.cause).toBeInstanceOf(TypeError);
  });
});

describe('fromResponseError', () => {
  it('is null for NONE and absent errors', () => {
    expect(fromResponseError(null)).toBeNull();
    expect(fromResponseError({ code: 'NONE', retriable: false, message: '', leaderId: -1, leaderAddress: '', leaderEpoch: -1 })).toBeNull();
  });

  it('maps a per-partition error with its leader hint', () => {
    const err = fromResponseError({ code: 'NOT_LEADER_OR_FOLLOWER', retriable: true, message: 'moved', leaderId: 1, leaderAddress: 'h:1', leaderEpoch: 4 });
    expect(err?.code).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(err?.leader).toEqual({ leaderId: 1, leaderAddress: 'h:1', leaderEpoch: 4 });
  });
});

describe('cluster error classes', () => {
  it('NOT_CONTROLLER is retried without a metadata refresh; leader errors refresh', () => {
    const notController = toFerryError(serviceError(status.FAILED_PRECONDITION, 'ask 2', { 'ferry-error-code': 'NOT_CONTROLLER', 'ferry-leader-id': '2', 'ferry-leader-address': 'h2:9092' }));
    expect(isRetriableForClient(notController)).toBe(true);
    expect(needsMetadataRefresh(notController)).toBe(false);
    expect(notController.leader).toMatchObject({ leaderId: 2, leaderAddress: 'h2:9092' });
    for (const code of [ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.UNKNOWN_LEADER_EPOCH, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.NOT_LEADER_OR_FOLLOWER]) {
      const e = new FerryError(code, 'x');
      expect(isRetriableForClient(e), code).toBe(true);
      expect(needsMetadataRefresh(e), code).toBe(true);
    }
    for (const code of [ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND]) {
      const e = new FerryError(code, 'x');
      expect(isRetriableForClient(e), code).toBe(true);
      expect(needsMetadataRefresh(e), code).toBe(false);
    }
  });

  it('a connection error is a refused connection or the client deadline, not a timeout the broker answered', () => {
    expect(isConnectionError(toFerryError(serviceError(status.UNAVAILABLE, 'ECONNREFUSED')))).toBe(true);
    // A stream the broker reset while going down (the SDK never cancels its own calls).
    const cancelled = toFerryError(serviceError(status.CANCELLED, 'Call cancelled'));
    expect(cancelled.code).toBe(ErrorCode.BROKER_NOT_AVAILABLE);
    expect(isConnectionError(cancelled)).toBe(true);
    expect(isConnectionError(toFerryError(serviceError(status.DEADLINE_EXCEEDED, 'deadline')))).toBe(true);
    expect(isConnectionError(toFerryError(serviceError(status.DEADLINE_EXCEEDED, 'acks', { 'ferry-error-code': 'REQUEST_TIMED_OUT' })))).toBe(false);
    expect(isConnectionError(new FerryError(ErrorCode.REQUEST_TIMED_OUT, 'isr wait'))).toBe(false);
    expect(isConnectionError(new FerryError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'moved'))).toBe(false);
  });
});
