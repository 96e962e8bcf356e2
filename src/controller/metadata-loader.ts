/**
 * How a node builds its MetadataImage from the Raft metadata log (KRaft's MetadataLoader and
 * snapshot generator): committed entries through `applyEntries`, snapshots through
 * `snapshotOf` / `imageFromSnapshot`.
 *
 * Snapshot = the image restated as records (FeatureLevel, RegisterBroker, Topic + Config +
 * Partition per topic), in a canonical order (ids and names sorted), plus the offset it is valid at:
 * `{"v":1,"offset":N,"r":[...]}`. Loading replays them onto the empty image — the same code path as
 * the log, so "snapshot + tail" and "whole log" cannot disagree. Canonical order also makes equal
 * images encode to equal bytes (tests compare images that way).
 */
import { strict as assert } from 'node:assert';
import type { LogEntry, Snapshot, Term } from '../replication/raft/index.js';
import { MetadataDelta } from './metadata-delta.js';
import { MetadataImage } from './metadata-image.js';
import { decodeBatch, RECORD_ENCODING_VERSION, type MetadataRecord } from './metadata-records.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Committed Raft entries (an `apply` effect), in index order, onto `image`; no-ops only move the offset. */
export function applyEntries(image: MetadataImage, entries: readonly LogEntry[]): MetadataImage {
  if (entries.length === 0) return image;
  const delta = new MetadataDelta(image);
  for (const entry of entries) {
    assert.ok(entry.index > delta.offset, `entry ${entry.index} applied after ${delta.offset}`);
    delta.advanceTo(entry.index);
    if (entry.kind === 'command') for (const r of decodeBatch(entry.data)) delta.replay(r);
  }
  return delta.apply();
}

/** The image restated as records, canonical order. */
export function imageToRecords(image: MetadataImage): MetadataRecord[] {
  const out: MetadataRecord[] = [];
  for (const [name, level] of [...image.features].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out.push({ type: 'FeatureLevel', name, level });
  }
  for (const b of image.brokerList()) out.push({ type: 'RegisterBroker', ...b });
  for (const t of image.topicList()) {
    out.push({ type: 'Topic', name: t.name, topicId: t.id, createdAtMs: t.createdAtMs });
    const configs = image.topicConfigs(t.name);
    for (const key of [...configs.keys()].sort()) {
      out.push({ type: 'Config', resourceType: 'topic', resourceName: t.name, name: key, value: configs.get(key)! });
    }
    t.partitions.forEach((p, partition) => {
      out.push({
        type: 'Partition', topicId: t.id, partition,
        replicas: [...p.replicas], isr: [...p.isr], elr: [...p.elr], leader: p.leader, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch,
      });
    });
  }
  return out;
}

interface EncodedSnapshot {
  v: number;
  offset: number;
  r: MetadataRecord[];
}

export function encodeImage(image: MetadataImage): Uint8Array {
  return encoder.encode(JSON.stringify({ v: RECORD_ENCODING_VERSION, offset: image.offset, r: imageToRecords(image) } satisfies EncodedSnapshot));
}

export function decodeImage(data: Uint8Array): MetadataImage {
  const parsed = JSON.parse(decoder.decode(data)) as EncodedSnapshot;
  assert.ok(parsed.v === RECORD_ENCODING_VERSION, `metadata snapshot: encoding version ${parsed.v} is not supported`);
  if (parsed.offset === 0) return MetadataImage.EMPTY;
  const delta = new MetadataDelta(MetadataImage.EMPTY);
  delta.advanceTo(parsed.offset);
  for (const r of parsed.r) delta.replay(r);
  return delta.apply();
}

/** The Raft snapshot for a `takeSnapshot {index, term}` effect (the image must be at exactly `index`). */
export function snapshotOf(image: MetadataImage, term: Term): Snapshot {
  return { index: image.offset, term, data: encodeImage(image) };
}

/** The image an `installSnapshot` effect (or a recovered snapshot) stands for. */
export function imageFromSnapshot(snapshot: Snapshot): MetadataImage {
  const image = decodeImage(snapshot.data);
  assert.equal(image.offset, snapshot.index, 'metadata snapshot header and body disagree');
  return image;
}
