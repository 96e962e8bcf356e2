/**
 * Loads a system's adapter by name. Imported lazily so a process only loads the client library it
 * uses (a Redis producer worker never loads amqplib or the Ferry SDK).
 */
import type { PeerSystem, SystemName } from './types.js';

export async function loadSystem(name: SystemName): Promise<PeerSystem> {
  switch (name) {
    case 'ferry':
      return (await import('./ferry.js')).ferry;
    case 'ferry-rf3':
      return (await import('./ferry.js')).ferryRf3;
    case 'redis':
      return (await import('./redis.js')).redis;
    case 'nats':
      return (await import('./nats.js')).nats;
    case 'rabbitmq':
      return (await import('./rabbitmq.js')).rabbitmq;
  }
}
