/**
 * max.connections and max.connections.per.ip, counted on the HTTP/2 server grpc-js binds (one
 * session per TCP connection; attached through http2-window.ts's server hook, ahead of grpc-js).
 *
 * A connection over a limit is not dropped blind, which a client would only see as UNAVAILABLE:
 * every call it carries is answered here, before grpc-js sees it, with a trailers-only THROTTLED
 * status (gRPC RESOURCE_EXHAUSTED, retriable, the same metadata as every broker error), and the
 * connection is then closed with GOAWAY, so the client backs off and reconnects later. A refused
 * connection that sends no call is destroyed after REFUSED_LINGER_MS; while MAX_LINGERING_REFUSALS
 * refused connections are still open, further ones are destroyed at once.
 */
import type http2 from 'node:http2';
import type { Logger } from 'pino';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { toServiceError } from './grpc-errors.js';
import { LimitLog } from './limit-log.js';

export const REFUSED_LINGER_MS = 1_000;
export const MAX_LINGERING_REFUSALS = 256;

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerIp: number;
}

export class ConnectionLimiter {
  private open = 0;
  private readonly perIp = new Map<string, number>();
  /** Refused sessions → the reason their calls are told. */
  private readonly refused = new WeakMap<http2.Http2Session, string>();
  private lingering = 0;
  private readonly totalLog: LimitLog;
  private readonly perIpLog: LimitLog;

  constructor(
    private readonly limits: ConnectionLimits,
    logger: Logger,
  ) {
    this.totalLog = new LimitLog(logger, 'max.connections');
    this.perIpLog = new LimitLog(logger, 'max.connections.per.ip');
  }

  get openConnections(): number {
    return this.open;
  }

  /** An Http2ServerHook: counts the server's sessions and answers the calls of refused ones. */
  readonly attach = (server: http2.Http2Server): void => {
    server.on('session', (session: http2.ServerHttp2Session) => this.onSession(session));
    const emit = server.emit;
    const limiter = this;
    server.emit = function (this: http2.Http2Server, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'stream') {
        const stream = args[0] as http2.ServerHttp2Stream;
        const reason = stream.session ? limiter.refused.get(stream.session) : undefined;
        if (reason !== undefined) {
          answerThrottled(stream, reason);
          return true;
        }
      }
      return emit.call(this, event, ...args);
    } as typeof server.emit;
  };

  private onSession(session: http2.ServerHttp2Session): void {
    const ip = session.socket?.remoteAddress ?? 'unknown';
    const peer = `${ip}:${session.socket?.remotePort ?? '?'}`;
    const fromIp = this.perIp.get(ip) ?? 0;
    if (this.open >= this.limits.maxConnections) {
      this.totalLog.hit(peer, { open: this.open, max: this.limits.maxConnections }, 'connection refused: max.connections reached');
      this.refuse(session, `broker has ${this.open} connections open (max.connections ${this.limits.maxConnections}); retry later`);
    } else if (fromIp >= this.limits.maxConnectionsPerIp) {
      this.perIpLog.hit(peer, { open: fromIp, max: this.limits.maxConnectionsPerIp }, 'connection refused: max.connections.per.ip reached');
      this.refuse(session, `${fromIp} connections open from ${ip} (max.connections.per.ip ${this.limits.maxConnectionsPerIp}); retry later`);
    } else {
      this.open++;
      this.perIp.set(ip, fromIp + 1);
      session.once('close', () => {
        this.open--;
        const left = (this.perIp.get(ip) ?? 1) - 1;
        if (left > 0) this.perIp.set(ip, left);
        else this.perIp.delete(ip);
      });
    }
  }

  private refuse(session: http2.ServerHttp2Session, reason: string): void {
    if (this.lingering >= MAX_LINGERING_REFUSALS) {
      setImmediate(() => session.destroy()); // after grpc-js has registered the session
      return;
    }
    this.refused.set(session, reason);
    this.lingering++;
    const timer = setTimeout(() => session.destroy(), REFUSED_LINGER_MS);
    timer.unref();
    session.once('close', () => {
      this.lingering--;
      clearTimeout(timer);
    });
  }
}

/** A trailers-only gRPC answer (THROTTLED), then GOAWAY: the connection takes no further calls. */
function answerThrottled(stream: http2.ServerHttp2Stream, reason: string): void {
  const status = toServiceError(new FerryError(ErrorCode.THROTTLED, reason));
  try {
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc+proto',
        'grpc-status': String(status.code),
        'grpc-message': encodeURI(status.details ?? ''), // as grpc-js encodes it (its clients decodeURI)
        ...status.metadata?.toHttp2Headers(),
      },
      { endStream: true },
    );
  } catch {
    // The stream or its session is already gone.
  }
  if (!stream.session?.closed) stream.session?.close();
}
