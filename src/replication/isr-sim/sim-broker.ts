/**
 * SimBroker: one broker of the ISR simulation, driving the real sans-I/O cores (LeaderPartition,
 * FollowerPartition) over a SimLog per replica. It plays the part the broker runtime will: applies
 * controller metadata (become leader / follower / nothing), runs the follower fetch loop, answers
 * fetches and OffsetForLeaderEpoch as leader, appends produce requests, applies the cores' effects.
 *
 * Lifecycle: `crash(clean)` loses the process (and, unclean, the un-fsynced tail of every log);
 * `start()` registers again with the controller and does nothing for its partitions until the
 * answer (with a new broker epoch and current metadata) arrives. Callbacks carry the incarnation
 * they belong to, so timers and answers of a dead incarnation are dropped (connections die with a
 * process); requests sent to a restarted broker are still delivered.
 */
import { strict as assert } from 'node:assert';
import { ErrorCode } from '../../protocol/errors.js';
import {
  ACKS_ALL, FollowerPartition, LeaderPartition, NO_LEADER,
  type Acks, type AlterPartitionAnswer, type AlterPartitionProposal, type FetchAnswer, type FollowerAction, type FollowerRequest,
  type LeaderEffects, type PartitionRegistration,
} from '../isr/index.js';
import { CONTROLLER } from './sim-network.js';
import { SimLog, type SimEntry } from './sim-log.js';
import type { SimEnv } from './sim-env.js';

type Role = { kind: 'none' } | { kind: 'leader'; core: LeaderPartition } | { kind: 'follower'; core: FollowerPartition };

interface Replica {
  p: number;
  log: SimLog;
  known: PartitionRegistration | null;
  role: Role;
}

interface FetchReply extends FetchAnswer {
  fetchOffset: number;
  prefixHash: number;
  entries: SimEntry[];
}

interface PendingProduce {
  p: number;
  offset: number;
  id: number;
  leaderEpoch: number;
  reply: (error: ErrorCode | null) => void;
}

export class SimBroker {
  alive = true;
  private incarnation = 0;
  private brokerEpoch: number;
  private registerAttempt = 0;
  /**
   * KIP-966's clean-shutdown marker: the broker epoch of the incarnation that stopped without losing
   * anything, or -1. Only an incarnation that registered can vouch for itself — one that crashed,
   * restarted and shut down cleanly before registering never told the controller what it lost.
   */
  private cleanShutdownEpoch: number;
  private readonly replicas = new Map<number, Replica>();
  private readonly produces = new Map<number, PendingProduce>();
  private nextWaiterId = 1;
  private lastFlushMs = 0;

  constructor(
    readonly id: number,
    private readonly env: SimEnv,
    hosted: readonly number[],
    initialBrokerEpoch: number,
  ) {
    this.brokerEpoch = initialBrokerEpoch;
    this.cleanShutdownEpoch = initialBrokerEpoch;
    for (const p of hosted) this.replicas.set(p, { p, log: new SimLog(), known: null, role: { kind: 'none' } });
    this.schedule();
  }

  logOf(p: number): SimLog {
    return this.replicas.get(p)!.log;
  }

  leaderCore(p: number): LeaderPartition | null {
    const r = this.replicas.get(p);
    return this.alive && r?.role.kind === 'leader' ? r.role.core : null;
  }

  crash(clean: boolean): void {
    assert.ok(this.alive);
    this.alive = false;
    this.incarnation++;
    // With flush.mode=always nothing un-fsynced was ever acknowledged, so a crash loses nothing.
    const lossless = clean || this.env.cfg.flushIntervalMs === 0;
    this.cleanShutdownEpoch = !lossless ? -1 : this.brokerEpoch >= 0 ? this.brokerEpoch : this.cleanShutdownEpoch;
    let lost = 0;
    for (const r of this.replicas.values()) {
      if (r.role.kind === 'leader') this.env.checker.onResign(r.p, this.id);
      r.role = { kind: 'none' };
      r.known = null;
      if (clean) r.log.flush();
      else lost += r.log.crash(this.env.rng);
      this.env.checker.onTruncate(r.p, this.id, r.log.logEndOffset);
    }
    this.produces.clear(); // their connections died: producers see errors, nothing was promised
    this.brokerEpoch = -1;
    this.env.trace.add(`b${this.id} ${clean ? 'clean shutdown' : `CRASH (lost ${lost} un-fsynced records)`}`);
  }

  start(): void {
    assert.ok(!this.alive);
    this.alive = true;
    this.incarnation++;
    this.env.trace.add(`b${this.id} start`);
    this.register();
    this.schedule();
  }

  /** Controller metadata (push or heartbeat answer). Applied only when newer and registered. */
  applyState(p: number, reg: PartitionRegistration): void {
    const r = this.replicas.get(p);
    if (!this.alive || this.brokerEpoch < 0 || !r || (r.known && reg.partitionEpoch <= r.known.partitionEpoch)) return;
    r.known = reg;
    const now = this.env.queue.now;
    if (reg.leader === this.id) {
      if (r.role.kind === 'leader' && r.role.core.leaderEpoch === reg.leaderEpoch) {
        this.applyLeaderEffects(r, r.role.core, r.role.core.onPartitionState(reg));
        return;
      }
      this.dropRole(r);
      r.log.assignEpoch(reg.leaderEpoch, r.log.logEndOffset);
      const core = new LeaderPartition({
        brokerId: this.id, replicas: reg.replicas, isr: reg.isr, leaderEpoch: reg.leaderEpoch, partitionEpoch: reg.partitionEpoch,
        logEndOffset: r.log.logEndOffset, highWatermark: Math.min(r.log.highWatermark, r.log.logEndOffset), nowMs: now,
        config: { replicaLagTimeMaxMs: this.env.cfg.replicaLagTimeMaxMs, minInsyncReplicas: this.env.cfg.minInsyncReplicas, alterPartitionRetryMs: this.env.cfg.alterPartitionRetryMs },
      });
      r.role = { kind: 'leader', core };
      this.env.trace.add(`b${this.id} p${p} LEADER epoch ${reg.leaderEpoch} LEO ${r.log.logEndOffset} HW ${core.highWatermark}`);
      this.env.checker.onBecomeLeader(p, this.id, reg.leaderEpoch, r.log);
      this.applyLeaderEffects(r, core, core.onLocalAppend(r.log.logEndOffset, now));
      return;
    }
    if (r.role.kind === 'follower' && r.role.core.leaderId === reg.leader && r.role.core.leaderEpoch === reg.leaderEpoch) return;
    this.dropRole(r);
    if (reg.leader === NO_LEADER) return;
    r.role = {
      kind: 'follower',
      core: new FollowerPartition({
        brokerId: this.id, brokerEpoch: this.brokerEpoch, leaderId: reg.leader, leaderEpoch: reg.leaderEpoch, truncateFirst: this.env.cfg.truncateFirst,
        nowMs: now, fetchBackoffMs: this.env.cfg.replicaFetchBackoffMs, requestTimeoutMs: this.env.cfg.replicaFetchTimeoutMs,
      }),
    };
    this.pumpFollower(r);
  }

  // ---- produce (leader) ----

  handleProduce(p: number, acks: Acks, id: number, reply: (error: ErrorCode | null) => void): void {
    const r = this.replicas.get(p);
    if (!this.alive || !r || r.role.kind !== 'leader') return reply(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const core = r.role.core;
    const error = core.appendCheck(acks);
    if (error) return reply(error);
    const offset = r.log.logEndOffset;
    r.log.append({ epoch: core.leaderEpoch, id });
    if (this.env.cfg.flushIntervalMs === 0) r.log.flush();
    this.applyLeaderEffects(r, core, core.onLocalAppend(r.log.logEndOffset, this.env.queue.now));
    if (acks !== ACKS_ALL) return reply(null);
    const waiterId = this.nextWaiterId++;
    this.produces.set(waiterId, { p, offset, id, leaderEpoch: core.leaderEpoch, reply });
    this.applyLeaderEffects(r, core, core.addAckWaiter(waiterId, offset + 1, this.env.queue.now + this.env.cfg.produceTimeoutMs));
  }

  // ---- replication (leader side) ----

  handleFetch(p: number, req: Extract<FollowerRequest, { kind: 'fetch' }>): FetchReply | null {
    const r = this.replicas.get(p);
    if (!this.alive || this.brokerEpoch < 0 || !r) return null; // connection refused: the follower times out
    const base = { requestId: req.requestId, fetchOffset: req.fetchOffset, prefixHash: 0, entries: [] as SimEntry[], divergingEpoch: null, hasRecords: false };
    const info = { highWatermark: r.log.highWatermark, logStartOffset: 0, logEndOffset: r.log.logEndOffset };
    if (r.role.kind !== 'leader') return { ...base, ...info, error: this.notLeaderError(r, req.currentLeaderEpoch) };
    const core = r.role.core;
    const res = core.onFollowerFetch(
      { followerId: req.replicaId, brokerEpoch: req.brokerEpoch, fetchOffset: req.fetchOffset, lastFetchedEpoch: req.lastFetchedEpoch, currentLeaderEpoch: req.currentLeaderEpoch },
      r.log, this.env.queue.now);
    this.applyLeaderEffects(r, core, res.effects);
    if (res.kind === 'error') return { ...base, ...info, error: res.error };
    if (res.kind === 'diverging') return { ...base, ...info, highWatermark: res.highWatermark, error: null, divergingEpoch: res.divergingEpoch };
    const end = Math.min(res.maxOffset, res.fetchOffset + this.env.cfg.fetchMaxRecords);
    const entries = r.log.entries.slice(res.fetchOffset, end);
    return { ...base, ...info, highWatermark: res.highWatermark, error: null, entries, hasRecords: entries.length > 0, prefixHash: r.log.hashAt(res.fetchOffset) };
  }

  handleEpochQuery(p: number, currentLeaderEpoch: number, requestedEpoch: number): { error: ErrorCode | null; epoch: number; endOffset: number } | null {
    const r = this.replicas.get(p);
    if (!this.alive || this.brokerEpoch < 0 || !r) return null;
    if (r.role.kind !== 'leader') return { error: this.notLeaderError(r, currentLeaderEpoch), epoch: -1, endOffset: -1 };
    const res = r.role.core.offsetForLeaderEpoch(currentLeaderEpoch, requestedEpoch, r.log);
    return 'error' in res ? { error: res.error, epoch: -1, endOffset: -1 } : { error: null, ...res };
  }

  private notLeaderError(r: Replica, theirEpoch: number): ErrorCode {
    const mine = r.known?.leaderEpoch ?? -1;
    if (theirEpoch > mine) return ErrorCode.UNKNOWN_LEADER_EPOCH;
    if (theirEpoch < mine) return ErrorCode.FENCED_LEADER_EPOCH;
    return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  }

  private applyLeaderEffects(r: Replica, core: LeaderPartition, effects: LeaderEffects): void {
    if (effects.highWatermark !== null) {
      r.log.setHighWatermark(effects.highWatermark);
      const counted = core.maximalIsr.filter((id) => id !== this.id).map((id) => ({ id, leo: core.followerEndOffset(id) }));
      this.env.checker.onLeaderHw(r.p, this.id, core.leaderEpoch, effects.highWatermark, r.log, counted);
    }
    if (effects.alterPartition) this.sendAlterPartition(r, core, effects.alterPartition);
    for (const c of effects.completed) {
      const pending = this.produces.get(c.id);
      if (!pending) continue;
      this.produces.delete(c.id);
      if (c.error === null) this.env.checker.onAck(pending.p, pending.offset, pending.id, pending.leaderEpoch);
      pending.reply(c.error);
    }
  }

  private sendAlterPartition(r: Replica, core: LeaderPartition, proposal: AlterPartitionProposal): void {
    const inc = this.incarnation;
    const req = { leaderId: this.id, leaderBrokerEpoch: this.brokerEpoch, leaderEpoch: proposal.leaderEpoch, partitionEpoch: proposal.partitionEpoch, newIsr: proposal.newIsr };
    this.env.net.send(this.id, CONTROLLER, () => {
      const result = this.env.controller().alterPartition(r.p, req);
      this.env.net.send(CONTROLLER, this.id, () => {
        if (inc !== this.incarnation || r.role.kind !== 'leader' || r.role.core !== core) return;
        const state = { leaderEpoch: result.registration.leaderEpoch, partitionEpoch: result.registration.partitionEpoch, isr: result.registration.isr };
        const answer: AlterPartitionAnswer = result.accepted ? { requestId: proposal.requestId, accepted: true, state } : { requestId: proposal.requestId, accepted: false, state };
        if (state.leaderEpoch !== core.leaderEpoch) return this.applyState(r.p, result.registration);
        this.applyLeaderEffects(r, core, core.onAlterPartitionAnswer(answer));
      });
    });
  }

  // ---- replication (follower side) ----

  private pumpFollower(r: Replica): void {
    if (!this.alive || r.role.kind !== 'follower') return;
    const core = r.role.core;
    const req = core.poll(r.log, this.env.queue.now);
    if (!req) return;
    const inc = this.incarnation;
    const leader = this.env.broker(req.leaderId);
    const stillOurs = (): boolean => inc === this.incarnation && r.role.kind === 'follower' && r.role.core === core;
    this.env.net.send(this.id, req.leaderId, () => {
      if (req.kind === 'fetch') {
        const reply = leader.handleFetch(r.p, req);
        if (reply) this.env.net.send(req.leaderId, this.id, () => stillOurs() && this.onFetchReply(r, core, reply));
      } else {
        const reply = leader.handleEpochQuery(r.p, req.currentLeaderEpoch, req.requestedEpoch);
        if (reply) {
          this.env.net.send(req.leaderId, this.id, () => {
            if (!stillOurs()) return;
            const action = core.onOffsetForLeaderEpochResponse({ requestId: req.requestId, error: reply.error, epochEnd: { epoch: reply.epoch, endOffset: reply.endOffset } }, r.log, this.env.queue.now);
            this.onFollowerAction(r, core, action, null);
          });
        }
      }
    });
  }

  private onFetchReply(r: Replica, core: FollowerPartition, reply: FetchReply): void {
    this.onFollowerAction(r, core, core.onFetchResponse(reply, r.log, this.env.queue.now), reply);
  }

  private onFollowerAction(r: Replica, core: FollowerPartition, action: FollowerAction, reply: FetchReply | null): void {
    switch (action.kind) {
      case 'append': {
        assert.ok(reply && r.log.logEndOffset === reply.fetchOffset, 'the log changed under an in-flight fetch');
        this.env.checker.onFollowerAppend(r.p, this.id, core.leaderId, reply.fetchOffset, r.log.hashAt(reply.fetchOffset), reply.prefixHash);
        for (const e of reply.entries) r.log.append(e);
        if (this.env.cfg.flushIntervalMs === 0) r.log.flush();
        this.setFollowerHw(r, core.onAppended(r.log));
        this.pumpFollower(r);
        return;
      }
      case 'truncate':
      case 'truncate-fully': {
        const offset = action.kind === 'truncate' ? action.offset : 0;
        this.env.trace.add(`b${this.id} p${r.p} truncate ${r.log.logEndOffset} → ${offset} (leader b${core.leaderId} epoch ${core.leaderEpoch})`);
        r.log.truncateTo(offset);
        this.env.checker.onTruncate(r.p, this.id, offset);
        core.onTruncated();
        this.pumpFollower(r);
        return;
      }
      case 'high-watermark':
        this.setFollowerHw(r, action.highWatermark);
        return; // nothing new: the next fetch waits for the next tick (long-poll stand-in)
      case 'await-metadata':
      case 'backoff':
      case 'ignored':
        return;
    }
  }

  private setFollowerHw(r: Replica, hw: number): void {
    const next = Math.min(Math.max(r.log.highWatermark, hw), r.log.logEndOffset);
    if (next === r.log.highWatermark) return;
    r.log.setHighWatermark(next);
    this.env.checker.onFollowerHw(r.p, this.id, r.log);
  }

  private dropRole(r: Replica): void {
    if (r.role.kind === 'leader') {
      const core = r.role.core;
      this.env.checker.onResign(r.p, this.id);
      r.role = { kind: 'none' };
      this.applyLeaderEffects(r, core, core.resign());
    }
    r.role = { kind: 'none' };
  }

  // ---- lifecycle: registration, heartbeats, ticks ----

  private reRegister(): void {
    this.env.trace.add(`b${this.id} stale broker epoch ${this.brokerEpoch}: registering again`);
    for (const r of this.replicas.values()) {
      this.dropRole(r);
      r.known = null;
    }
    this.brokerEpoch = -1;
    this.register();
  }

  private register(): void {
    const inc = this.incarnation;
    const attempt = ++this.registerAttempt;
    const previousEpoch = this.cleanShutdownEpoch;
    this.env.net.send(this.id, CONTROLLER, () => {
      const controller = this.env.controller();
      const epoch = controller.register(this.id, previousEpoch);
      const states = controller.partitions.map((reg, p) => ({ p, reg }));
      this.env.net.send(CONTROLLER, this.id, () => {
        if (inc !== this.incarnation || attempt !== this.registerAttempt || this.brokerEpoch >= 0) return;
        this.brokerEpoch = epoch;
        this.cleanShutdownEpoch = -1; // from now on only a clean stop of *this* incarnation vouches
        this.env.trace.add(`b${this.id} registered epoch ${epoch}`);
        for (const { p, reg } of states) this.applyState(p, reg);
      });
    });
    this.env.queue.after(this.env.cfg.heartbeatIntervalMs * 2, () => {
      if (inc === this.incarnation && this.brokerEpoch < 0 && attempt === this.registerAttempt) this.register();
    });
  }

  private schedule(): void {
    const inc = this.incarnation;
    const tick = (): void => {
      if (inc !== this.incarnation) return;
      this.tick();
      this.env.queue.after(this.env.cfg.brokerTickMs, tick);
    };
    const heartbeat = (): void => {
      if (inc !== this.incarnation) return;
      this.heartbeat();
      this.env.queue.after(this.env.cfg.heartbeatIntervalMs, heartbeat);
    };
    this.env.queue.after(this.env.rng.int(this.env.cfg.brokerTickMs) + 1, tick);
    this.env.queue.after(this.env.rng.int(this.env.cfg.heartbeatIntervalMs) + 1, heartbeat);
  }

  private heartbeat(): void {
    if (this.brokerEpoch < 0) return;
    const inc = this.incarnation;
    const epoch = this.brokerEpoch;
    this.env.net.send(this.id, CONTROLLER, () => {
      const controller = this.env.controller();
      if (!controller.heartbeat(this.id, epoch)) {
        // Our registration was superseded (a retried registration won): stop acting on it, register again.
        this.env.net.send(CONTROLLER, this.id, () => inc === this.incarnation && this.brokerEpoch === epoch && this.reRegister());
        return;
      }
      const states = controller.partitions.map((reg, p) => ({ p, reg }));
      this.env.net.send(CONTROLLER, this.id, () => {
        if (inc === this.incarnation) for (const { p, reg } of states) this.applyState(p, reg);
      });
    });
  }

  private tick(): void {
    const now = this.env.queue.now;
    if (this.env.cfg.flushIntervalMs > 0 && now - this.lastFlushMs >= this.env.cfg.flushIntervalMs) {
      this.lastFlushMs = now;
      for (const r of this.replicas.values()) r.log.flush();
    }
    for (const r of this.replicas.values()) {
      if (r.role.kind === 'leader') this.applyLeaderEffects(r, r.role.core, r.role.core.tick(now));
      else if (r.role.kind === 'follower') this.pumpFollower(r);
    }
  }
}
