// Simulated network between the controller (node 0), brokers (1..N) and clients (CLIENT): seeded
// drops, one-way delays with jitter (so messages reorder), occasional long stalls, and cut links
// (one-way or both ways). A message on a link that is cut when it would arrive is lost too.

import type { EventQueue } from './event-queue.js';
import type { SimRandom } from './random.js';

export const CONTROLLER = 0;
export const CLIENT = 99;
/** Chance and size of a delay spike (a stalled connection), which reorders messages. */
const STALL_CHANCE = 0.01;
const STALL_MAX_MS = 80;

export class SimNetwork {
  dropRate: number;
  private cut = new Set<number>();
  private slow = new Map<number, number>();

  constructor(
    private readonly queue: EventQueue,
    private readonly rng: SimRandom,
    dropRate: number,
    private readonly minDelayMs: number,
    private readonly maxDelayMs: number,
  ) {
    this.dropRate = dropRate;
  }

  private key(from: number, to: number): number {
    return from * 1000 + to;
  }

  isCut(from: number, to: number): boolean {
    return this.cut.has(this.key(from, to));
  }

  cutLink(from: number, to: number): void {
    this.cut.add(this.key(from, to));
  }

  /** Cuts every link between `node` and `others`, both ways. */
  isolate(node: number, others: readonly number[]): void {
    for (const o of others) {
      if (o === node) continue;
      this.cutLink(node, o);
      this.cutLink(o, node);
    }
  }

  /** Every message from or to `node` takes `extraMs` longer (a slow disk or NIC). */
  setSlow(node: number, extraMs: number): void {
    if (extraMs <= 0) this.slow.delete(node);
    else this.slow.set(node, extraMs);
  }

  healAll(): void {
    this.cut.clear();
    this.slow.clear();
  }

  send(from: number, to: number, deliver: () => void): void {
    if (this.isCut(from, to) || (this.dropRate > 0 && this.rng.chance(this.dropRate))) return;
    let delay = this.rng.between(this.minDelayMs, this.maxDelayMs) + (this.slow.get(from) ?? 0) + (this.slow.get(to) ?? 0);
    if (this.rng.chance(STALL_CHANCE)) delay += this.rng.int(STALL_MAX_MS);
    this.queue.after(delay, () => {
      if (!this.isCut(from, to)) deliver();
    });
  }
}
