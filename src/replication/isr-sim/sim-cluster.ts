/**
 * SimCluster: one seeded world — controller, N brokers hosting every partition's replicas (placed
 * like a real topic), producers (acks=all and acks=1) and a fault schedule: crashes (unclean: the
 * un-fsynced tail may go; clean: flushed first) and restarts, brokers cut off from the controller
 * only or from everyone, one-way link cuts, slow brokers (they fall out of the ISR), drop-rate
 * changes. After the chaos phase everything heals and restarts, producers stop, the cluster settles,
 * and the final checks run.
 */
import type { ErrorCode } from '../../protocol/errors.js';
import { placeReplicas, type Acks, type PartitionRegistration } from '../isr/index.js';
import { Checker } from './checker.js';
import { EventQueue } from './event-queue.js';
import { SimRandom } from './random.js';
import { SimBroker } from './sim-broker.js';
import { drawConfig, type SimConfig } from './sim-config.js';
import { SimController } from './sim-controller.js';
import type { SimEnv } from './sim-env.js';
import { CLIENT, CONTROLLER, SimNetwork } from './sim-network.js';
import { Trace } from './trace.js';

/** Fault actions are this far apart (simulated ms), drawn uniformly. */
const FAULT_GAP_MIN_MS = 40;
const FAULT_GAP_MAX_MS = 250;
/** A crashed broker comes back after this long. */
const RESTART_MIN_MS = 30;
const RESTART_MAX_MS = 900;

export interface ClusterStats {
  acked: number;
  produced: number;
  rejected: number;
  hwAdvances: number;
  truncations: number;
  offlineAtEnd: number;
  events: number;
}

export class SimCluster implements SimEnv {
  readonly queue = new EventQueue();
  readonly rng: SimRandom;
  readonly cfg: SimConfig;
  readonly net: SimNetwork;
  readonly trace: Trace;
  readonly checker: Checker;
  private readonly ctrl: SimController;
  private readonly brokers: SimBroker[] = [];
  private nextRecordId = 1;
  private producing = true;
  private produced = 0;
  private rejected = 0;

  constructor(seed: number, steps: number, override: Partial<SimConfig> = {}) {
    this.rng = new SimRandom(seed);
    this.cfg = { ...drawConfig(this.rng, steps), ...override };
    this.trace = new Trace(() => this.queue.now);
    this.net = new SimNetwork(this.queue, this.rng, this.cfg.dropRate, this.cfg.minDelayMs, this.cfg.maxDelayMs);
    this.checker = new Checker(this.cfg.partitions);
    const ids = Array.from({ length: this.cfg.brokers }, (_, i) => i + 1);
    const assignments = placeReplicas({
      brokers: ids, partitions: this.cfg.partitions, replicationFactor: this.cfg.replicationFactor,
      start: this.rng.int(ids.length), shift: this.rng.int(ids.length),
    });
    this.ctrl = new SimController(this, assignments);
    for (const id of ids) {
      const hosted = assignments.flatMap((r, p) => (r.includes(id) ? [p] : []));
      this.brokers.push(new SimBroker(id, this, hosted, this.ctrl.brokerEpoch(id)));
    }
    const c = this.cfg;
    this.trace.add(`config brokers=${c.brokers} partitions=${c.partitions} rf=${c.replicationFactor} minIsr=${c.minInsyncReplicas} unclean=[${[...c.uncleanPartitions]}] flushMs=${c.flushIntervalMs} truncateFirst=${c.truncateFirst} drop=${c.dropRate} delay≤${c.maxDelayMs} assignments=${JSON.stringify(assignments)}`);
    this.ctrl.partitions.forEach((reg, p) => reg.replicas.forEach((id) => this.pushState(id, p, reg)));
    const controllerTick = (): void => {
      this.ctrl.tick();
      this.queue.after(c.brokerTickMs, controllerTick);
    };
    this.queue.after(c.brokerTickMs, controllerTick);
    for (let i = 0; i < c.producers; i++) this.queue.after(this.rng.int(10), () => this.produceLoop());
  }

  controller(): SimController {
    return this.ctrl;
  }

  broker(id: number): SimBroker {
    return this.brokers[id - 1]!;
  }

  pushState(brokerId: number, p: number, reg: PartitionRegistration): void {
    this.net.send(CONTROLLER, brokerId, () => this.broker(brokerId).applyState(p, reg));
  }

  /** Producers read the controller's metadata directly (a fresh view) and send over the network. */
  private produceLoop(): void {
    if (!this.producing) return;
    const p = this.rng.int(this.cfg.partitions);
    const leader = this.ctrl.partitions[p]!.leader;
    if (leader > 0) {
      const acks: Acks = this.rng.chance(this.cfg.acksAllShare) ? -1 : 1;
      const id = this.nextRecordId++;
      this.produced++;
      this.net.send(CLIENT, leader, () =>
        this.broker(leader).handleProduce(p, acks, id, (error) => {
          if (error) this.rejected++;
        }),
      );
    }
    this.queue.after(this.rng.between(1, 12), () => this.produceLoop());
  }

  // ---- scripted control, for targeted scenarios ----

  /** Advances simulated time by `ms`. */
  runFor(ms: number): void {
    this.queue.runUntil(this.queue.now + ms);
  }

  registration(p: number): PartitionRegistration {
    return this.ctrl.partitions[p]!;
  }

  /** Produces one record straight to broker `to` (bypassing the network); `result` fills in when answered. */
  produceTo(to: number, p: number, acks: Acks): { id: number; result: ErrorCode | null | undefined } {
    const out: { id: number; result: ErrorCode | null | undefined } = { id: this.nextRecordId++, result: undefined };
    this.produced++;
    this.broker(to).handleProduce(p, acks, out.id, (error) => {
      out.result = error;
    });
    return out;
  }

  stopProducers(): void {
    this.producing = false;
  }

  /** Heals, restarts everyone, settles, and runs the final checks (throws InvariantViolation). */
  settleAndCheck(ms = this.cfg.quiesceMs): void {
    this.producing = false;
    this.net.healAll();
    this.net.dropRate = 0;
    for (const b of this.brokers) if (!b.alive) b.start();
    this.runFor(ms);
    this.ctrl.partitions.forEach((reg, p) => {
      this.checker.finalCheck(p, reg.leader, reg.isr.filter((id) => id !== reg.leader), (id) => this.broker(id).logOf(p));
    });
  }

  private brokerIds(): number[] {
    return this.brokers.map((b) => b.id);
  }

  private fault(): void {
    const b = this.rng.pick(this.brokers);
    const all = [CONTROLLER, ...this.brokerIds()];
    const roll = this.rng.next();
    if (roll < 0.3) {
      const down = this.brokers.filter((x) => !x.alive).length;
      if (!b.alive || down >= this.brokers.length - 1) return;
      b.crash(this.rng.chance(0.25));
      this.queue.after(this.rng.between(RESTART_MIN_MS, RESTART_MAX_MS), () => {
        if (!b.alive) b.start();
      });
    } else if (roll < 0.42) {
      this.trace.add(`net: b${b.id} cut off from the controller`);
      this.net.isolate(b.id, [CONTROLLER]);
    } else if (roll < 0.52) {
      this.trace.add(`net: b${b.id} isolated`);
      this.net.isolate(b.id, all);
    } else if (roll < 0.62) {
      const to = this.rng.pick(this.brokerIds().filter((x) => x !== b.id));
      this.trace.add(`net: link b${b.id} → b${to} cut`);
      this.net.cutLink(b.id, to);
    } else if (roll < 0.72) {
      const extra = this.rng.pick([20, 100, 400]);
      this.trace.add(`net: b${b.id} slow +${extra}ms`);
      this.net.setSlow(b.id, extra);
    } else if (roll < 0.9) {
      this.trace.add('net: heal');
      this.net.healAll();
    } else {
      this.net.dropRate = this.rng.pick([0, 0.02, 0.1]);
      this.trace.add(`net: drop rate ${this.net.dropRate}`);
    }
  }

  /** Runs chaos, then heals and settles, then the final checks. Throws InvariantViolation. */
  run(): ClusterStats {
    let events = 0;
    let t = 0;
    while (t < this.cfg.chaosMs) {
      t += this.rng.between(FAULT_GAP_MIN_MS, FAULT_GAP_MAX_MS);
      events += this.queue.runUntil(t);
      this.fault();
    }
    this.trace.add('settle: heal, restart every broker, stop producers');
    this.settleAndCheck(); // settling events are not counted
    const offline = this.ctrl.partitions.filter((reg) => reg.leader < 0).length;
    return {
      acked: this.checker.ackCount, produced: this.produced, rejected: this.rejected, hwAdvances: this.checker.hwAdvances,
      truncations: this.checker.truncations, offlineAtEnd: offline, events,
    };
  }
}
