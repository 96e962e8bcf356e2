/**
 * Which __consumer_offsets partition holds a group: `abs(javaHashCode(groupId)) % partitionCount`,
 * exactly Kafka's `Utils.abs(groupId.hashCode()) % groupMetadataTopicPartitionCount`, so a group maps
 * to the partition a Kafka cluster with the same partition count would use.
 *
 * javaHashCode is Java's String.hashCode: h = 31·h + c over the UTF-16 code units, in 32-bit
 * two's-complement arithmetic. Kafka's Utils.abs is `n & 0x7fffffff` (not Math.abs: it maps
 * Integer.MIN_VALUE to 0 instead of overflowing).
 *
 * The partition count is fixed once the topic exists: changing it would move groups away from
 * their records. The broker therefore uses the existing topic's count, not the config, after creation.
 */
export const CONSUMER_OFFSETS_TOPIC = '__consumer_offsets';

export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

export function groupPartition(groupId: string, partitionCount: number): number {
  return (javaStringHashCode(groupId) & 0x7fffffff) % partitionCount;
}
