/**
 * queued.max.request.bytes for Produce: a broker-wide cap on the bytes of produce requests being
 * processed at once (decoded, in memory, waiting for their appends and acks). A request that does not
 * fit waits briefly (QUEUE_WAIT_MS, at most its own timeout) behind the others; when even the waiting
 * room is full, or the wait ends, it fails with THROTTLED (retriable: the SDK backs off and retries).
 * The permit is held until every append of the request has finished, also for acks=0.
 */
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/broker-config.js';
import type { ProduceRequest__Output } from '../generated/ferry/v1/ProduceRequest.js';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { ByteSemaphore, type Release } from './byte-semaphore.js';
import { LimitLog } from './limit-log.js';

/** How long a produce request may wait for room before THROTTLED. */
export const QUEUE_WAIT_MS = 1_000;
/** Per record sent as fields (not as a batch): a rough size of the field framing. */
const RECORD_OVERHEAD_BYTES = 32;

export class ProduceAdmission {
  private readonly semaphore: ByteSemaphore;
  private readonly log: LimitLog;

  constructor(config: BrokerConfig, logger: Logger) {
    this.semaphore = new ByteSemaphore(config.int('queued.max.request.bytes'));
    this.log = new LimitLog(logger, 'queued.max.request.bytes');
  }

  /** Waits for room for `req`; throws THROTTLED when there is none. */
  async admit(req: ProduceRequest__Output, timeoutMs: number, peer: string): Promise<Release> {
    const bytes = produceRequestBytes(req);
    const release = await this.semaphore.acquire(bytes, Math.min(QUEUE_WAIT_MS, timeoutMs));
    if (release) return release;
    const fields = { requestBytes: bytes, heldBytes: this.semaphore.heldBytes, queuedBytes: this.semaphore.queuedBytes, capacity: this.semaphore.capacity };
    this.log.hit(peer, fields, 'produce request throttled: queued.max.request.bytes reached');
    throw new FerryError(ErrorCode.THROTTLED, `broker is busy: produce requests in progress hold ${this.semaphore.heldBytes} of ${this.semaphore.capacity} bytes (queued.max.request.bytes); retry later`);
  }
}

/** The payload bytes a decoded produce request holds in memory. */
export function produceRequestBytes(req: ProduceRequest__Output): number {
  let bytes = 0;
  for (const t of req.topics) {
    bytes += t.topic.length;
    for (const p of t.partitions) {
      bytes += p.recordBatch.length;
      for (const r of p.records) {
        bytes += RECORD_OVERHEAD_BYTES + (r.key?.length ?? 0) + (r.value?.length ?? 0);
        for (const h of r.headers) bytes += h.key.length + (h.value?.length ?? 0);
      }
    }
  }
  return bytes;
}
