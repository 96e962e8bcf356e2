/**
 * Larger HTTP/2 flow-control windows (and TCP_NODELAY) for the broker's gRPC server.
 *
 * grpc-js gives no server option for the HTTP/2 window, so every stream starts with the 64 KiB
 * default: a 1 MiB produce request then needs ~16 WINDOW_UPDATE round trips, each waiting on both
 * event loops, which measured ~12 ms per request on loopback and capped one producer at ~0.6M msgs/s.
 * grpc-js creates its server with `http2.createServer(options)` when binding; we wrap that function
 * once to add `settings.initialWindowSize` (per stream) and to raise each session's connection
 * window. Memory stays bounded by max.request.bytes per stream (grpc-js enforces it) and by the
 * number of connections.
 */
import http2 from 'node:http2';
import type { Socket } from 'node:net';

export const STREAM_WINDOW_BYTES = 16 * 1024 * 1024;
export const CONNECTION_WINDOW_BYTES = 64 * 1024 * 1024;

let installed = false;

export function installLargeHttp2Windows(): void {
  if (installed) return;
  installed = true;
  const original = http2.createServer;
  const patched = ((options: http2.ServerOptions, listener?: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void) => {
    const server = original({ ...options, settings: { ...options?.settings, initialWindowSize: STREAM_WINDOW_BYTES } }, listener);
    // Nagle would hold small responses (acks, heartbeats) back waiting for the client's ACK.
    server.on('connection', (socket: Socket) => socket.setNoDelay(true));
    server.on('session', (session: http2.ServerHttp2Session) => {
      session.on('connect', () => setConnectionWindow(session));
      setConnectionWindow(session);
    });
    return server;
  }) as typeof http2.createServer;
  http2.createServer = patched;
}

function setConnectionWindow(session: http2.ServerHttp2Session): void {
  try {
    session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
  } catch {
    // Session not ready yet (or already closed); 'connect' retries once it is.
  }
}
