/**
 * A broker's line to the active controller (KRaft's NodeToControllerChannelManager): one gRPC
 * client per voter, and a target chosen as the Raft leader this node knows of, else the hint from
 * the last NOT_CONTROLLER answer, else the voters in turn. `callOnce` makes one attempt (the
 * heartbeat loop retries on its own schedule); `call` retries redirects and unreachable voters with
 * a short backoff until its timeout. Errors come back as FerryErrors.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { toFerryError } from '../../client/errors.js';
import type { ControllerServiceClient } from '../../generated/ferry/v1/ControllerService.js';
import { loadFerryProto } from '../../protocol/grpc-definitions.js';
import { ErrorCode, FerryError } from '../../protocol/errors.js';
import type { VoterAddress } from '../../replication/raft/index.js';
import { voterAddress } from '../../replication/raft-host/index.js';

/** The unary methods of ControllerService, by name. */
type ControllerMethod = 'RegisterBroker' | 'BrokerHeartbeat' | 'AlterPartition' | 'CreateTopics' | 'DeleteTopics' | 'CreatePartitions' | 'AlterTopicConfigs';

const RETRY_BACKOFF_MS = 100;

export class ControllerChannel {
  private readonly clients = new Map<number, ControllerServiceClient>();
  private hint: number | null = null;
  private nextVoter = 0;
  private closed = false;

  constructor(
    private readonly voters: readonly VoterAddress[],
    /** The Raft leader this node knows of (null during an election). */
    private readonly knownLeader: () => number | null,
    private readonly logger: Logger,
  ) {}

  /** The voter the next call goes to. */
  target(): number {
    const leader = this.knownLeader() ?? this.hint;
    if (leader !== null && this.voters.some((v) => v.id === leader)) return leader;
    return this.voters[this.nextVoter++ % this.voters.length]!.id;
  }

  /** One attempt at the current target; `target` tells who answered. */
  async callOnce<Res>(method: ControllerMethod, req: unknown, timeoutMs: number): Promise<{ response: Res; target: number }> {
    if (this.closed) throw new FerryError(ErrorCode.SHUTTING_DOWN, 'the controller channel is closed');
    const target = this.target();
    const client = this.client(target) as unknown as Record<ControllerMethod, (r: unknown, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Res) => void) => void>;
    try {
      const response = await new Promise<Res>((resolve, reject) => {
        client[method].call(client, req, { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => (err ? reject(err) : resolve(res!)));
      });
      return { response, target };
    } catch (err) {
      const ferry = toFerryError(err);
      if (ferry.code === ErrorCode.NOT_CONTROLLER) {
        this.hint = ferry.leader && ferry.leader.leaderId >= 0 ? ferry.leader.leaderId : null;
      } else if (this.hint === target) {
        this.hint = null; // unreachable or failing: do not insist on it
      }
      throw ferry;
    }
  }

  /** Retries redirects and unreachable voters until `timeoutMs`; other errors are thrown at once. */
  async call<Res>(method: ControllerMethod, req: unknown, timeoutMs: number): Promise<Res> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      try {
        return (await this.callOnce<Res>(method, req, Math.max(100, left))).response;
      } catch (err) {
        const ferry = err as FerryError;
        const redirect = ferry.code === ErrorCode.NOT_CONTROLLER || ferry.code === ErrorCode.BROKER_NOT_AVAILABLE || ferry.code === ErrorCode.REQUEST_TIMED_OUT;
        if (!redirect || Date.now() + RETRY_BACKOFF_MS >= deadline || this.closed) throw ferry;
        this.logger.debug({ method, code: ferry.code, hint: this.hint }, 'controller request redirected; retrying');
        await new Promise((r) => setTimeout(r, RETRY_BACKOFF_MS));
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private client(id: number): ControllerServiceClient {
    let c = this.clients.get(id);
    if (!c) {
      const voter = this.voters.find((v) => v.id === id)!;
      const v1 = loadFerryProto().proto.ferry.v1;
      c = new v1.ControllerService(voterAddress(voter), grpc.credentials.createInsecure()) as unknown as ControllerServiceClient;
      this.clients.set(id, c);
    }
    return c;
  }
}
