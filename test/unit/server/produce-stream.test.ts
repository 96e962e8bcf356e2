/**
 * The broker's ProduceStream handler over a scripted call (an EventEmitter shaped like grpc-js's
 * server duplex stream) and a produce handler the test settles by hand: the read bounds (pause and
 * resume), answers in completion order with their correlation ids, and each way a stream ends
 * (half-close, shutdown, undecodable message, cancellation) — always after what was read is answered.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { ErrorCode, FerryError } from '../../../src/protocol/errors.js';
import { malformedRequest } from '../../../src/protocol/malformed-request.js';
import { BrokerLifecycle } from '../../../src/server/lifecycle.js';
import { MAX_UNANSWERED_BYTES, MAX_UNANSWERED_REQUESTS, produceStream } from '../../../src/server/produce-stream.js';

class ScriptedCall extends EventEmitter {
  paused = false;
  readonly written: any[] = [];
  /** Write callbacks not yet called (a reader that does not read). */
  readonly unflushed: Array<() => void> = [];
  flushWrites = true;
  status: 'open' | 'ok' | grpc.StatusObject = 'open';

  constructor() {
    super();
    this.on('error', (s: grpc.StatusObject) => (this.status = s)); // grpc-js's own listener sends it as the status
  }
  getPeer(): string {
    return 'test-peer';
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  write(message: unknown, cb: () => void): boolean {
    this.written.push(message);
    if (this.flushWrites) cb();
    else this.unflushed.push(cb);
    return true;
  }
  end(): void {
    this.status = 'ok';
  }
  /** The client sends a message (grpc-js would not deliver it while paused: the test checks that). */
  send(correlationId: number, request: unknown = { acks: 1, timeoutMs: 1000, topics: [] }): void {
    this.emit('data', { correlationId, request });
  }
}

interface Running {
  req: any;
  resolve: (res: any) => void;
  reject: (err: unknown) => void;
}

const logged: Array<{ level: string; msg?: string }> = [];
const logger = {
  debug: (_o: object, msg?: string) => void logged.push({ level: 'debug', msg }),
  info: () => undefined,
  warn: () => undefined,
  error: (_o: object, msg?: string) => void logged.push({ level: 'error', msg }),
} as unknown as Logger;

function open(opts: { stopping?: boolean } = {}) {
  const lifecycle = new BrokerLifecycle();
  lifecycle.markRunning();
  if (opts.stopping) lifecycle.beginShutdown();
  const running: Running[] = [];
  const handler = produceStream((req) => new Promise((resolve, reject) => running.push({ req, resolve, reject })), lifecycle, logger);
  const call = new ScriptedCall();
  handler(call as unknown as grpc.ServerDuplexStream<any, any>);
  return { call, running, lifecycle };
}

const tick = () => new Promise((r) => setImmediate(r));
const ids = (call: ScriptedCall) => call.written.map((w) => w.correlationId);

describe('ProduceStream handler', () => {
  it('runs requests concurrently and answers each as it finishes, with its correlation id', async () => {
    const { call, running } = open();
    call.send(10);
    call.send(11);
    call.send(12);
    expect(running).toHaveLength(3);
    running[1]!.resolve({ topics: [{ topic: 'b' }] });
    running[2]!.reject(new FerryError(ErrorCode.THROTTLED, 'busy'));
    running[0]!.resolve({ topics: [{ topic: 'a' }] });
    await tick();
    expect(ids(call)).toEqual([11, 12, 10]);
    expect(call.written[0].response.topics[0].topic).toBe('b');
    expect(call.written[1].error).toMatchObject({ code: 'THROTTLED', retriable: true });
    expect(call.written[1].response).toBeUndefined();
    expect(call.status).toBe('open');
  });

  it('an unexpected failure is answered UNKNOWN_SERVER_ERROR and logged as an error; a message without a request gets INVALID_REQUEST', async () => {
    logged.length = 0;
    const { call, running } = open();
    call.send(1);
    call.send(2, null);
    running[0]!.reject(new TypeError('bug'));
    await tick();
    expect(call.written.find((w) => w.correlationId === 1).error.code).toBe('UNKNOWN_SERVER_ERROR');
    expect(call.written.find((w) => w.correlationId === 2).error.code).toBe('INVALID_REQUEST');
    expect(running).toHaveLength(1);
    expect(logged.some((l) => l.level === 'error' && l.msg === 'unexpected error in request handler')).toBe(true);
  });

  it(`stops reading at ${MAX_UNANSWERED_REQUESTS} unanswered requests, counting answers not yet handed to HTTP/2, and reads again below`, async () => {
    const { call, running } = open();
    call.flushWrites = false;
    for (let i = 0; i < MAX_UNANSWERED_REQUESTS - 1; i++) call.send(i);
    expect(call.paused).toBe(false);
    call.send(MAX_UNANSWERED_REQUESTS - 1);
    expect(call.paused).toBe(true);
    // Answered, but the reader does not read: still unanswered as far as the bound goes.
    for (const r of running) r.resolve({ topics: [] });
    await tick();
    expect(call.written).toHaveLength(MAX_UNANSWERED_REQUESTS);
    expect(call.paused).toBe(true);
    call.unflushed.shift()!();
    expect(call.paused).toBe(false);
  });

  it('stops reading while running requests hold MAX_UNANSWERED_BYTES, and reads again once they finish', async () => {
    const { call, running } = open();
    const big = { acks: 1, timeoutMs: 1000, topics: [{ topic: 't', partitions: [{ partition: 0, recordBatch: { length: MAX_UNANSWERED_BYTES - 1 }, records: [] }] }] };
    call.send(1, big);
    expect(call.paused).toBe(true); // with the topic name's bytes it reaches the bound
    running[0]!.resolve({ topics: [] });
    await tick();
    expect(call.paused).toBe(false);
  });

  it('a client half-close ends the stream OK once every request read is answered', async () => {
    const { call, running } = open();
    call.send(1);
    call.emit('end');
    await tick();
    expect(call.status).toBe('open');
    running[0]!.resolve({ topics: [] });
    await tick();
    expect(ids(call)).toEqual([1]);
    expect(call.status).toBe('ok');
  });

  it('shutdown: reads nothing more, answers what runs, then ends with SHUTTING_DOWN', async () => {
    const { call, running, lifecycle } = open();
    call.send(1);
    lifecycle.beginShutdown();
    expect(call.paused).toBe(true);
    call.send(2); // already buffered in grpc-js: not run, left to the status
    expect(running).toHaveLength(1);
    expect(call.status).toBe('open');
    running[0]!.resolve({ topics: [] });
    await tick();
    expect(ids(call)).toEqual([1]);
    const status = call.status as grpc.StatusObject;
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.metadata.get('ferry-error-code')).toEqual(['SHUTTING_DOWN']);
  });

  it('a stream opened while the broker shuts down ends at once with SHUTTING_DOWN', () => {
    const { call } = open({ stopping: true });
    expect((call.status as grpc.StatusObject).metadata.get('ferry-error-code')).toEqual(['SHUTTING_DOWN']);
  });

  it('an undecodable message ends the stream with INVALID_REQUEST after the requests before it are answered', async () => {
    const { call, running } = open();
    call.send(1);
    call.emit('data', malformedRequest(new Error('index out of range')));
    call.send(3);
    expect(running).toHaveLength(1);
    running[0]!.resolve({ topics: [] });
    await tick();
    expect(ids(call)).toEqual([1]);
    const status = call.status as grpc.StatusObject;
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.metadata.get('ferry-error-code')).toEqual(['INVALID_REQUEST']);
    expect(status.details).toMatch(/malformed request.*index out of range/);
  });

  it('a cancelled stream writes nothing more; its running requests still finish', async () => {
    const { call, running, lifecycle } = open();
    call.send(1);
    call.emit('cancelled');
    running[0]!.resolve({ topics: [] });
    await tick();
    lifecycle.beginShutdown();
    expect(call.written).toEqual([]);
    expect(call.status).toBe('open');
  });
});
