/**
 * The broker half of the lifecycle (KRaft's BrokerLifecycleManager): register with the active
 * controller at start-up (with the broker epoch saved at the last clean shutdown, so a clean restart
 * keeps its replicas in the ISR), then heartbeat every broker.heartbeat.interval.ms through the
 * ControllerChannel. A heartbeat refused with STALE_BROKER_EPOCH (the controller lost or replaced
 * this registration) registers again. `controlledShutdown` heartbeats with wantShutdown until the
 * controller has moved every leadership away (KIP-841) or a timeout passes.
 * Logs registration, fencing and unfencing, and every change of controller.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode, type FerryError } from '../../protocol/errors.js';
import type { LeaderlessReplicaReport } from '../../controller/index.js';
import type { ControllerChannel } from './controller-channel.js';

export interface BrokerHeartbeatOptions {
  brokerId: number;
  clusterId: string;
  host: string;
  port: number;
  /** The epoch saved at the last clean shutdown; -1 after a crash or on a fresh data dir. */
  previousBrokerEpoch: number;
  intervalMs: number;
  channel: ControllerChannel;
  /** The offset of the metadata this broker has applied. */
  metadataOffset: () => number;
  /** How many partitions this broker leads in its metadata image (controlled shutdown progress). */
  ledPartitions: () => number;
  /** This broker's replicas of partitions with no leader, ISR or ELR (for the recovery election). */
  leaderlessReplicas: () => LeaderlessReplicaReport[];
  /** A (new) registration was accepted: the replica manager starts / re-keys its followers. */
  onRegistered: (brokerEpoch: number) => void;
  logger: Logger;
}

/** Controlled shutdown stops waiting once no controller has answered for this long, */
const CONTROLLER_SILENCE_GIVE_UP_MS = 2_000;
/** or once the number of partitions this broker leads has not dropped for this long. */
const NO_PROGRESS_GIVE_UP_MS = 3_000;

interface HeartbeatAnswer {
  isFenced: boolean;
  isCaughtUp: boolean;
  shouldShutDown: boolean;
}

export class BrokerHeartbeat {
  private readonly incarnationId = randomUUID();
  private epoch: number | null = null;
  private fenced: boolean | null = null;
  private controllerId: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private wantShutdown = false;
  private shutdownGranted = false;
  private previousEpoch: number;
  private lastAnswerMs = 0;

  constructor(private readonly options: BrokerHeartbeatOptions) {
    this.previousEpoch = options.previousBrokerEpoch;
  }

  /** The current registration's epoch, or null before the first registration. */
  get brokerEpoch(): number | null {
    return this.epoch;
  }

  get isFenced(): boolean {
    return this.fenced !== false;
  }

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * Asks the controller to move leadership away and waits until it says this broker may stop (or
   * `timeoutMs`). Returns whether it was granted; the caller shuts down either way.
   */
  async controlledShutdown(timeoutMs: number): Promise<boolean> {
    if (this.epoch === null) return false;
    this.wantShutdown = true;
    const deadline = Date.now() + timeoutMs;
    const started = Date.now();
    this.lastAnswerMs = started;
    this.options.logger.info({ brokerEpoch: this.epoch, timeoutMs }, 'controlled shutdown: asking the controller to move leadership away');
    let led = this.options.ledPartitions();
    let lastProgressMs = started;
    while (!this.shutdownGranted && Date.now() < deadline && !this.stopped) {
      // No controller answering (the whole cluster is stopping, or this broker is cut off): nobody
      // can move leadership, so waiting longer only delays the stop.
      if (Date.now() - this.lastAnswerMs > CONTROLLER_SILENCE_GIVE_UP_MS) break;
      // Leaderships stopped moving: the rest have no other eligible replica (e.g. every broker is
      // stopping at once); they go offline when this broker's session ends.
      const nowLed = this.options.ledPartitions();
      if (nowLed < led) {
        led = nowLed;
        lastProgressMs = Date.now();
      } else if (Date.now() - lastProgressMs > NO_PROGRESS_GIVE_UP_MS) {
        break;
      }
      await this.beat(Math.min(1_000, Math.max(200, deadline - Date.now())));
      if (!this.shutdownGranted) await new Promise((r) => setTimeout(r, 100));
    }
    const ms = Date.now() - started;
    if (this.shutdownGranted) this.options.logger.info({ ms }, 'controlled shutdown: granted (this broker leads no partitions)');
    else this.options.logger.warn({ ms, timeoutMs, controllerSilentMs: Date.now() - this.lastAnswerMs, stillLeading: this.options.ledPartitions() }, 'controlled shutdown: not granted (timeout, no controller answering, or leaderships with nowhere to go); stopping anyway');
    return this.shutdownGranted;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.beat(Math.max(1_000, 2 * this.options.intervalMs)).finally(() => {
        // Registration retries quickly; a registered broker beats at its interval.
        this.schedule(this.epoch === null ? Math.min(200, this.options.intervalMs) : this.options.intervalMs);
      });
    }, delayMs);
  }

  private async beat(timeoutMs: number): Promise<void> {
    const { channel, logger } = this.options;
    try {
      if (this.epoch === null) await this.register(timeoutMs);
      const { response, target } = await channel.callOnce<HeartbeatAnswer>('BrokerHeartbeat', {
        brokerId: this.options.brokerId, brokerEpoch: this.epoch!, metadataOffset: this.options.metadataOffset(),
        wantFence: false, wantShutdown: this.wantShutdown, recovering: false,
        leaderlessReplicas: this.wantShutdown ? [] : this.options.leaderlessReplicas(),
      }, timeoutMs);
      this.noteController(target);
      this.lastAnswerMs = Date.now();
      if (this.wantShutdown && response.shouldShutDown) this.shutdownGranted = true;
      if (response.isFenced !== this.fenced) {
        this.fenced = response.isFenced;
        if (response.isFenced) logger.warn({ brokerEpoch: this.epoch, controllerId: target, isCaughtUp: response.isCaughtUp }, 'broker fenced by the controller');
        else logger.info({ brokerEpoch: this.epoch, controllerId: target }, 'broker unfenced by the controller');
      }
    } catch (err) {
      const ferry = err as FerryError;
      if (this.epoch !== null && ferry.code === ErrorCode.STALE_BROKER_EPOCH) {
        logger.warn({ brokerEpoch: this.epoch, err: ferry.message }, 'heartbeat refused; registering again');
        this.epoch = null;
        this.fenced = null;
        return;
      }
      logger.debug({ code: ferry.code, err: ferry.message }, 'controller request failed; retrying');
    }
  }

  private async register(timeoutMs: number): Promise<void> {
    const { response, target } = await this.options.channel.callOnce<{ brokerEpoch: number | string }>('RegisterBroker', {
      brokerId: this.options.brokerId, clusterId: this.options.clusterId, incarnationId: this.incarnationId,
      host: this.options.host, port: this.options.port, previousBrokerEpoch: this.previousEpoch,
    }, timeoutMs);
    const epoch = Number(response.brokerEpoch);
    this.epoch = epoch;
    this.previousEpoch = -1; // the clean-shutdown epoch vouches for the first registration only
    this.fenced = true;
    this.noteController(target);
    this.options.logger.info({ brokerEpoch: epoch, controllerId: target, incarnationId: this.incarnationId }, 'broker registered with the controller');
    this.options.onRegistered(epoch);
  }

  private noteController(id: number): void {
    if (this.controllerId === id) return;
    this.controllerId = id;
    this.options.logger.info({ controllerId: id, brokerEpoch: this.epoch, fenced: this.fenced }, 'broker heartbeats to a new active controller');
  }
}
