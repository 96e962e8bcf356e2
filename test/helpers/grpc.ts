/**
 * Raw gRPC clients for integration tests: they speak the .proto contract directly (no SDK), so tests
 * can send exactly the malformed or extreme requests a hostile client could.
 */
import * as grpc from '@grpc/grpc-js';
import { loadFerryProto } from '../../src/protocol/grpc-definitions.js';

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: any) => void) => void;

export interface RawClients {
  call<T = any>(service: 'produce' | 'fetch' | 'metadata' | 'admin' | 'group', method: string, req: unknown): Promise<T>;
  consume(req: unknown): grpc.ClientReadableStream<any>;
  close(): void;
}

/** `ownConnection`: these clients share one connection of their own (grpc-js otherwise shares one per address). */
export function rawClients(address: string, opts: { ownConnection?: boolean } = {}): RawClients {
  const v1 = loadFerryProto().proto.ferry.v1;
  const creds = grpc.credentials.createInsecure();
  const channelOptions = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };
  const options: grpc.ClientOptions = opts.ownConnection
    ? { channelOverride: new grpc.Channel(address, creds, { ...channelOptions, 'grpc.use_local_subchannel_pool': 1 }) }
    : channelOptions;
  const clients: Record<string, grpc.Client> = {
    produce: new v1.ProduceService(address, creds, options),
    fetch: new v1.FetchService(address, creds, options),
    metadata: new v1.MetadataService(address, creds, options),
    admin: new v1.AdminService(address, creds, options),
    group: new v1.GroupService(address, creds, options),
  };
  return {
    call(service, method, req) {
      const client = clients[service] as unknown as Record<string, Unary>;
      return new Promise((resolve, reject) => {
        client[method]!.call(client, req, (err, res) => (err ? reject(err) : resolve(res)));
      });
    },
    consume(req) {
      return (clients.fetch as any).Consume(req);
    },
    close() {
      for (const c of Object.values(clients)) c.close();
    },
  };
}

/** The Ferry error code a failed call carried in its trailing metadata. */
export function errorCodeOf(err: unknown): string | undefined {
  const md = (err as grpc.ServiceError).metadata;
  const v = md?.get('ferry-error-code')[0];
  return v === undefined ? undefined : String(v);
}
