/**
 * gRPC by hand over one HTTP/2 session, for tests that need what grpc-js hides: the source address
 * of the connection (several 127.x addresses stand in for several client hosts) and whether the
 * very same connection survives a call.
 */
import http2 from 'node:http2';
import { connect } from 'node:net';
import { loadFerryProto } from '../../src/protocol/grpc-definitions.js';

export interface RawCallResult {
  /** grpc-status (from the trailers, or from the headers of a trailers-only answer). */
  status: number;
  message: string;
  errorCode: string | undefined;
  retriable: string | undefined;
  body: Buffer;
}

/** An HTTP/2 session to the broker whose TCP connection comes from `localAddress`. */
export function http2Session(port: number, localAddress = '127.0.0.1'): http2.ClientHttp2Session {
  const session = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => connect({ host: '127.0.0.1', port, localAddress }) });
  session.on('error', () => undefined); // a refused session may be reset; callers look at call results
  return session;
}

/** The protobuf encoding of `message` as `svc`'s `method` request (svc e.g. 'AdminService'). */
export function encodeRequest(svc: string, method: string, message: unknown): Buffer {
  const service = (loadFerryProto().proto.ferry.v1[svc] as any).service;
  return service[method].requestSerialize(message) as Buffer;
}

/** One unary call: `body` is the serialized request, framed here. */
export function rawUnary(session: http2.ClientHttp2Session, path: string, body: Buffer): Promise<RawCallResult> {
  return new Promise((resolve, reject) => {
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    let headers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (headers = h));
    req.on('data', (c: Buffer) => chunks.push(c));
    const finish = (trailers: http2.IncomingHttpHeaders) => {
      const all = { ...headers, ...trailers };
      if (all['grpc-status'] === undefined) return reject(new Error(`no grpc-status (rst code ${req.rstCode})`));
      resolve({
        status: Number(all['grpc-status']),
        message: decodeURIComponent(String(all['grpc-message'] ?? '')),
        errorCode: all['ferry-error-code'] as string | undefined,
        retriable: all['ferry-retriable'] as string | undefined,
        body: Buffer.concat(chunks),
      });
    };
    let trailers: http2.IncomingHttpHeaders = {};
    req.on('trailers', (t) => (trailers = t));
    req.on('close', () => finish(trailers));
    req.on('error', reject);
    req.end(frame);
  });
}

/**
 * A server-streaming call whose reader the test controls: `stream` is the raw HTTP/2 stream (pause()
 * it and the client stops granting flow-control window); `onMessage` gets each decoded response.
 */
export function rawServerStream(
  session: http2.ClientHttp2Session,
  svc: string,
  method: string,
  request: unknown,
  onMessage: (message: any) => void,
): http2.ClientHttp2Stream {
  const service = (loadFerryProto().proto.ferry.v1[svc] as any).service;
  const body = service[method].requestSerialize(request) as Buffer;
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  const stream = session.request({ ':method': 'POST', ':path': `/ferry.v1.${svc}/${method}`, 'content-type': 'application/grpc', te: 'trailers' });
  // Chunks are joined only once a whole message is there (joining on every chunk is quadratic).
  let chunks: Buffer[] = [];
  let buffered = 0;
  let needed = 5;
  stream.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    buffered += chunk.length;
    while (buffered >= needed) {
      let pending = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
        const length = pending.readUInt32BE(1);
        onMessage(service[method].responseDeserialize(pending.subarray(5, 5 + length)));
        pending = pending.subarray(5 + length);
      }
      needed = pending.length >= 5 ? 5 + pending.readUInt32BE(1) : 5;
      chunks = pending.length > 0 ? [pending] : [];
      buffered = pending.length;
    }
  });
  stream.on('error', () => undefined);
  stream.end(frame);
  return stream;
}
