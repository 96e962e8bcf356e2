// The simulated cluster: N RaftNodes over a simulated clock (EventQueue), network (SimNetwork) and
// disks (SimDisk), with the toy KV state machine — the host loop a broker will implement for real.
//
// Host contract, as the broker must follow it: carry out a step's effects in order (hard state and
// snapshot installs durably right away; log writes queued for the next fsync, which is reported back
// with logDurable), then hand the messages to the network. After every step the invariant checker
// sees what changed, and the node's next timer deadline is (re)scheduled.

import { strict as assert } from 'node:assert';
import type { NodeId, Output, RaftConfig, RaftMessage, Snapshot } from '../raft/index.js';
import { RaftNode, SeededRandom } from '../raft/index.js';
import { EventQueue } from './event-queue.js';
import { InvariantChecker } from './invariants.js';
import { KvStateMachine } from './kv-state-machine.js';
import { SimDisk } from './sim-disk.js';
import { SimNetwork, type NetworkWeather } from './sim-network.js';
import { Trace } from './trace.js';

export type SimEvent =
  | { readonly at: number; readonly kind: 'deliver'; readonly message: RaftMessage }
  | { readonly at: number; readonly kind: 'tick'; readonly node: NodeId; readonly incarnation: number }
  | { readonly at: number; readonly kind: 'fsync'; readonly node: NodeId; readonly incarnation: number }
  | { readonly at: number; readonly kind: 'action'; readonly run: () => void };

interface Host {
  readonly node: RaftNode;
  readonly sm: KvStateMachine;
  readonly incarnation: number;
  tickAt: number;
  fsyncScheduled: boolean;
}

export interface ClusterStats {
  events: number;
  messages: number;
  crashes: number;
  elections: number;
  snapshotsInstalled: number;
}

export class SimCluster {
  now = 0;
  readonly voters: NodeId[];
  readonly queue = new EventQueue<SimEvent>();
  readonly network: SimNetwork;
  readonly checker: InvariantChecker;
  readonly trace = new Trace();
  readonly disks = new Map<NodeId, SimDisk>();
  readonly stats: ClusterStats = { events: 0, messages: 0, crashes: 0, elections: 0, snapshotsInstalled: 0 };
  private readonly hosts = new Map<NodeId, Host | null>();
  private incarnations = 0;

  constructor(
    readonly random: SeededRandom,
    private readonly configFor: (id: NodeId) => RaftConfig,
    nodeCount: number,
    weather: NetworkWeather,
    /** Upper bound of the simulated fsync latency. */
    readonly fsyncMaxMs: number,
  ) {
    this.voters = Array.from({ length: nodeCount }, (_, i) => i + 1);
    this.network = new SimNetwork(random.fork(), weather);
    this.checker = new InvariantChecker(nodeCount);
    for (const id of this.voters) {
      this.disks.set(id, new SimDisk());
      this.start(id);
    }
  }

  host(id: NodeId): Host | null {
    return this.hosts.get(id) ?? null;
  }

  node(id: NodeId): RaftNode | null {
    return this.host(id)?.node ?? null;
  }

  alive(): NodeId[] {
    return this.voters.filter((id) => this.host(id) !== null);
  }

  /** The leader with the highest term among live nodes, if any. */
  currentLeader(): RaftNode | null {
    let best: RaftNode | null = null;
    for (const id of this.alive()) {
      const n = this.node(id)!;
      if (n.role === 'leader' && (!best || n.term > best.term)) best = n;
    }
    return best;
  }

  // ---- lifecycle -----------------------------------------------------------------------------
  start(id: NodeId): void {
    assert.equal(this.host(id), null, `n${id} already running`);
    const disk = this.disks.get(id)!;
    const node = new RaftNode(
      { config: this.configFor(id), random: this.random.fork(), log: disk.recoverLog(), hardState: disk.hardState, snapshot: disk.snapshot },
      this.now,
    );
    const sm = new KvStateMachine();
    sm.restore(disk.snapshot);
    const host: Host = { node, sm, incarnation: ++this.incarnations, tickAt: -1, fsyncScheduled: false };
    this.hosts.set(id, host);
    this.checker.onRestart(id);
    if (sm.appliedIndex > 0) this.checker.onApplied(id, sm.appliedIndex, sm.digest);
    this.trace.note(this.now, id, `start term=${disk.hardState.term} vote=${disk.hardState.votedFor} snap=${disk.snapshot?.index ?? 0} log=${disk.log.lastIndex()}`);
    this.scheduleTick(host, id);
  }

  crash(id: NodeId): void {
    if (this.host(id) === null) return;
    this.hosts.set(id, null);
    this.disks.get(id)!.crash(this.random);
    this.stats.crashes++;
    this.trace.note(this.now, id, `CRASH (durable log end ${this.disks.get(id)!.log.lastIndex()})`);
    this.checker.checkCommittedDurable(this.disks);
  }

  // ---- event loop ----------------------------------------------------------------------------
  at(delayMs: number, run: () => void): void {
    this.queue.push({ at: this.now + delayMs, kind: 'action', run });
  }

  /** Process events up to and including `until` (simulated ms). */
  runUntil(until: number, stop?: () => boolean): void {
    for (;;) {
      const event = this.queue.pop();
      if (!event) break;
      if (event.at > until) {
        this.queue.push(event);
        break;
      }
      this.now = event.at;
      this.stats.events++;
      this.dispatch(event);
      if (stop?.()) break;
    }
    this.now = Math.max(this.now, until);
  }

  private dispatch(event: SimEvent): void {
    switch (event.kind) {
      case 'action':
        event.run();
        return;
      case 'deliver': {
        const m = event.message;
        const host = this.host(m.to);
        const lost = host === null || this.network.isCut(m.from, m.to);
        this.trace.add({ at: this.now, kind: 'msg', message: m, fate: lost ? 'drop' : 'deliver' });
        if (!lost) this.step(m.to, (n) => n.receive(m, this.now));
        return;
      }
      case 'tick': {
        const host = this.host(event.node);
        if (host && host.incarnation === event.incarnation && host.tickAt === event.at) this.step(event.node, (n) => n.tick(this.now));
        return;
      }
      case 'fsync': {
        const host = this.host(event.node);
        if (!host || host.incarnation !== event.incarnation) return;
        host.fsyncScheduled = false;
        const durable = this.disks.get(event.node)!.fsync();
        this.step(event.node, (n) => n.logDurable(durable.index, durable.term, this.now));
        return;
      }
    }
  }

  /** Run one node step and carry out its Output as the host contract says. */
  step<O extends Output>(id: NodeId, run: (node: RaftNode) => O): O {
    const host = this.host(id);
    assert.ok(host, `n${id} is down`);
    const out = run(host.node);
    const taken: Snapshot[] = [];
    this.carryOut(id, host, out, taken);
    for (const snapshot of taken) this.carryOut(id, host, host.node.snapshotTaken(snapshot, this.now), taken);
    this.checker.onProgress(id, host.node.commitIndex, host.node.lastApplied);
    this.scheduleTick(host, id);
    return out;
  }

  private carryOut(id: NodeId, host: Host, out: Output, taken: Snapshot[]): void {
    const { node, sm } = host;
    const disk = this.disks.get(id)!;
    for (const effect of out.effects) {
      switch (effect.type) {
        case 'persistHardState':
          disk.hardState = effect.hardState;
          this.checker.onHardState(id, effect.hardState.term, effect.hardState.votedFor);
          break;
        case 'appendLog':
          this.checker.onAppend(id, effect.entries, node.log.termAt(effect.entries[0]!.index - 1));
          disk.write(effect.entries);
          if (!host.fsyncScheduled) {
            host.fsyncScheduled = true;
            this.queue.push({ at: this.now + this.random.nextInt(this.fsyncMaxMs + 1), kind: 'fsync', node: id, incarnation: host.incarnation });
          }
          break;
        case 'apply':
          this.checker.onCommit(id, effect.entries);
          sm.apply(effect.entries);
          this.checker.onApplied(id, sm.appliedIndex, sm.digest);
          break;
        case 'takeSnapshot': {
          assert.equal(sm.appliedIndex, effect.index, 'state machine is not at the snapshot index');
          const snapshot = sm.snapshot(effect.term);
          disk.saveSnapshot(snapshot);
          taken.push(snapshot);
          break;
        }
        case 'compactLog':
          disk.compact(effect.throughIndex);
          break;
        case 'installSnapshot':
          disk.install(effect.snapshot, effect.discardLog);
          sm.restore(effect.snapshot);
          this.checker.onApplied(id, sm.appliedIndex, sm.digest);
          this.stats.snapshotsInstalled++;
          this.trace.note(this.now, id, `installed snapshot ${effect.snapshot.index}/${effect.snapshot.term}${effect.discardLog ? ' (log discarded)' : ''}`);
          break;
        case 'leaderChanged':
          this.trace.note(this.now, id, `${effect.role} term=${effect.term} leader=${effect.leaderId}`);
          if (effect.role === 'leader') {
            this.stats.elections++;
            this.checker.onLeader(id, effect.term);
            this.checker.onBecameLeader(id, effect.term, (i) => node.log.termAt(i), node.log.snapshotIndex);
          }
          break;
      }
    }
    for (const message of out.messages) this.send(message);
  }

  private send(message: RaftMessage): void {
    this.stats.messages++;
    if (message.type === 'vote_response' && message.granted && !message.preVote) this.checker.onVoteGranted(message.from, message.term, message.to);
    const delays = this.network.route(message);
    if (delays.length === 0) this.trace.add({ at: this.now, kind: 'msg', message, fate: 'drop' });
    if (delays.length > 1) this.trace.add({ at: this.now, kind: 'msg', message, fate: 'dup' });
    for (const delay of delays) this.queue.push({ at: this.now + delay, kind: 'deliver', message });
  }

  private scheduleTick(host: Host, id: NodeId): void {
    const due = Math.max(host.node.nextDeadline(), this.now + 1);
    if (due === Infinity) return;
    if (host.tickAt > this.now && host.tickAt <= due) return; // an earlier tick is already queued
    host.tickAt = due;
    this.queue.push({ at: due, kind: 'tick', node: id, incarnation: host.incarnation });
  }
}
