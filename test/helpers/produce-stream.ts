/**
 * A raw ProduceStream client for tests: writes ProduceStreamRequests as the test builds them and
 * records each answer (in arrival order) and how the stream ended.
 */
import * as grpc from '@grpc/grpc-js';
import { loadFerryProto } from '../../src/protocol/grpc-definitions.js';

export interface RawProduceStream {
  /** Answers in arrival order. */
  readonly answers: any[];
  write(correlationId: number, request: unknown): void;
  /** Writes bytes as one stream message, as they are (no serializer). */
  writeRaw(bytes: Buffer): void;
  /** Resolves with the answer to `correlationId` once it has come. */
  answer(correlationId: number): Promise<any>;
  /** Resolves when the stream ends: its error (null for an OK status). */
  readonly ended: Promise<grpc.ServiceError | null>;
  end(): void;
  cancel(): void;
  close(): void;
}

export function rawProduceStream(address: string): RawProduceStream {
  const def = (loadFerryProto().proto.ferry.v1.ProduceService as unknown as { service: Record<string, grpc.MethodDefinition<any, any>> }).service.ProduceStream!;
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 });
  // Messages go out as bytes: structured ones through the real serializer, raw ones untouched.
  const call = client.makeBidiStreamRequest(def.path, (b: Buffer) => b, def.responseDeserialize);
  const answers: any[] = [];
  const waiters = new Map<number, (a: any) => void>();
  call.on('data', (a: any) => {
    answers.push(a);
    waiters.get(Number(a.correlationId))?.(a);
  });
  const ended = new Promise<grpc.ServiceError | null>((resolve) => {
    call.on('error', (err: grpc.ServiceError) => resolve(err));
    call.on('status', (s: grpc.StatusObject) => {
      if (s.code === grpc.status.OK) resolve(null);
    });
  });
  return {
    answers,
    write: (correlationId, request) => call.write(def.requestSerialize({ correlationId, request })),
    writeRaw: (bytes) => call.write(bytes),
    answer: (correlationId) => {
      const have = answers.find((a) => Number(a.correlationId) === correlationId);
      if (have) return Promise.resolve(have);
      return new Promise((resolve) => waiters.set(correlationId, resolve));
    },
    ended,
    end: () => call.end(),
    cancel: () => call.cancel(),
    close: () => client.close(),
  };
}
