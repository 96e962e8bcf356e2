/**
 * Producer ids for InitProducerId (idempotent producers). An id must never be handed out twice for
 * the life of the cluster, crashes included: partitions remember producers by id, so a reused id
 * would make a new producer's batches look like duplicates or out-of-order sequences of an old one.
 *
 * Single node — `BlockProducerIds`: ids come in blocks of PRODUCER_ID_BLOCK_SIZE whose end is
 * written atomically (util/atomic-file.ts: temp file, fsync, rename, fsync dir) to
 * `<data.dir>/producer-id-block` *before* any id of the block is handed out. After a crash the next
 * start continues from that end: at most one block's unused ids are skipped, none repeats.
 *
 * Cluster — `BrokerEpochProducerIds`: id = brokerEpoch * 2^20 + n, n counting from 0 in each broker
 * registration. The broker epoch is the metadata-log offset of this broker's RegisterBroker record
 * (controller/): unique across brokers and growing with every registration (including after a
 * crash), so two brokers, or two incarnations of one, never share an epoch and so never an id —
 * with no extra round trip to the controller and nothing to persist. Limits (documented in
 * docs/ARCHITECTURE.md): 2^20 (1,048,576) ids per registration, after which this broker answers
 * BROKER_NOT_AVAILABLE (retriable: the client asks another broker) until it registers again; ids stay
 * below 2^53 (exact JS numbers) while broker epochs stay below 2^33 (8.6 billion metadata records).
 * Kafka instead has the controller hand out blocks (KIP-730); this needs no new controller record.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { writeFileAtomically } from '../util/atomic-file.js';

export const PRODUCER_ID_FILE = 'producer-id-block';
export const PRODUCER_ID_BLOCK_SIZE = 1000;
export const IDS_PER_BROKER_EPOCH = 2 ** 20;
export const MAX_BROKER_EPOCH_FOR_IDS = 2 ** 33 - 1;

export interface ProducerIdSource {
  /** A fresh producer id (epoch 0 is implied). Throws FerryError. */
  next(): Promise<number>;
}

export class BlockProducerIds implements ProducerIdSource {
  private nextId = 0;
  private end = 0;
  /** Allocations are serialised: two calls must not both write a block from the same start. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly dataDir: string) {}

  next(): Promise<number> {
    const result = this.chain.then(() => this.allocate());
    this.chain = result.catch(() => undefined);
    return result;
  }

  private async allocate(): Promise<number> {
    if (this.nextId >= this.end) {
      const start = this.end > 0 ? this.end : await this.readPersistedEnd();
      const end = start + PRODUCER_ID_BLOCK_SIZE;
      if (end > Number.MAX_SAFE_INTEGER) throw new FerryError(ErrorCode.UNKNOWN_SERVER_ERROR, 'producer ids exhausted');
      await writeFileAtomically(join(this.dataDir, PRODUCER_ID_FILE), `${JSON.stringify({ end })}\n`);
      this.nextId = start;
      this.end = end;
    }
    return this.nextId++;
  }

  private async readPersistedEnd(): Promise<number> {
    let text: string;
    try {
      text = await fsp.readFile(join(this.dataDir, PRODUCER_ID_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    const end = (JSON.parse(text) as { end?: unknown }).end;
    // A damaged file must not restart ids at 0: refuse (the operator restores or removes it knowingly).
    if (typeof end !== 'number' || !Number.isSafeInteger(end) || end < 0) {
      throw new FerryError(ErrorCode.STORAGE_ERROR, `${PRODUCER_ID_FILE} holds no valid block end: ${JSON.stringify(text)}`);
    }
    return end;
  }
}

export class BrokerEpochProducerIds implements ProducerIdSource {
  private epoch: number | null = null;
  private counter = 0;

  constructor(private readonly brokerEpoch: () => number | null) {}

  next(): Promise<number> {
    const epoch = this.brokerEpoch();
    if (epoch === null || epoch < 0) {
      return Promise.reject(new FerryError(ErrorCode.BROKER_NOT_AVAILABLE, 'this broker has not registered with the cluster yet'));
    }
    if (epoch > MAX_BROKER_EPOCH_FOR_IDS) {
      return Promise.reject(new FerryError(ErrorCode.UNKNOWN_SERVER_ERROR, `broker epoch ${epoch} is beyond the producer id scheme's range`));
    }
    if (epoch !== this.epoch) {
      this.epoch = epoch;
      this.counter = 0;
    }
    if (this.counter >= IDS_PER_BROKER_EPOCH) {
      return Promise.reject(new FerryError(ErrorCode.BROKER_NOT_AVAILABLE, `this broker registration (epoch ${epoch}) has handed out all ${IDS_PER_BROKER_EPOCH} producer ids it may`));
    }
    return Promise.resolve(epoch * IDS_PER_BROKER_EPOCH + this.counter++);
  }
}
