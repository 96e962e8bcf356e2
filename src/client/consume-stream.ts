/**
 * One server-streaming `Consume` call to one broker, for a fixed set of partitions (each at the
 * epoch it had when the stream opened). The broker pushes records as they become visible, so a
 * caught-up consumer gets a record one network hop after the append, with no request leg and no
 * per-fetch gRPC call (a unary call costs this machine ~0.4 ms of CPU; a stream message ~0.03 ms).
 *
 * The fetcher owns the decisions (fetcher.ts): it opens at most one stream per broker, cancels it
 * when its partition set must change (seek, pause, reassignment, leader move, a partition error),
 * and pauses it while the consumer's buffer is full. A paused stream stops reading, so grpc-js
 * stops reading the HTTP/2 stream and the broker's writes wait on flow control (the broker keeps at
 * most two messages of its own).
 *
 * Liveness: the stream asks for heartbeats (`heartbeat_ms`); a stream that hears nothing for
 * heartbeatMs + timeoutMs while reading is reported as a timed-out connection (a SIGSTOPped or
 * partitioned broker), the same error a unary fetch past its deadline gets.
 */
import * as grpc from '@grpc/grpc-js';
import type { FerryError } from '../protocol/errors.js';
import type { ConsumeRequest } from '../generated/ferry/v1/ConsumeRequest.js';
import type { FetchResponse__Output } from '../generated/ferry/v1/FetchResponse.js';
import type { FetchServiceClient } from '../generated/ferry/v1/FetchService.js';
import { toFerryError } from './errors.js';
import { tpKey, type PartitionState } from './fetcher.js';

export interface ConsumeStreamMember {
  state: PartitionState;
  /** The state's epoch when the stream opened: anything else means the stream is stale for it. */
  epoch: number;
}

export interface ConsumeStreamHandler {
  onMessage(stream: ConsumeStream, res: FetchResponse__Output): void;
  /** The stream ended on its own (not cancelled by us): `err` null for a clean end. */
  onClosed(stream: ConsumeStream, err: FerryError | null, unimplemented: boolean): void;
}

export class ConsumeStream {
  private call: grpc.ClientReadableStream<FetchResponse__Output> | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private lastHeardMs = Date.now();
  private closed = false;
  private paused = false;
  /** Members by tpKey (fetcher.ts), to match the broker's results. */
  readonly byKey = new Map<string, ConsumeStreamMember>();

  constructor(
    readonly address: string,
    readonly members: readonly ConsumeStreamMember[],
    private readonly heartbeatMs: number,
    private readonly timeoutMs: number,
    private readonly handler: ConsumeStreamHandler,
  ) {
    for (const m of members) this.byKey.set(tpKey(m.state.topic, m.state.partition), m);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  open(client: FetchServiceClient, request: ConsumeRequest): void {
    const call = client.Consume(request);
    this.call = call;
    call.on('data', (res: FetchResponse__Output) => {
      if (this.closed) return;
      this.lastHeardMs = Date.now();
      this.handler.onMessage(this, res);
    });
    call.on('error', (err: grpc.ServiceError) => this.finish(toFerryError(err), err.code === grpc.status.UNIMPLEMENTED));
    // 'end' also follows an error; finish() only acts on the first.
    call.on('end', () => this.finish(null, false));
    this.armWatchdog();
  }

  /** Stops reading (the broker's writes then wait on HTTP/2 flow control). */
  pause(): void {
    if (this.paused || this.closed) return;
    this.paused = true;
    this.call?.pause();
  }

  resume(): void {
    if (!this.paused || this.closed) return;
    this.paused = false;
    // Silence while paused was ours, not the broker's.
    this.lastHeardMs = Date.now();
    this.call?.resume();
  }

  /** Ends the call; nothing more reaches the handler. */
  cancel(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearWatchdog();
    this.call?.cancel();
  }

  private finish(err: FerryError | null, unimplemented: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.clearWatchdog();
    this.handler.onClosed(this, err, unimplemented);
  }

  private armWatchdog(): void {
    const limitMs = this.heartbeatMs + this.timeoutMs;
    const check = (): void => {
      this.watchdog = null;
      if (this.closed) return;
      const silentMs = Date.now() - this.lastHeardMs;
      if (this.paused || silentMs < limitMs) {
        this.schedule(check, Math.max(limitMs - silentMs, 10));
        return;
      }
      this.call?.cancel();
      // The error a unary call gets when its deadline passes, so it counts as a connection failure.
      const details = `consume stream to ${this.address} heard nothing for ${silentMs} ms`;
      const deadlineExceeded = Object.assign(new Error(details), { code: grpc.status.DEADLINE_EXCEEDED, details, metadata: new grpc.Metadata() });
      this.finish(toFerryError(deadlineExceeded), false);
    };
    this.schedule(check, limitMs);
  }

  private schedule(check: () => void, delayMs: number): void {
    this.watchdog = setTimeout(check, delayMs);
    this.watchdog.unref();
  }

  private clearWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
  }
}
