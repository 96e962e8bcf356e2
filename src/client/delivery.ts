/**
 * Where a produced record's outcome goes. A batch keeps, per record, a target and a slot in it:
 *  - `SingleDelivery`: the promise returned by `send()` (one record, slot 0);
 *  - `BatchDelivery`: the one promise returned by `sendBatch()`, resolved when every record of the
 *    call is acknowledged, with results in call order; the first failure rejects it.
 * Keeping the promise per call, not per record, is what lets sendBatch go fast.
 */
import type { FerryError } from '../protocol/errors.js';
import type { RecordMetadata } from './types.js';

export interface DeliveryTarget {
  done(slot: number, topic: string, partition: number, offset: number, timestamp: number): void;
  fail(err: FerryError): void;
}

export class SingleDelivery implements DeliveryTarget {
  constructor(
    private readonly resolve: (m: RecordMetadata) => void,
    private readonly reject: (e: FerryError) => void,
  ) {}
  done(_slot: number, topic: string, partition: number, offset: number, timestamp: number): void {
    this.resolve({ topic, partition, offset, timestamp });
  }
  fail(err: FerryError): void {
    this.reject(err);
  }
}

export class BatchDelivery implements DeliveryTarget {
  private readonly results: RecordMetadata[];
  private remaining: number;
  private settled = false;

  constructor(
    count: number,
    private readonly resolve: (m: RecordMetadata[]) => void,
    private readonly reject: (e: FerryError) => void,
  ) {
    this.results = new Array<RecordMetadata>(count);
    this.remaining = count;
    if (count === 0) this.finish();
  }

  done(slot: number, topic: string, partition: number, offset: number, timestamp: number): void {
    if (this.settled) return;
    this.results[slot] = { topic, partition, offset, timestamp };
    if (--this.remaining === 0) this.finish();
  }

  fail(err: FerryError): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(err);
  }

  private finish(): void {
    this.settled = true;
    this.resolve(this.results);
  }
}
