/**
 * QuorumController: the active controller's request handlers over the metadata image (KRaft's
 * QuorumController, minus its event queue and Raft client — the host owns both). Sans-I/O: every
 * method takes `{ now, offset }` and returns `{ response, records }`.
 *
 * Host contract (the server wiring):
 *  1. Create it when this node's RaftNode becomes leader AND the committed image includes the new
 *     term's no-op (everything earlier is then committed and applied): `new QuorumController({
 *     config, random, image: committedImage, now })`. Drop it when leadership is lost; nothing in
 *     it outlives a term (sessions restart fresh, as in KRaft).
 *  2. Call handlers one at a time on the Raft serial queue with `offset = raft.log.lastIndex() + 1`.
 *     Non-empty `records` → `raft.propose([encodeBatch(records)], now)` at once; assert the index
 *     it got equals `offset` (the records' broker epochs and the controller's own image depend on
 *     it). Send `response` only when `commitIndex >= offset`; on NOT_LEADER, fail the request with
 *     NOT_CONTROLLER semantics and drop the controller. A handler that throws FerryError wrote
 *     nothing: send the error.
 *  3. Call `tick` at `nextDeadlineMs()` (and whenever convenient); its records are proposed the same way.
 *
 * The controller applies its records to its own image as it writes them (KRaft's in-memory state
 * ahead of the commit), so the next request sees them; brokers — including this one's broker half —
 * apply the same records only once committed, via metadata-loader.ts.
 */
import { strict as assert } from 'node:assert';
import type { Random } from '../replication/raft/index.js';
import {
  brokerHeartbeat, BrokerSessions, registerBroker,
  type BrokerHeartbeatRequest, type BrokerHeartbeatResponse, type RegisterBrokerRequest, type RegisterBrokerResponse,
} from './cluster-control.js';
import { alterTopicConfigs, type AlterTopicConfigsRequest, type AlterTopicConfigsResponse } from './config-control.js';
import { MetadataBatch, type ControllerConfig, type ControllerResult, type RequestContext } from './controller-types.js';
import type { MetadataImage } from './metadata-image.js';
import { METADATA_VERSION, METADATA_VERSION_FEATURE } from './metadata-records.js';
import {
  alterPartition, electOfflineInTopic, electPreferredLeaders, fenceBroker, type AlterPartitionRequest, type AlterPartitionResponse,
} from './replication-control.js';
import {
  createPartitions, createTopics, deleteTopics,
  type CreatePartitionsRequest, type CreatePartitionsResponse, type CreateTopicsRequest, type CreateTopicsResponse,
  type DeleteTopicsRequest, type DeleteTopicsResponse,
} from './topic-control.js';

export interface QuorumControllerOptions {
  config: ControllerConfig;
  /** Topic ids and placement (seeded in tests, Math.random-based in the broker). */
  random: Random;
  /** The committed image at activation. */
  image: MetadataImage;
  now: number;
}

export interface TickResponse {
  fenced: number[];
  preferredElections: number;
}

export class QuorumController {
  readonly config: ControllerConfig;
  private readonly random: Random;
  private current: MetadataImage;
  private readonly sessions = new BrokerSessions();
  private nextImbalanceCheckMs: number;

  constructor(options: QuorumControllerOptions) {
    const { config } = options;
    assert.ok(config.brokerSessionTimeoutMs > 0 && config.leaderImbalanceCheckIntervalMs > 0 && config.partitionChangesPerTickMax > 0, 'bad controller limits');
    this.config = config;
    this.random = options.random;
    this.current = options.image;
    // Fresh sessions for everyone: a new controller has heard from no one yet.
    for (const b of options.image.brokerList()) this.sessions.reset(b.brokerId, options.now);
    this.nextImbalanceCheckMs = options.now + config.leaderImbalanceCheckIntervalMs;
  }

  /**
   * Gives `brokerId` only `remainingMs` more to heartbeat (at most its normal session): used at
   * activation for the previous active controller, which lost its quorum role because it stopped
   * answering — most likely it died, and waiting a whole fresh session for it delays failover.
   */
  shortenSession(brokerId: number, now: number, remainingMs: number): void {
    if (!this.current.broker(brokerId)) return;
    const remaining = Math.min(remainingMs, this.config.brokerSessionTimeoutMs);
    this.sessions.reset(brokerId, now - this.config.brokerSessionTimeoutMs + remaining);
  }

  /** The controller's image: committed state plus its own batches not yet committed. */
  get image(): MetadataImage {
    return this.current;
  }

  registerBroker(req: RegisterBrokerRequest, ctx: RequestContext): ControllerResult<RegisterBrokerResponse> {
    const result = this.run(ctx, (batch) => registerBroker(batch, req, this.config));
    if (result.records.length > 0) this.sessions.reset(req.brokerId, ctx.now);
    else this.sessions.touch(req.brokerId, ctx.now);
    return result;
  }

  brokerHeartbeat(req: BrokerHeartbeatRequest, ctx: RequestContext): ControllerResult<BrokerHeartbeatResponse> {
    return this.run(ctx, (batch) => brokerHeartbeat(batch, req, this.config, this.sessions, ctx.now));
  }

  createTopics(req: CreateTopicsRequest, ctx: RequestContext): ControllerResult<CreateTopicsResponse> {
    return this.run(ctx, (batch) => createTopics(batch, req, this.config, this.random, ctx.now));
  }

  deleteTopics(req: DeleteTopicsRequest, ctx: RequestContext): ControllerResult<DeleteTopicsResponse> {
    return this.run(ctx, (batch) => deleteTopics(batch, req, this.config));
  }

  createPartitions(req: CreatePartitionsRequest, ctx: RequestContext): ControllerResult<CreatePartitionsResponse> {
    return this.run(ctx, (batch) => createPartitions(batch, req, this.config, this.random));
  }

  alterTopicConfigs(req: AlterTopicConfigsRequest, ctx: RequestContext): ControllerResult<AlterTopicConfigsResponse> {
    return this.run(ctx, (batch) => {
      const response = alterTopicConfigs(batch, req);
      // Turning unclean election on may let leaderless partitions elect now (KRaft does the same).
      if (!req.validateOnly) for (const r of response.results) if (!r.error) electOfflineInTopic(batch, r.topic, this.config);
      return response;
    });
  }

  alterPartition(req: AlterPartitionRequest, ctx: RequestContext): ControllerResult<AlterPartitionResponse> {
    return this.run(ctx, (batch) => alterPartition(batch, req, this.config));
  }

  /**
   * Periodic work: writes metadata.version into an empty log, fences brokers whose session
   * expired (each with all its ISR/leader moves, atomically), and every
   * leaderImbalanceCheckIntervalMs restores preferred leaders (at most partitionChangesPerTickMax).
   */
  tick(ctx: RequestContext): ControllerResult<TickResponse> {
    return this.run(ctx, (batch) => {
      if (batch.view.feature(METADATA_VERSION_FEATURE) === undefined) {
        batch.emit({ type: 'FeatureLevel', name: METADATA_VERSION_FEATURE, level: METADATA_VERSION });
      }
      const fenced: number[] = [];
      for (const id of this.sessions.expired(ctx.now, this.config.brokerSessionTimeoutMs)) {
        const b = batch.view.broker(id);
        if (!b || b.fenced) continue;
        fenceBroker(batch, id, this.config);
        fenced.push(id);
      }
      let preferredElections = 0;
      if (ctx.now >= this.nextImbalanceCheckMs) {
        this.nextImbalanceCheckMs = ctx.now + this.config.leaderImbalanceCheckIntervalMs;
        preferredElections = electPreferredLeaders(batch, this.config, this.config.partitionChangesPerTickMax);
      }
      return { fenced, preferredElections };
    });
  }

  /** When `tick` next has work: the earliest session expiry of an unfenced broker, or the imbalance check. */
  nextDeadlineMs(): number {
    const sessionExpiry = this.sessions.nextExpiryMs(this.config.brokerSessionTimeoutMs, (id) => this.current.broker(id)?.fenced === false);
    return Math.min(sessionExpiry, this.nextImbalanceCheckMs);
  }

  private run<R>(ctx: RequestContext, handler: (batch: MetadataBatch) => R): ControllerResult<R> {
    assert.ok(ctx.offset > this.current.offset, `request offset ${ctx.offset} must follow the controller's image at ${this.current.offset}`);
    const batch = new MetadataBatch(this.current, ctx.offset);
    const response = handler(batch); // a FerryError here leaves the image untouched
    this.current = batch.finish();
    return { response, records: batch.records };
  }
}
