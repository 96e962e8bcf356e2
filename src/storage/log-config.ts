/**
 * LogConfig: every topic-level setting a PartitionLog obeys (the storage view of src/config's topic
 * configs; `toLogConfig` there produces one). Units are in the names' docs: bytes or milliseconds.
 * `validateLogConfig` rejects values the on-disk format cannot represent (int32 positions in the
 * offset index cap a segment at 2 GiB - 1).
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** Offset-index positions are int32, so no segment may grow past this. */
export const SEGMENT_BYTES_MAX = 2 ** 31 - 1;
/** The smallest index that still holds a useful number of entries. */
export const SEGMENT_INDEX_BYTES_MIN = 4096;

export type FlushMode = 'always' | 'interval' | 'os';
export type TimestampTypeName = 'CreateTime' | 'LogAppendTime';
/** 'compact,delete' = both: the cleaner keeps the newest record per key and retention still deletes old segments. */
export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';
export const CLEANUP_POLICIES: readonly CleanupPolicy[] = ['delete', 'compact', 'compact,delete'];

export interface LogConfig {
  /** segment.bytes: roll to a new segment before the active one would exceed this. */
  segmentBytes: number;
  /** segment.ms: roll when the active segment's first append is older than this. */
  segmentMs: number;
  /** retention.ms: delete segments whose newest timestamp is older than this; -1 = forever. */
  retentionMs: number;
  /** retention.bytes: per partition, delete oldest segments while larger; -1 = no limit. */
  retentionBytes: number;
  /** index.interval.bytes: bytes of log between two sparse index entries. */
  indexIntervalBytes: number;
  /** segment.index.bytes: max size of one index file; a full index rolls the segment. */
  segmentIndexBytes: number;
  /** max.message.bytes: the largest batch accepted. */
  maxMessageBytes: number;
  /** flush.mode: always = group-commit fsync before ack; interval = timer; os = never (roll/close only). */
  flushMode: FlushMode;
  /** flush.interval.ms: fsync period for flush.mode=interval. */
  flushIntervalMs: number;
  /** message.timestamp.type */
  messageTimestampType: TimestampTypeName;
  /** cleanup.policy: retention deletes segments for 'delete' and 'compact,delete'; the cleaner compacts 'compact' and 'compact,delete'. */
  cleanupPolicy: CleanupPolicy;
  /** min.cleanable.dirty.ratio: clean once (bytes after the cleaner checkpoint) / (cleanable bytes) reaches this, in [0, 1]. */
  minCleanableDirtyRatio: number;
  /** min.compaction.lag.ms: a segment whose newest record is younger than this is not cleaned. */
  minCompactionLagMs: number;
  /** delete.retention.ms: tombstones in a segment whose newest record is older than this are removed by cleaning. */
  deleteRetentionMs: number;
  /** file.delete.delay.ms: how long a deleted segment lingers as `.deleted` before unlink. */
  fileDeleteDelayMs: number;
}

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: GIB,
  segmentMs: 7 * DAY_MS,
  retentionMs: 7 * DAY_MS,
  retentionBytes: -1,
  indexIntervalBytes: 4096,
  segmentIndexBytes: 10 * MIB,
  maxMessageBytes: MIB,
  flushMode: 'always',
  flushIntervalMs: 1000,
  messageTimestampType: 'CreateTime',
  cleanupPolicy: 'delete',
  fileDeleteDelayMs: 60_000,
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
  deleteRetentionMs: DAY_MS,
});

/** True when the log cleaner compacts this log. */
export function isCompacted(c: Pick<LogConfig, 'cleanupPolicy'>): boolean {
  return c.cleanupPolicy === 'compact' || c.cleanupPolicy === 'compact,delete';
}

/** True when time/size retention deletes old segments of this log. */
export function isRetentionDeleted(c: Pick<LogConfig, 'cleanupPolicy'>): boolean {
  return c.cleanupPolicy === 'delete' || c.cleanupPolicy === 'compact,delete';
}

/** Throws FerryError(INVALID_CONFIG) naming the first bad setting. */
export function validateLogConfig(c: LogConfig): void {
  const fail = (name: string, why: string): never => {
    throw new FerryError(ErrorCode.INVALID_CONFIG, `log config ${name}: ${why}`);
  };
  const int = (name: keyof LogConfig, min: number, max = Number.MAX_SAFE_INTEGER): void => {
    const v = c[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(name, `${String(v)} is not an integer in [${min}, ${max}]`);
  };
  int('segmentBytes', 1, SEGMENT_BYTES_MAX);
  int('segmentMs', 1);
  int('retentionMs', -1);
  int('retentionBytes', -1);
  int('indexIntervalBytes', 0);
  int('segmentIndexBytes', SEGMENT_INDEX_BYTES_MIN, SEGMENT_BYTES_MAX);
  int('maxMessageBytes', 0, SEGMENT_BYTES_MAX);
  int('flushIntervalMs', 1);
  int('fileDeleteDelayMs', 0);
  int('minCompactionLagMs', 0);
  int('deleteRetentionMs', 0);
  const ratio = c.minCleanableDirtyRatio;
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) fail('minCleanableDirtyRatio', `${String(ratio)} is not a number in [0, 1]`);
  if (!['always', 'interval', 'os'].includes(c.flushMode)) fail('flushMode', `unknown mode ${String(c.flushMode)}`);
  if (!['CreateTime', 'LogAppendTime'].includes(c.messageTimestampType)) fail('messageTimestampType', `unknown type ${String(c.messageTimestampType)}`);
  if (!CLEANUP_POLICIES.includes(c.cleanupPolicy)) fail('cleanupPolicy', `unknown policy ${String(c.cleanupPolicy)}`);
}
