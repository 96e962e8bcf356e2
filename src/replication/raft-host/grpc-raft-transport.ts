// GrpcRaftTransport: the controller quorum's RaftTransport over gRPC (proto/ferry/v1/raft.proto).
//
// Client side: one PeerSender per other voter of controller.quorum.voters (`id@host:port`), each
// with its own channel and its one long-lived client stream (ordering, bounded queue, reconnect with
// backoff: peer-sender.ts). `send` never blocks and never throws: a message for an unknown node is
// dropped.
// Server side: `serviceImplementation()` is the RaftService handler to add to the node's gRPC server
// (the broker's, or a test server). It accepts a stream, sends initial metadata at once (the
// sender's "connected" signal), decodes each envelope and passes it to the receiver the host set;
// envelopes for another node id or with an unknown body are dropped, like a lost message.
// Malformed input cannot hurt the core: it ignores messages from non-voters and checks terms.

import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { RaftEnvelope__Output } from '../../generated/ferry/v1/RaftEnvelope.js';
import type { RaftServiceClient, RaftServiceHandlers } from '../../generated/ferry/v1/RaftService.js';
import type { RaftStreamClosed } from '../../generated/ferry/v1/RaftStreamClosed.js';
import { loadFerryProto } from '../../protocol/grpc-definitions.js';
import type { NodeId, RaftMessage, VoterAddress } from '../raft/index.js';
import { PeerSender, RECONNECT_INITIAL_MS, RECONNECT_MAX_MS, type PeerSenderStats } from './peer-sender.js';
import { fromEnvelope } from './raft-wire.js';
import type { RaftTransport } from './types.js';

/**
 * Largest Raft message on the wire: a full AppendEntries batch or a snapshot chunk plus headers. The
 * receiving server must accept at least this much (the broker's max.request.bytes does).
 */
export const RAFT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** HTTP/2 keepalive: notices a peer that vanished without closing its connection (partition, power loss). */
const KEEPALIVE_TIME_MS = 10_000;
const KEEPALIVE_TIMEOUT_MS = 5_000;

export interface GrpcRaftTransportOptions {
  readonly selfId: NodeId;
  /** Every voter, this node included (controller.quorum.voters). */
  readonly voters: readonly VoterAddress[];
  readonly logger: Logger;
}

export function voterAddress(v: VoterAddress): string {
  return v.host.includes(':') ? `[${v.host}]:${v.port}` : `${v.host}:${v.port}`;
}

export class GrpcRaftTransport implements RaftTransport {
  private readonly peers = new Map<NodeId, PeerSender>();
  private receiver: ((message: RaftMessage) => void) | null = null;
  /** Finishers of the incoming streams still open (see close). */
  private readonly inbound = new Set<() => void>();

  constructor(private readonly options: GrpcRaftTransportOptions) {
    const v1 = loadFerryProto().proto.ferry.v1;
    const channelOptions: grpc.ChannelOptions = {
      'grpc.max_send_message_length': RAFT_MAX_MESSAGE_BYTES,
      'grpc.max_receive_message_length': RAFT_MAX_MESSAGE_BYTES,
      'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
      'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
      // The channel's own reconnect backoff defaults to 1 s .. 120 s; a returning voter must be
      // reachable again within about one election timeout.
      'grpc.initial_reconnect_backoff_ms': RECONNECT_INITIAL_MS,
      'grpc.max_reconnect_backoff_ms': RECONNECT_MAX_MS,
      // One channel per peer, not shared with the broker's other clients to the same address.
      'grpc.use_local_subchannel_pool': 1,
    };
    const creds = grpc.credentials.createInsecure();
    for (const voter of options.voters) {
      if (voter.id === options.selfId) continue;
      const address = voterAddress(voter);
      const client = new v1.RaftService(address, creds, channelOptions) as unknown as RaftServiceClient;
      this.peers.set(voter.id, new PeerSender(voter.id, address, client, options.logger.child({ component: 'raft-transport' })));
    }
  }

  send(message: RaftMessage): void {
    this.peers.get(message.to)?.send(message);
  }

  setReceiver(receiver: ((message: RaftMessage) => void) | null): void {
    this.receiver = receiver;
  }

  /** Address of a voter as configured (for leader hints). */
  addressOf(id: NodeId): string {
    const voter = this.options.voters.find((v) => v.id === id);
    return voter ? voterAddress(voter) : '';
  }

  peerStats(): PeerSenderStats[] {
    return [...this.peers.values()].map((p) => p.stats());
  }

  /** The RaftService handler for this node's gRPC server. */
  serviceImplementation(): RaftServiceHandlers {
    return {
      Stream: (call: grpc.ServerReadableStream<RaftEnvelope__Output, RaftStreamClosed>, callback: grpc.sendUnaryData<RaftStreamClosed>) => {
        let open = true;
        const finish = (): void => {
          if (!open) return;
          open = false;
          this.inbound.delete(finish);
          callback(null, {});
        };
        this.inbound.add(finish);
        call.sendMetadata(new grpc.Metadata());
        call.on('data', (envelope: RaftEnvelope__Output) => {
          const message = fromEnvelope(envelope);
          if (message && message.to === this.options.selfId) this.receiver?.(message);
        });
        call.on('end', finish);
        call.on('error', () => {
          // The sender went away; it reconnects on its own.
          open = false;
          this.inbound.delete(finish);
        });
      },
    };
  }

  /** Registers RaftService on `server` (before or after it is bound). */
  addToServer(server: grpc.Server): void {
    server.addService(loadFerryProto().proto.ferry.v1.RaftService.service, this.serviceImplementation());
  }

  /**
   * Closes the outgoing streams and finishes the incoming ones (they never end on their own, and a
   * server's graceful shutdown waits for every open call). Close the host first, then this, then
   * the server.
   */
  close(): void {
    this.receiver = null;
    for (const peer of this.peers.values()) peer.close();
    for (const finish of [...this.inbound]) finish();
  }
}
