/**
 * Larger HTTP/2 flow-control windows (and TCP_NODELAY) for the broker's gRPC server.
 *
 * grpc-js gives no server option for the HTTP/2 window, so every stream starts with the 64 KiB
 * default: a 1 MiB produce request then needs ~16 WINDOW_UPDATE round trips, each waiting on both
 * event loops, which measured ~12 ms per request on loopback and capped one producer at ~0.6M msgs/s.
 * grpc-js creates its server with `http2.createServer(options)` when binding; we wrap that function
 * once to add `settings.initialWindowSize` (per stream) and to raise each session's connection
 * window. Memory stays bounded by max.request.bytes per stream (grpc-js enforces it) and by the
 * number of connections and streams (connection-limits.ts).
 *
 * `withHttp2ServerHook` runs a bind so every HTTP/2 server grpc-js creates during it is handed to a
 * hook first (AsyncLocalStorage follows the bind through its async steps, so two brokers in one
 * process each get their own); the hook's listeners run before grpc-js's own.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import http2 from 'node:http2';
import type { Socket } from 'node:net';

export const STREAM_WINDOW_BYTES = 16 * 1024 * 1024;
export const CONNECTION_WINDOW_BYTES = 64 * 1024 * 1024;

export type Http2ServerHook = (server: http2.Http2Server) => void;

let installed = false;
const serverHook = new AsyncLocalStorage<Http2ServerHook>();

let bindsInProgress = 0;

/**
 * Runs `bind` (grpc-js bindAsync, resolving once bound); HTTP/2 servers it creates pass through
 * `hook` first. Once no bind is in progress the AsyncLocalStorage is disabled again: while any is
 * enabled, Node 20 tracks every promise of the process through async hooks (measured: a promise
 * round trip 3x slower; ~5% of a broker's CPU at 1,000 produce requests/s went to those hooks).
 */
export async function withHttp2ServerHook<T>(hook: Http2ServerHook, bind: () => Promise<T>): Promise<T> {
  installLargeHttp2Windows(); // the wrapper is what calls the hook
  bindsInProgress++;
  try {
    return await serverHook.run(hook, bind);
  } finally {
    if (--bindsInProgress === 0) serverHook.disable();
  }
}

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
    serverHook.getStore()?.(server);
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
