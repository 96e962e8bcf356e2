/**
 * Topic-level settings. Each can be set per topic (create / alter) and at broker level, where it is
 * the default for topics that do not override it. `toLogConfig` turns the effective values into the
 * storage layer's LogConfig.
 */
import type { LogConfig } from '../storage/log-config.js';
import type { ConfigDef, ConfigValue } from './config-def.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const MIB = 1024 * 1024;

export const TOPIC_CONFIGS: readonly ConfigDef[] = [
  { name: 'cleanup.policy', type: 'enum', values: ['delete', 'compact', 'compact,delete', 'delete,compact'], default: 'delete', doc: 'delete old segments by retention, keep the newest record per key (compact), or both', aliases: ['log.cleanup.policy'] },
  { name: 'retention.ms', type: 'long', default: 7 * DAY_MS, min: -1, doc: 'delete segments whose newest record is older than this; -1 = keep forever', aliases: ['log.retention.ms'] },
  { name: 'retention.bytes', type: 'long', default: -1, min: -1, doc: 'per partition: delete oldest segments while the log is larger; -1 = no limit', aliases: ['log.retention.bytes'] },
  { name: 'segment.bytes', type: 'int', default: 1024 * MIB, min: 14, doc: 'roll to a new segment file at this size', aliases: ['log.segment.bytes'] },
  { name: 'segment.ms', type: 'long', default: 7 * DAY_MS, min: 1, doc: 'roll to a new segment after this long even if not full', aliases: ['log.roll.ms'] },
  { name: 'segment.index.bytes', type: 'int', default: 10 * MIB, min: 4096, doc: 'maximum size of a segment offset index; a full index rolls the segment', aliases: ['log.index.size.max.bytes'] },
  { name: 'index.interval.bytes', type: 'int', default: 4096, min: 0, doc: 'bytes of log between two sparse offset-index entries', aliases: ['log.index.interval.bytes'] },
  { name: 'max.message.bytes', type: 'int', default: MIB, min: 0, doc: 'largest record batch accepted', aliases: ['message.max.bytes'] },
  { name: 'flush.mode', type: 'enum', values: ['always', 'interval', 'os'], default: 'always', doc: 'always: fsync before acknowledging (group commit); interval: every flush.interval.ms; os: leave it to the OS', aliases: ['log.flush.mode'] },
  { name: 'flush.interval.ms', type: 'long', default: 1000, min: 1, doc: 'fsync period for flush.mode=interval', aliases: ['log.flush.interval.ms'] },
  { name: 'message.timestamp.type', type: 'enum', values: ['CreateTime', 'LogAppendTime'], default: 'CreateTime', doc: "record timestamps: the producer's, or the broker's append time", aliases: ['log.message.timestamp.type'] },
  { name: 'file.delete.delay.ms', type: 'long', default: 60_000, min: 0, doc: 'how long a deleted segment file lingers (renamed .deleted) before unlink', aliases: ['log.segment.delete.delay.ms'] },
  // A ratio: config-def has no floating-point type yet, so it is a string parsed (and range-checked) by toLogConfig.
  { name: 'min.cleanable.dirty.ratio', type: 'double', default: 0.5, min: 0, max: 1, doc: 'compacted topics: clean once the uncleaned share of the cleanable log reaches this (0..1)', aliases: ['log.cleaner.min.cleanable.ratio'] },
  { name: 'min.compaction.lag.ms', type: 'long', default: 0, min: 0, doc: 'compacted topics: a record stays uncompacted for at least this long', aliases: ['log.cleaner.min.compaction.lag.ms'] },
  { name: 'delete.retention.ms', type: 'long', default: 24 * 60 * 60 * 1000, min: 0, doc: 'compacted topics: how long tombstones (null values) are kept once their segment is this old', aliases: ['log.cleaner.delete.retention.ms'] },
  { name: 'min.insync.replicas', type: 'int', default: 1, min: 1, doc: 'acks=all needs at least this many in-sync replicas (replicated clusters)' },
  { name: 'unclean.leader.election.enable', type: 'boolean', default: false, doc: 'allow an out-of-sync replica to become leader (may lose data)' },
];

export const TOPIC_CONFIG_BY_NAME: ReadonlyMap<string, ConfigDef> = new Map(TOPIC_CONFIGS.map((d) => [d.name, d]));

/** The storage layer's view of a topic's settings (one shape, declared in src/storage). */
export type LogConfigValues = LogConfig;

/** Effective topic values (every TOPIC_CONFIGS name present) → the storage layer's LogConfig. */
export function toLogConfig(values: ReadonlyMap<string, ConfigValue>): LogConfigValues {
  const get = (name: string): ConfigValue => {
    const v = values.get(name);
    if (v === undefined) throw new Error(`topic config ${name} missing`);
    return v;
  };
  return {
    segmentBytes: get('segment.bytes') as number,
    segmentMs: get('segment.ms') as number,
    retentionMs: get('retention.ms') as number,
    retentionBytes: get('retention.bytes') as number,
    indexIntervalBytes: get('index.interval.bytes') as number,
    segmentIndexBytes: get('segment.index.bytes') as number,
    maxMessageBytes: get('max.message.bytes') as number,
    flushMode: get('flush.mode') as LogConfigValues['flushMode'],
    flushIntervalMs: get('flush.interval.ms') as number,
    messageTimestampType: get('message.timestamp.type') as LogConfigValues['messageTimestampType'],
    cleanupPolicy: get('cleanup.policy') === 'delete,compact' ? 'compact,delete' : (get('cleanup.policy') as LogConfigValues['cleanupPolicy']),
    fileDeleteDelayMs: get('file.delete.delay.ms') as number,
    minCleanableDirtyRatio: get('min.cleanable.dirty.ratio') as number,
    minCompactionLagMs: get('min.compaction.lag.ms') as number,
    deleteRetentionMs: get('delete.retention.ms') as number,
  };
}
