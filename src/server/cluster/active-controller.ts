/**
 * The active controller on a voter: a QuorumController that exists only while this node is the
 * Raft leader (controller.ts "Host contract").
 *
 * Activation: on becoming leader, propose a marker record (metadata.version, idempotent) and wait
 * for it to apply — then every earlier entry is applied too, so the committed image the controller
 * starts from is current. Leadership lost (or a newer activation) drops it; nothing in it outlives a
 * term. Every handler runs inside `RaftHost.proposeWith`, on the host's serial queue, with
 * `offset` = the index its entry will get, and answers only after that entry is applied. A node
 * without an active controller fails requests with NOT_CONTROLLER and the leader hint.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import {
  encodeBatch, METADATA_VERSION, METADATA_VERSION_FEATURE, QuorumController,
  type ControllerConfig, type ControllerResult, type MetadataStateMachine, type RequestContext,
} from '../../controller/index.js';
import { mathRandom } from '../../replication/raft/index.js';
import { NotLeaderError, type LeaderInfo, type RaftHost } from '../../replication/raft-host/index.js';

/** Upper bound between controller ticks (session expiry checks, preferred-leader checks). */
const TICK_INTERVAL_MAX_MS = 500;
/**
 * Session left for the previous active controller's broker at activation: a few heartbeats. If it
 * is alive (it lost leadership to a network blip), it heartbeats well within this.
 */
const PREVIOUS_LEADER_SESSION_MS = 600;

export class ActiveController {
  private controller: QuorumController | null = null;
  /** Bumped on every leadership change: a slow activation from an older term gives up. */
  private generation = 0;
  private tickTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  /** The last other node seen leading the quorum (the previous active controller). */
  private previousLeader: number | null = null;

  constructor(
    private readonly host: RaftHost,
    private readonly stateMachine: MetadataStateMachine,
    private readonly config: ControllerConfig,
    private readonly logger: Logger,
    private readonly addressOf: (id: number) => string,
  ) {}

  start(): void {
    this.unsubscribe = this.host.onLeaderChange((info) => this.leaderChanged(info));
    const now = this.host.leader();
    if (now.role === 'leader') this.leaderChanged(now);
  }

  get isActive(): boolean {
    return this.controller !== null;
  }

  /**
   * Runs one controller handler as one Raft entry and resolves with its response after commit.
   * Throws NotLeaderError (with the leader hint) when this node is not the active controller.
   */
  async run<R>(handler: (c: QuorumController, ctx: RequestContext) => ControllerResult<R>): Promise<R> {
    const c = this.controller;
    if (!c) throw this.notController();
    try {
      const { result } = await this.host.proposeWith((nextIndex) => {
        if (this.controller !== c) throw this.notController();
        const out = handler(c, { now: performance.now(), offset: nextIndex });
        return { result: out.response, records: out.records.length > 0 ? [encodeBatch(out.records)] : [] };
      });
      return result;
    } catch (err) {
      // The controller's image may now be ahead of a log that lost its entry: never reuse it.
      if (err instanceof NotLeaderError && this.controller === c) this.deactivate('proposal failed: not the leader');
      throw err;
    }
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.deactivate('shutting down');
  }

  private leaderChanged(info: LeaderInfo): void {
    if (info.leaderId !== null && info.leaderId !== this.host.id) this.previousLeader = info.leaderId;
    if (info.role === 'leader') {
      if (this.controller === null) void this.activate(info.term);
    } else if (this.controller !== null || this.generation > 0) {
      this.deactivate(`raft role ${info.role}`);
    }
  }

  private async activate(term: number): Promise<void> {
    const generation = ++this.generation;
    const marker = encodeBatch([{ type: 'FeatureLevel', name: METADATA_VERSION_FEATURE, level: METADATA_VERSION }]);
    try {
      await this.host.proposeWith(() => ({ result: null, records: [marker] }));
    } catch (err) {
      this.logger.info({ term, err: (err as Error).message }, 'controller: activation abandoned');
      return;
    }
    if (generation !== this.generation || this.host.leader().role !== 'leader') return;
    const image = this.stateMachine.image;
    const now = performance.now();
    this.controller = new QuorumController({ config: this.config, random: mathRandom, image, now });
    if (this.previousLeader !== null) this.controller.shortenSession(this.previousLeader, now, PREVIOUS_LEADER_SESSION_MS);
    this.logger.info({ term, metadataOffset: image.offset, brokers: image.brokerList().length, previousController: this.previousLeader }, 'controller: activated');
    this.scheduleTick();
  }

  private deactivate(why: string): void {
    this.generation++;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickTimer = null;
    if (this.controller === null) return;
    this.controller = null;
    this.logger.info({ why }, 'controller: deactivated');
  }

  private scheduleTick(): void {
    const c = this.controller;
    if (!c) return;
    const delay = Math.min(TICK_INTERVAL_MAX_MS, Math.max(1, Math.ceil(c.nextDeadlineMs() - performance.now())));
    this.tickTimer = setTimeout(() => {
      this.tickTimer = null;
      this.run((ctrl, ctx) => ctrl.tick(ctx)).then(
        (r) => {
          if (r.fenced.length > 0) this.logger.warn({ fenced: r.fenced }, 'controller: fenced brokers (session expired)');
          if (r.preferredElections > 0) this.logger.info({ partitions: r.preferredElections }, 'controller: preferred leaders restored');
        },
        (err: unknown) => this.logger.debug({ err: (err as Error).message }, 'controller: tick failed'),
      ).finally(() => {
        if (this.controller === c) this.scheduleTick();
      });
    }, delay);
    this.tickTimer.unref();
  }

  private notController(): NotLeaderError {
    const { leaderId, term } = this.host.leader();
    const other = leaderId === this.host.id ? null : leaderId;
    return new NotLeaderError(other, term, other === null ? '' : this.addressOf(other), 'this node is not the active controller');
  }
}
