/**
 * The order pipeline's shared definitions: the topic, the three consumer groups and what each
 * does with an order event.
 *
 * `order-events` is keyed by `user_id`, so one user's events land on one partition and each group
 * sees them in order. Every group receives every event (fan-out: one consumer group per service);
 * inside a group each partition belongs to exactly one member at a time.
 */
export const TOPIC = 'order-events';
export const PARTITIONS = 6;

export const GROUPS = ['payment-service', 'inventory-service', 'email-notifications'] as const;
export type GroupName = (typeof GROUPS)[number];

export interface OrderEvent {
  orderId: string;
  userId: string;
  type: 'created' | 'paid' | 'shipped';
  amountCents: number;
  items: number;
  seq: number;
}

export function encodeEvent(e: OrderEvent): { key: string; value: string } {
  return { key: e.userId, value: JSON.stringify(e) };
}

export function decodeEvent(value: Buffer | null): OrderEvent {
  if (value === null) throw new Error('order event without a value');
  return JSON.parse(value.toString('utf8')) as OrderEvent;
}

/** What each service does with an event; returns a one-line summary (a real service would call out). */
export const HANDLERS: Record<GroupName, (e: OrderEvent) => string> = {
  'payment-service': (e) => (e.type === 'created' ? `charge ${e.userId} ${(e.amountCents / 100).toFixed(2)}` : `noop ${e.type}`),
  'inventory-service': (e) => (e.type === 'created' ? `reserve ${e.items} item(s) for ${e.orderId}` : `noop ${e.type}`),
  'email-notifications': (e) => `mail ${e.userId}: order ${e.orderId} ${e.type}`,
};

/** The events of `count` orders spread over `users` users, in production order. */
export function orderEvents(count: number, users: number): OrderEvent[] {
  const events: OrderEvent[] = [];
  let seq = 0;
  for (let i = 0; i < count; i++) {
    const userId = `user-${i % users}`;
    const orderId = `order-${i}`;
    const amountCents = 500 + ((i * 7919) % 20_000);
    const items = 1 + (i % 5);
    for (const type of ['created', 'paid', 'shipped'] as const) events.push({ orderId, userId, type, amountCents, items, seq: seq++ });
  }
  return events;
}

export function isGroupName(s: string): s is GroupName {
  return (GROUPS as readonly string[]).includes(s);
}
