/**
 * Replica placement for new topics: Kafka's rack-unaware assignment (AdminUtils /
 * StripedReplicaPlacer without racks). Racks are not modelled yet: every broker is one failure
 * domain, so spreading a partition's replicas over distinct brokers is all placement can do.
 *
 * Partition p's first (preferred-leader) replica is broker (start + p) mod n, so preferred leaders
 * rotate over the brokers and stay balanced; the other replicas follow at a shift that changes every
 * n partitions, so followers of one broker's partitions spread over the others instead of always
 * landing on its neighbour. `start` and `shift` come from the caller's (injected) randomness, so
 * topics created one after another do not all put partition 0 on the same broker.
 */
import { strict as assert } from 'node:assert';
import { ErrorCode, FerryError } from '../../protocol/errors.js';
import type { BrokerId } from './types.js';

export interface PlacementInput {
  brokers: readonly BrokerId[];
  partitions: number;
  replicationFactor: number;
  /** 0 ≤ start < brokers.length */
  start: number;
  /** 0 ≤ shift < brokers.length */
  shift: number;
}

/** replicas[p] for p in 0..partitions-1; replicas[p][0] is the preferred leader. */
export function placeReplicas(input: PlacementInput): BrokerId[][] {
  const brokers = [...input.brokers].sort((a, b) => a - b);
  const n = brokers.length;
  if (input.replicationFactor < 1 || input.replicationFactor > n) {
    throw new FerryError(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor ${input.replicationFactor} needs between 1 and ${n} live brokers`);
  }
  if (input.partitions < 1) throw new FerryError(ErrorCode.INVALID_PARTITIONS, `partition count ${input.partitions} must be ≥ 1`);
  assert.ok(input.start >= 0 && input.start < n && input.shift >= 0 && input.shift < n, 'start and shift index the broker list');
  const out: BrokerId[][] = [];
  let shift = input.shift;
  for (let p = 0; p < input.partitions; p++) {
    if (p > 0 && p % n === 0) shift++;
    const first = (p + input.start) % n;
    const replicas = [brokers[first]!];
    for (let j = 0; j < input.replicationFactor - 1; j++) {
      replicas.push(brokers[(first + 1 + ((shift + j) % (n - 1))) % n]!);
    }
    out.push(replicas);
  }
  return out;
}
