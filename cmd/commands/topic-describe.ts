/**
 * The text `ferry topic describe` prints: a header line, one table row per partition (leader, leader
 * epoch, replicas, ISR, then the offsets its leader reports), a note naming partitions that need
 * attention (no leader, ISR smaller than the replica set), and the topic's configs.
 *
 * Unknown values print as `-` (an offset of -1: no broker could report it); a partition without a
 * leader prints `none`. Kept apart from the command so the layout can be tested without a broker.
 */
import type { TopicDescription } from '../../src/client/index.js';
import { formatTable } from './table.js';

const PARTITION_COLUMNS = ['PARTITION', 'LEADER', 'LEADER-EPOCH', 'REPLICAS', 'ISR', 'LOG-START', 'HIGH-WATERMARK', 'LOG-END', 'SIZE-BYTES'];

function offset(n: number): number | string {
  return n < 0 ? '-' : n;
}

export function formatTopicDescription(d: TopicDescription): string {
  const partitions = [...d.partitions].sort((a, b) => a.partition - b.partition);
  const replicationFactor = Math.max(0, ...partitions.map((p) => p.replicas.length));
  const header =
    `Topic: ${d.name}  Partitions: ${partitions.length}  ReplicationFactor: ${replicationFactor}` +
    (d.topicId ? `  TopicId: ${d.topicId}` : '') +
    (d.isInternal ? '  Internal: true' : '');
  const rows = partitions.map((p) => [
    p.partition,
    p.leaderId < 0 ? 'none' : p.leaderId,
    offset(p.leaderEpoch),
    p.replicas,
    p.isr,
    offset(p.logStartOffset),
    offset(p.highWatermark),
    offset(p.logEndOffset),
    p.logEndOffset < 0 ? '-' : p.sizeBytes,
  ]);
  const leaderless = partitions.filter((p) => p.leaderId < 0).map((p) => p.partition);
  const underReplicated = partitions.filter((p) => p.leaderId >= 0 && p.isr.length < p.replicas.length).map((p) => p.partition);
  const notes: string[] = [];
  if (leaderless.length > 0) notes.push(`Offline (no leader): partition ${leaderless.join(', ')}`);
  if (underReplicated.length > 0) notes.push(`Under-replicated (ISR smaller than replicas): partition ${underReplicated.join(', ')}`);
  const configs = [...d.configs].sort((a, b) => a.name.localeCompare(b.name)).map((c) => [c.name, c.value, c.source]);
  return [header, '', formatTable(PARTITION_COLUMNS, rows), ...(notes.length > 0 ? ['', ...notes] : []), '', formatTable(['CONFIG', 'VALUE', 'SOURCE'], configs)].join('\n');
}
