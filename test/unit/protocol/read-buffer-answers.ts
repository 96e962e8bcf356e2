/**
 * Shared by the encoder tests of answers built from the broker's read buffers
 * (fetch-response-encoder.test.ts, replica-fetch-response-encoder.test.ts): records laid out as the
 * broker reads them, and a real gRPC server + client to send one answer through the serializers.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll } from 'vitest';
import { markReadBuffer } from '../../../src/protocol/topic-results-encoder.js';

/** `bytes` in a buffer of their own with `headroom` free bytes in front, as the broker reads them. */
export function withHeadroom(bytes: Buffer, headroom: number): Buffer {
  const whole = Buffer.alloc(headroom + bytes.length, 0xee);
  bytes.copy(whole, headroom);
  return whole.subarray(headroom);
}

/** A partition result whose records were read with `headroom` free bytes in front (as the broker marks them). */
export function readResult<P extends object>(p: P, headroom: number, afterSerialize: () => void = () => {}, allocate?: (bytes: number) => Buffer): P {
  markReadBuffer(p, headroom, afterSerialize, allocate);
  return p;
}

export const records = (n: number, fill = 7) => Buffer.alloc(n, fill);

type ServiceClientConstructor = grpc.ServiceClientConstructor;

/**
 * `serve(handler)` starts a server for `service` whose `method` runs `handler` (the other methods
 * are inert) and returns a function calling it; everything closes after the describe block.
 */
export function answerServer(service: ServiceClientConstructor, method: string, otherMethods: readonly string[]) {
  const servers: grpc.Server[] = [];
  const clients: grpc.Client[] = [];
  afterAll(() => {
    for (const c of clients) c.close();
    for (const s of servers) s.forceShutdown();
  });
  return async function serve(handler: grpc.handleUnaryCall<unknown, unknown>): Promise<(req: object) => Promise<Record<string, unknown>>> {
    const server = new grpc.Server();
    servers.push(server);
    const impl: grpc.UntypedServiceImplementation = { [method]: handler };
    for (const other of otherMethods) impl[other] = () => undefined;
    server.addService(service.service, impl);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const client = new service(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    clients.push(client);
    const call = (client as unknown as Record<string, (req: object, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void>)[method]!.bind(client);
    return (req) => new Promise((resolve, reject) => call(req, (err, res) => (err ? reject(err) : resolve(res as Record<string, unknown>))));
  };
}
