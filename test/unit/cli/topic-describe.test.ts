import { describe, expect, it } from 'vitest';
import { formatTopicDescription } from '../../../cmd/commands/topic-describe.js';
import type { PartitionDescription, TopicDescription } from '../../../src/client/index.js';

function partition(p: Partial<PartitionDescription> & { partition: number }): PartitionDescription {
  return { leaderId: 1, leaderEpoch: 0, replicas: [1, 2, 3], isr: [1, 2, 3], logStartOffset: 0, highWatermark: 10, logEndOffset: 10, sizeBytes: 700, ...p };
}

const topic: TopicDescription = {
  name: 'orders',
  topicId: 'abc',
  isInternal: false,
  partitions: [
    partition({ partition: 2, leaderId: -1, leaderEpoch: 4, isr: [], logStartOffset: -1, highWatermark: -1, logEndOffset: -1, sizeBytes: 0 }),
    partition({ partition: 0, leaderId: 2, leaderEpoch: 3, replicas: [2, 3, 1], isr: [2, 3, 1] }),
    partition({ partition: 1, leaderId: 3, leaderEpoch: 1, replicas: [3, 1, 2], isr: [3] }),
  ],
  configs: [
    { name: 'retention.ms', value: '60000', source: 'TOPIC' },
    { name: 'cleanup.policy', value: 'delete', source: 'DEFAULT' },
  ],
};

describe('ferry topic describe output', () => {
  it('prints a header, one row per partition in order, notes and configs', () => {
    const lines = formatTopicDescription(topic).split('\n');
    expect(lines[0]).toBe('Topic: orders  Partitions: 3  ReplicationFactor: 3  TopicId: abc');
    expect(lines[2]!.split(/\s+/)).toEqual(['PARTITION', 'LEADER', 'LEADER-EPOCH', 'REPLICAS', 'ISR', 'LOG-START', 'HIGH-WATERMARK', 'LOG-END', 'SIZE-BYTES']);
    expect(lines[3]!.split(/\s+/)).toEqual(['0', '2', '3', '2,3,1', '2,3,1', '0', '10', '10', '700']);
    expect(lines[4]!.split(/\s+/)).toEqual(['1', '3', '1', '3,1,2', '3', '0', '10', '10', '700']);
    expect(lines[5]!.split(/\s+/)).toEqual(['2', 'none', '4', '1,2,3', '-', '-', '-', '-', '-']);
    expect(lines).toContain('Offline (no leader): partition 2');
    expect(lines).toContain('Under-replicated (ISR smaller than replicas): partition 1');
    expect(lines.at(-3)!.split(/\s+/)).toEqual(['CONFIG', 'VALUE', 'SOURCE']);
    expect(lines.at(-2)).toMatch(/^cleanup\.policy\s+delete\s+DEFAULT$/);
    expect(lines.at(-1)).toMatch(/^retention\.ms\s+60000\s+TOPIC$/);
  });

  it('aligns columns', () => {
    const rows = formatTopicDescription(topic).split('\n').slice(2, 6);
    const isrColumn = rows.map((r) => r.indexOf(r.split(/\s+/)[4]!, rows[0]!.indexOf('ISR')));
    expect(new Set(isrColumn).size).toBe(1);
  });

  it('leaves the notes out when every partition is led and fully in sync', () => {
    const healthy = { ...topic, partitions: [partition({ partition: 0 })] };
    const text = formatTopicDescription(healthy);
    expect(text).not.toMatch(/Offline|Under-replicated/);
    expect(text.split('\n')[0]).toBe('Topic: orders  Partitions: 1  ReplicationFactor: 3  TopicId: abc');
  });
});
