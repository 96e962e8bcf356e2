// PeerSender: this node's outgoing RaftService.Stream to one peer, with a bounded send queue.
//
//   - The stream is opened at construction (eagerly) and whenever it broke and there is a message.
//   - Messages are queued, then written to the stream in order once the peer has accepted it (its
//     initial metadata arrived): one HTTP/2 stream = per-peer order, and no message is handed to a
//     call that may never connect.
//   - The queue is bounded (PEER_QUEUE_MAX_MESSAGES / PEER_QUEUE_MAX_BYTES): while the peer is down
//     or slow, the OLDEST messages are dropped — Raft resends what matters (requestRetryMs,
//     heartbeats) and newer messages supersede older ones.
//   - A stream that breaks is reopened after an exponential backoff with jitter (RECONNECT_*), reset
//     once the peer accepts a stream. What was in flight on a broken stream is lost (Raft retries).
//   - Flow control: when the stream's write buffer is full (write() returns false) the queue holds
//     messages until 'drain'.
// Connectivity changes (connected / disconnected with the gRPC status) are logged once per change.

import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { RaftServiceClient } from '../../generated/ferry/v1/RaftService.js';
import type { NodeId, RaftMessage } from '../raft/index.js';
import { approximateBytes, toEnvelope } from './raft-wire.js';

/** Queued messages per peer before the oldest are dropped. */
export const PEER_QUEUE_MAX_MESSAGES = 1024;
/** Queued bytes (approximate) per peer before the oldest are dropped: a few snapshot chunks. */
export const PEER_QUEUE_MAX_BYTES = 16 * 1024 * 1024;
/** First reconnect delay after a stream breaks; doubles per failure up to RECONNECT_MAX_MS. */
export const RECONNECT_INITIAL_MS = 50;
/** Reconnect delay cap: below the default election timeout, so a returning peer is seen quickly. */
export const RECONNECT_MAX_MS = 1000;

export interface PeerSenderStats {
  readonly peer: NodeId;
  readonly connected: boolean;
  readonly queued: number;
  readonly dropped: number;
}

export class PeerSender {
  private readonly queue: RaftMessage[] = [];
  private head = 0;
  private queuedBytes = 0;
  private call: grpc.ClientWritableStream<unknown> | null = null;
  private connected = false;
  private blocked = false;
  private everConnected = false;
  private backoffMs = RECONNECT_INITIAL_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private dropped = 0;

  constructor(
    readonly peer: NodeId,
    readonly address: string,
    private readonly client: RaftServiceClient,
    private readonly logger: Logger,
  ) {
    // Connect now rather than at the first message: the first election's pre-votes then go out
    // at once instead of waiting for a connection handshake.
    this.open();
  }

  send(message: RaftMessage): void {
    if (this.closed) return;
    this.queue.push(message);
    this.queuedBytes += approximateBytes(message);
    while (this.queue.length - this.head > PEER_QUEUE_MAX_MESSAGES || (this.queuedBytes > PEER_QUEUE_MAX_BYTES && this.queue.length - this.head > 1)) {
      this.queuedBytes -= approximateBytes(this.queue[this.head++]!);
      this.dropped++;
    }
    this.pump();
  }

  stats(): PeerSenderStats {
    return { peer: this.peer, connected: this.connected, queued: this.queue.length - this.head, dropped: this.dropped };
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const call = this.call;
    this.call = null;
    call?.cancel();
    this.client.close();
  }

  private pump(): void {
    if (this.closed) return;
    if (!this.call) {
      if (!this.retryTimer) this.open();
      return;
    }
    if (!this.connected || this.blocked) return;
    const call = this.call;
    while (this.head < this.queue.length) {
      const message = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as RaftMessage; // let it be collected
      this.queuedBytes -= approximateBytes(message);
      if (!call.write(toEnvelope(message))) {
        this.blocked = true;
        call.once('drain', () => {
          if (this.call !== call) return;
          this.blocked = false;
          this.pump();
        });
        break;
      }
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
      this.queuedBytes = 0;
    }
  }

  private open(): void {
    const call = this.client.Stream((err) => this.onClosed(call, err));
    this.call = call as unknown as grpc.ClientWritableStream<unknown>;
    call.on('metadata', () => {
      if (this.call !== (call as unknown) || this.closed) return;
      this.connected = true;
      this.backoffMs = RECONNECT_INITIAL_MS;
      this.logger.info({ peer: this.peer, address: this.address, reconnect: this.everConnected }, 'raft peer connected');
      this.everConnected = true;
      this.pump();
    });
    call.on('error', () => undefined); // reported through the callback
  }

  private onClosed(call: unknown, err: grpc.ServiceError | null): void {
    if (this.call !== call) return;
    const wasConnected = this.connected;
    this.call = null;
    this.connected = false;
    this.blocked = false;
    if (this.closed) return;
    if (wasConnected) {
      this.logger.warn({ peer: this.peer, address: this.address, code: err?.code, details: err?.details }, 'raft peer disconnected');
    } else {
      this.logger.debug({ peer: this.peer, address: this.address, code: err?.code, retryInMs: this.backoffMs }, 'raft peer unreachable');
    }
    const delay = Math.round(this.backoffMs * (0.8 + Math.random() * 0.4));
    this.backoffMs = Math.min(this.backoffMs * 2, RECONNECT_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.pump();
    }, delay);
  }
}
