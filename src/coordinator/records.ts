/**
 * The records the group coordinator writes to the compacted internal topic `__consumer_offsets`.
 * Coordinator state is exactly the result of replaying them in log order (recovery = replay).
 *
 * Each record is a RecordBatch v2 record with a UTF-8 key and a JSON value (UTF-8); a null value is a
 * tombstone, which compaction eventually removes together with every older record of the key.
 *
 *   key                                   value
 *   group:<group>                         GroupValue         group epoch + the topic metadata it was computed from
 *   target-meta:<group>                   TargetMetaValue    epoch of the target assignment
 *   target:<group>:<member>               TargetValue        one member's target assignment
 *   member:<group>:<member>               MemberValue        one member's subscription and settings
 *   current:<group>:<member>              CurrentValue       one member's epoch, state, owned + revoking partitions
 *   offset:<group>:<topic>:<partition>    OffsetValue        a committed offset
 *
 * Group and member ids are escaped ('%' → %25, ':' → %3A) so the key splits unambiguously on ':';
 * topic names cannot contain ':'. Values carry `v` (format version, now 1); a reader meeting a
 * higher version fails with CORRUPT_MESSAGE rather than guessing.
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';
import type { AssignmentJson } from './topic-partitions.js';

export const RECORD_FORMAT_VERSION = 1;

export interface GroupValue {
  /** Bumped on every membership, subscription or subscribed-topic change. */
  epoch: number;
  /** Partition counts of the subscribed topics at this epoch (detects topic changes after a reload). */
  topics: Record<string, number>;
  /** When the group last became empty, ms since epoch (offset expiry counts from here); 0 if never. */
  emptySinceMs: number;
}

export interface TargetMetaValue {
  assignmentEpoch: number;
}

export interface TargetValue {
  partitions: AssignmentJson;
}

export interface MemberValue {
  instanceId: string;
  rackId: string;
  clientId: string;
  clientHost: string;
  topicNames: string[];
  topicRegex: string;
  assignor: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
}

/** stable: owns its target; unrevoked: must drop `pending` first; unreleased: waits for partitions others still hold. */
export type MemberState = 'stable' | 'unrevoked' | 'unreleased';

export interface CurrentValue {
  /** -2: a static member that left temporarily. */
  epoch: number;
  previousEpoch: number;
  state: MemberState;
  assigned: AssignmentJson;
  pending: AssignmentJson;
}

export interface OffsetValue {
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitMs: number;
}

export type CoordinatorRecord =
  | { kind: 'group'; group: string; value: GroupValue | null }
  | { kind: 'target-meta'; group: string; value: TargetMetaValue | null }
  | { kind: 'target'; group: string; member: string; value: TargetValue | null }
  | { kind: 'member'; group: string; member: string; value: MemberValue | null }
  | { kind: 'current'; group: string; member: string; value: CurrentValue | null }
  | { kind: 'offset'; group: string; topic: string; partition: number; value: OffsetValue | null };

export interface EncodedRecord {
  key: Buffer;
  value: Buffer | null;
}

function escapeId(id: string): string {
  return id.replace(/%/g, '%25').replace(/:/g, '%3A');
}

function unescapeId(s: string): string {
  return s.replace(/%3A/g, ':').replace(/%25/g, '%');
}

export function recordKey(r: CoordinatorRecord): string {
  const g = escapeId(r.group);
  switch (r.kind) {
    case 'group':
    case 'target-meta':
      return `${r.kind}:${g}`;
    case 'target':
    case 'member':
    case 'current':
      return `${r.kind}:${g}:${escapeId(r.member)}`;
    case 'offset':
      return `offset:${g}:${r.topic}:${r.partition}`;
  }
}

export function encodeRecord(r: CoordinatorRecord): EncodedRecord {
  const key = Buffer.from(recordKey(r), 'utf8');
  const value = r.value === null ? null : Buffer.from(JSON.stringify({ v: RECORD_FORMAT_VERSION, ...r.value }), 'utf8');
  return { key, value };
}

function corrupt(why: string): never {
  throw new FerryError(ErrorCode.CORRUPT_MESSAGE, `__consumer_offsets record: ${why}`);
}

function parseValue<T>(value: Buffer | null): T | null {
  if (value === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return corrupt(`value is not JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null) return corrupt('value is not an object');
  const { v, ...rest } = parsed as { v?: unknown };
  if (v !== RECORD_FORMAT_VERSION) return corrupt(`unsupported value version ${String(v)}`);
  return rest as T;
}

/** The typed record for a stored key/value; throws FerryError(CORRUPT_MESSAGE) on anything malformed. */
export function decodeRecord(key: Buffer | null, value: Buffer | null): CoordinatorRecord {
  if (key === null) return corrupt('null key');
  const parts = key.toString('utf8').split(':');
  const kind = parts[0];
  const group = unescapeId(parts[1] ?? '');
  switch (kind) {
    case 'group':
    case 'target-meta':
      if (parts.length !== 2) break;
      return kind === 'group'
        ? { kind, group, value: parseValue<GroupValue>(value) }
        : { kind, group, value: parseValue<TargetMetaValue>(value) };
    case 'target':
    case 'member':
    case 'current': {
      if (parts.length !== 3) break;
      const member = unescapeId(parts[2]!);
      if (kind === 'target') return { kind, group, member, value: parseValue<TargetValue>(value) };
      if (kind === 'member') return { kind, group, member, value: parseValue<MemberValue>(value) };
      return { kind, group, member, value: parseValue<CurrentValue>(value) };
    }
    case 'offset': {
      const partition = Number(parts[3]);
      if (parts.length !== 4 || !Number.isInteger(partition) || partition < 0) break;
      return { kind, group, topic: parts[2]!, partition, value: parseValue<OffsetValue>(value) };
    }
  }
  return corrupt(`unrecognised key ${JSON.stringify(key.toString('utf8'))}`);
}
