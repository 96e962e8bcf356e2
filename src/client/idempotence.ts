/**
 * The idempotent producer's identity and numbering (Kafka's TransactionManager, idempotence part):
 * the producer id and epoch from InitProducerId, and the next sequence of each partition.
 *
 * - The id is fetched once, before the first batch goes out (any broker answers; retriable errors
 *   are retried with the Ferry retry policy, then again on the sender's next pass).
 * - A batch gets (id, epoch, sequence) when it is first drained for sending and keeps them on every
 *   retry: a retry is then byte-identical and the partition leader recognises it as a duplicate if
 *   the first attempt was stored (producer-state.ts on the broker).
 * - Unresolved sequences (KIP-360): when a batch that was numbered fails for good — OUT_OF_ORDER_
 *   SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID, INVALID_PRODUCER_EPOCH, any other non-retriable error, or
 *   its delivery timeout — the broker may or may not hold it, and every later sequence of its
 *   partition would be judged against that gap. So the producer bumps its epoch locally and every
 *   partition starts again at sequence 0 (the broker accepts a newer epoch at 0). This is safe
 *   without asking the broker because the id is this producer's alone. Batches already numbered
 *   with the old epoch keep it (their retries still deduplicate). At epoch 32767 (int16) a new id is
 *   fetched instead.
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { addSequence, setProducerState } from '../protocol/record-batch.js';
import type { InitProducerIdResponse__Output } from '../generated/ferry/v1/InitProducerIdResponse.js';
import { callAnyBroker } from './any-broker.js';
import type { ClientContext } from './context.js';
import { toFerryError } from './errors.js';
import type { ProducerBatch } from './record-accumulator.js';

const MAX_EPOCH = 32767;

export class ProducerIdentity {
  producerId = -1;
  epoch = 0;
  /** `${topic}\0${partition}` → next sequence, for the current (id, epoch). */
  private readonly sequences = new Map<string, number>();
  private pending: Promise<void> | null = null;
  /** Bumps so far (tests, logs). */
  bumps = 0;

  constructor(private readonly ctx: ClientContext) {}

  get hasId(): boolean {
    return this.producerId >= 0;
  }

  /** Fetches a producer id unless one is known or being fetched. Rejects with a FerryError. */
  ensureId(): Promise<void> {
    if (this.hasId) return Promise.resolve();
    if (!this.pending) {
      this.pending = callAnyBroker<InitProducerIdResponse__Output>(this.ctx, (c, o, cb) => c.produce.InitProducerId({}, o, cb))
        .then(({ res }) => {
          const id = Number(res.producerId);
          if (!Number.isSafeInteger(id) || id < 0) throw new FerryError(ErrorCode.UNKNOWN_SERVER_ERROR, `bad producer id ${String(res.producerId)}`);
          this.producerId = id;
          this.epoch = res.producerEpoch;
          this.sequences.clear();
          this.ctx.logger.info({ producerId: id, epoch: this.epoch }, 'idempotent producer id assigned');
        })
        .catch((err: unknown) => {
          throw toFerryError(err);
        })
        .finally(() => {
          this.pending = null;
        });
    }
    return this.pending;
  }

  /** Numbers a batch on its first send (a no-op for one already numbered). */
  assign(batch: ProducerBatch): void {
    if (batch.producerId >= 0) return;
    const key = `${batch.topic}\u0000${batch.partition}`;
    const seq = this.sequences.get(key) ?? 0;
    setProducerState(batch.bytes!, 0, this.producerId, this.epoch, seq);
    batch.producerId = this.producerId;
    batch.producerEpoch = this.epoch;
    batch.baseSequence = seq;
    this.sequences.set(key, addSequence(seq, batch.recordCount));
  }

  /**
   * A numbered batch failed for good (see the top of the file): new epoch, sequences from 0. Only
   * once per (id, epoch) the failed batch was numbered with: several batches failing together
   * bump once.
   */
  onUnresolved(batch: ProducerBatch, err: FerryError): void {
    if (batch.producerId !== this.producerId || batch.producerEpoch !== this.epoch) return;
    this.sequences.clear();
    this.bumps++;
    if (this.epoch >= MAX_EPOCH) {
      this.producerId = -1; // the next send pass fetches a new id
      this.epoch = 0;
    } else {
      this.epoch++;
    }
    this.ctx.logger.warn(
      { topic: batch.topic, partition: batch.partition, code: err.code, producerId: this.producerId, epoch: this.epoch },
      'idempotent producer: a numbered batch failed for good; new epoch, sequences from 0',
    );
  }
}
