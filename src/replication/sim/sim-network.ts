// The simulated network (compare TigerBeetle's packet simulator): every message independently may be
// dropped, duplicated, and delayed by a random amount (so messages reorder); links can be cut one
// way or both ways to build partitions (majority/minority splits, an isolated node, asymmetric
// links). A cut link loses both the messages sent over it and those in flight when they arrive.

import type { NodeId, RaftMessage } from '../raft/index.js';
import type { SeededRandom } from '../raft/index.js';

export interface NetworkWeather {
  dropProbability: number;
  duplicateProbability: number;
  delayMinMs: number;
  delayMaxMs: number;
}

export class SimNetwork {
  private readonly cuts = new Set<string>();

  constructor(
    private readonly random: SeededRandom,
    public weather: NetworkWeather,
  ) {}

  cut(from: NodeId, to: NodeId): void {
    this.cuts.add(`${from}>${to}`);
  }

  /** Split the voters into two sides that cannot talk to each other. */
  partition(sideA: readonly NodeId[], sideB: readonly NodeId[]): void {
    for (const a of sideA) for (const b of sideB) { this.cut(a, b); this.cut(b, a); }
  }

  healAll(): void {
    this.cuts.clear();
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cuts.size > 0 && this.cuts.has(`${from}>${to}`);
  }

  describeCuts(): string {
    return this.cuts.size === 0 ? 'none' : [...this.cuts].sort().join(' ');
  }

  /** Delivery delays for a message: [] when lost, two entries when duplicated. */
  route(message: RaftMessage): number[] {
    if (this.isCut(message.from, message.to)) return [];
    const w = this.weather;
    if (this.random.chance(w.dropProbability)) return [];
    const copies = this.random.chance(w.duplicateProbability) ? 2 : 1;
    const delays: number[] = [];
    for (let i = 0; i < copies; i++) delays.push(w.delayMinMs + this.random.nextInt(w.delayMaxMs - w.delayMinMs + 1));
    return delays;
  }
}
