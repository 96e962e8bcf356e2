/**
 * Zero-copy gRPC framing for the broker's pre-encoded answers (Fetch, Consume, ReplicaFetch) and
 * the SDK's hand-encoded produce requests (see installZeroCopyClientFraming at the end).
 *
 * grpc-js frames every message it sends by allocating a new buffer of 5 + length bytes and copying
 * the serialized message into it (BaseServerInterceptingCall.serializeMessage). For a fetch answer
 * that is a copy of every record the broker reads, into a fresh buffer each time: at 1 KiB consume
 * rates (~500 MB/s) those buffers were most of the broker's external memory churn, and external
 * memory is what makes V8 start its mark-compacts.
 *
 * The hand-written encoders already write the protobuf headers into free headroom in front of the
 * records they read (topic-results-encoder.ts); `frameInPlace` writes the 5-byte gRPC prefix in
 * front of those headers too and remembers the framed view. Two patched methods of grpc-js's
 * server call (installed once by `installZeroCopyServerFraming`):
 *  - serializeMessage returns that framed view as the frame (no copy); any other message goes
 *    through grpc-js's own framing, unchanged;
 *  - sendMessage runs the message's AFTER_WRITE hook once HTTP/2 has written the frame (the write
 *    callback: Node has then handed the bytes to the socket), which is when the broker may reuse
 *    the read buffer. A frame that is never written (call cancelled, write error) never runs it:
 *    its buffer is left to the garbage collector instead of going back to the pool.
 *
 * These are grpc-js internals (not its public API), so everything is checked first: if the methods
 * are missing, nothing is patched, `frameInPlace` frames nothing and answers are copied as before.
 * test/unit/protocol/grpc-zero-copy.test.ts fails if the patch stops applying to the installed
 * grpc-js.
 */
import { createRequire } from 'node:module';

/** gRPC length-prefixed message: 1 byte compressed flag + 4 bytes big-endian length. */
export const GRPC_FRAME_PREFIX_BYTES = 5;

/** On a response object: run once its frame was written (set by the serializer, see grpc-definitions.ts). */
export const AFTER_WRITE: unique symbol = Symbol('ferry.grpc.afterWrite');

interface ServerCallPrototype {
  serializeMessage(this: { handler: { serialize(value: unknown): Buffer } }, value: unknown): Buffer;
  sendMessage(this: unknown, message: unknown, callback: () => void): void;
}

const framedViews = new WeakMap<Buffer, Buffer>();
let installed = false;

/** Whether answers are framed in place (the patch applied to this grpc-js). */
export function zeroCopyFramingInstalled(): boolean {
  return installed;
}

/**
 * Frames `message` in place when the GRPC_FRAME_PREFIX_BYTES in front of it are free headroom of
 * the caller's (the caller guarantees that); returns whether it did.
 */
export function frameInPlace(message: Buffer): boolean {
  if ((!installed && !clientInstalled) || message.byteOffset < GRPC_FRAME_PREFIX_BYTES) return false;
  const framed = Buffer.from(message.buffer, message.byteOffset - GRPC_FRAME_PREFIX_BYTES, message.length + GRPC_FRAME_PREFIX_BYTES);
  framed[0] = 0; // not compressed
  framed.writeUInt32BE(message.length, 1);
  framedViews.set(message, framed);
  return true;
}

/** Whether `message` was framed in place (its frame goes out without a copy). */
export function isFramedInPlace(message: Buffer): boolean {
  return framedViews.has(message);
}

interface IdentityHandlerPrototype {
  writeMessage(this: unknown, message: Buffer, compress: boolean): Promise<Buffer>;
}

let clientInstalled = false;

/**
 * The SDK's side: grpc-js frames each request in its compression filter's IdentityHandler
 * (allocate 5 + length, copy), the same copy as on the server. Patched the same way: a request
 * framed in place (the produce request encoders leave the headroom) is sent as it is; anything
 * else, and every compressed message, goes through grpc-js's own code.
 */
export function installZeroCopyClientFraming(): boolean {
  if (clientInstalled) return true;
  let proto: Partial<IdentityHandlerPrototype> | undefined;
  try {
    const require = createRequire(import.meta.url);
    const internals = require('@grpc/grpc-js/build/src/compression-filter.js') as {
      CompressionFilter?: new (options: object, shared: object) => { sendCompression?: object };
    };
    const filter = internals.CompressionFilter ? new internals.CompressionFilter({}, {}) : undefined;
    proto = filter?.sendCompression ? (Object.getPrototypeOf(filter.sendCompression) as Partial<IdentityHandlerPrototype>) : undefined;
  } catch {
    return false;
  }
  if (!proto || typeof proto.writeMessage !== 'function') return false;
  const writeMessage = proto.writeMessage;
  proto.writeMessage = async function (message, compress) {
    const framed = compress ? undefined : framedViews.get(message);
    if (framed) {
      framedViews.delete(message);
      return framed;
    }
    return writeMessage.call(this, message, compress);
  };
  clientInstalled = true;
  return true;
}

/** Whether the SDK's requests are framed in place (the client patch applied to this grpc-js). */
export function zeroCopyClientFramingInstalled(): boolean {
  return clientInstalled;
}

export function installZeroCopyServerFraming(): boolean {
  if (installed) return true;
  let proto: Partial<ServerCallPrototype> | undefined;
  try {
    const require = createRequire(import.meta.url);
    const internals = require('@grpc/grpc-js/build/src/server-interceptors.js') as { BaseServerInterceptingCall?: { prototype: Partial<ServerCallPrototype> } };
    proto = internals.BaseServerInterceptingCall?.prototype;
  } catch {
    return false;
  }
  if (!proto || typeof proto.serializeMessage !== 'function' || typeof proto.sendMessage !== 'function') return false;
  const serializeMessage = proto.serializeMessage;
  const sendMessage = proto.sendMessage;
  proto.serializeMessage = function (value) {
    const bytes = this.handler.serialize(value);
    const framed = framedViews.get(bytes);
    if (framed) {
      framedViews.delete(bytes);
      return framed;
    }
    // grpc-js's own framing of the bytes just serialized (its code only reads this.handler).
    return serializeMessage.call({ handler: { serialize: () => bytes } }, value);
  };
  proto.sendMessage = function (message, callback) {
    sendMessage.call(this, message, () => {
      const after = (message as { [AFTER_WRITE]?: () => void } | null)?.[AFTER_WRITE];
      if (after) after();
      callback();
    });
  };
  installed = true;
  return true;
}
