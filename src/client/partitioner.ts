/**
 * Partitioners: which partition a record without an explicit `partition` goes to.
 *
 *  - 'default': a key → Kafka's murmur2 (`toPositive(murmur2(key)) % n`); a null key → the topic's
 *    sticky partition (KIP-480): every null-key record goes to one partition until that partition's
 *    batch is closed (full or taken for sending), then a different partition is picked at random.
 *    Sticky keeps batches big under low per-record rates where round robin would send tiny ones.
 *  - 'murmur2': keys as 'default'; null keys round robin (Kafka's pre-2.4 behaviour).
 *  - 'roundrobin': every record round robin, keys ignored.
 *
 * Records that may go anywhere (null keys, round robin) avoid partitions without a leader when some
 * partition has one, as Kafka's partitioners use "available partitions": otherwise they would wait
 * out an election (or a whole deliveryTimeoutMs) while other partitions are served. Keyed records
 * always go to their key's partition, leader or not, so per-key order holds.
 *
 * Not thread-safe concerns in Node; state is per topic and only touched from the producer's
 * synchronous append path.
 */
import { partitionForKey } from './murmur2.js';
import type { PartitionerName } from './types.js';

/** Per partition, its leader's address (null = no leader now), as the metadata cache holds it. */
export type PartitionLeaders = readonly { readonly address: string | null }[];

export interface Partitioner {
  /** Picks a partition in [0, numPartitions); `leaders` (when given) marks partitions without a leader. */
  partition(topic: string, key: Buffer | string | null | undefined, numPartitions: number, leaders?: PartitionLeaders): number;
  /** The accumulator closed the open batch of (topic, partition): a sticky partitioner moves on. */
  onBatchClosed(topic: string, partition: number, numPartitions: number): void;
}

export type RandomInt = (exclusiveMax: number) => number;
const defaultRandomInt: RandomInt = (max) => Math.floor(Math.random() * max);

/** KIP-480 sticky choice for null keys, per topic. */
export class StickyPartitionCache {
  private readonly sticky = new Map<string, number>();
  constructor(private readonly randomInt: RandomInt = defaultRandomInt) {}

  partition(topic: string, numPartitions: number, leaders?: PartitionLeaders): number {
    const current = this.sticky.get(topic);
    if (current !== undefined && current < numPartitions && (leaders === undefined || hasLeader(leaders, current) || !anyLeader(leaders, numPartitions))) {
      return current;
    }
    return this.next(topic, numPartitions, current ?? -1, leaders);
  }

  /** Switches away from `closedPartition` if it is the topic's sticky one. */
  onBatchClosed(topic: string, closedPartition: number, numPartitions: number): void {
    if (this.sticky.get(topic) === closedPartition) this.next(topic, numPartitions, closedPartition);
  }

  private next(topic: string, numPartitions: number, previous: number, leaders?: PartitionLeaders): number {
    let p: number;
    const led = leaders ? ledPartitions(leaders, numPartitions, previous) : null;
    if (led !== null && led.length > 0) p = led[this.randomInt(led.length)]!;
    else if (numPartitions <= 1) p = 0;
    else if (previous < 0 || previous >= numPartitions) p = this.randomInt(numPartitions);
    else {
      // A different partition, uniformly among the other n-1.
      p = this.randomInt(numPartitions - 1);
      if (p >= previous) p++;
    }
    this.sticky.set(topic, p);
    return p;
  }
}

function hasLeader(leaders: PartitionLeaders, p: number): boolean {
  return (leaders[p]?.address ?? null) !== null;
}

function anyLeader(leaders: PartitionLeaders, numPartitions: number): boolean {
  for (let p = 0; p < numPartitions; p++) if (hasLeader(leaders, p)) return true;
  return false;
}

/**
 * Partitions with a leader other than `previous`, or null when every partition has one (then the
 * plain uniform choice applies, so nothing changes while the cluster is healthy).
 */
function ledPartitions(leaders: PartitionLeaders, numPartitions: number, previous: number): number[] | null {
  const led: number[] = [];
  for (let p = 0; p < numPartitions; p++) if (hasLeader(leaders, p)) led.push(p);
  if (led.length === numPartitions) return null;
  const others = led.filter((p) => p !== previous);
  return others.length > 0 ? others : led;
}

class RoundRobin {
  private readonly counters = new Map<string, number>();
  next(topic: string, numPartitions: number, leaders?: PartitionLeaders): number {
    // At most one lap looking for a partition with a leader; none has one: take the next anyway.
    for (let tries = 0; ; tries++) {
      const c = this.counters.get(topic) ?? 0;
      this.counters.set(topic, (c + 1) | 0);
      const p = (c & 0x7fffffff) % numPartitions;
      if (leaders === undefined || tries >= numPartitions - 1 || hasLeader(leaders, p)) return p;
    }
  }
}

export class DefaultPartitioner implements Partitioner {
  private readonly cache: StickyPartitionCache;
  constructor(randomInt?: RandomInt) {
    this.cache = new StickyPartitionCache(randomInt);
  }
  partition(topic: string, key: Buffer | string | null | undefined, numPartitions: number, leaders?: PartitionLeaders): number {
    if (key === null || key === undefined) return this.cache.partition(topic, numPartitions, leaders);
    return partitionForKey(key, numPartitions);
  }
  onBatchClosed(topic: string, partition: number, numPartitions: number): void {
    this.cache.onBatchClosed(topic, partition, numPartitions);
  }
}

export class Murmur2Partitioner implements Partitioner {
  private readonly rr = new RoundRobin();
  partition(topic: string, key: Buffer | string | null | undefined, numPartitions: number, leaders?: PartitionLeaders): number {
    if (key === null || key === undefined) return this.rr.next(topic, numPartitions, leaders);
    return partitionForKey(key, numPartitions);
  }
  onBatchClosed(): void {}
}

export class RoundRobinPartitioner implements Partitioner {
  private readonly rr = new RoundRobin();
  partition(topic: string, _key: Buffer | string | null | undefined, numPartitions: number, leaders?: PartitionLeaders): number {
    return this.rr.next(topic, numPartitions, leaders);
  }
  onBatchClosed(): void {}
}

export function createPartitioner(name: PartitionerName, randomInt?: RandomInt): Partitioner {
  switch (name) {
    case 'default':
      return new DefaultPartitioner(randomInt);
    case 'murmur2':
      return new Murmur2Partitioner();
    case 'roundrobin':
      return new RoundRobinPartitioner();
  }
}
