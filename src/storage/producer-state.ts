/**
 * Idempotent-producer state of one partition (Kafka KIP-98, without transactions): per producer
 * id, its current epoch and where its most recent batches went (sequence range → offset range).
 * Pure logic, no I/O: PartitionLog feeds it the headers of what it appends, and rebuilds it from the
 * batch headers of its own log after open or truncation (the log is the only source of truth, so
 * there is no snapshot file to keep consistent).
 *
 * Leader checks (`check`), for each batch with producerId ≥ 0, in order (a request may carry
 * several batches of one partition; later ones are checked against the earlier ones):
 *  - epoch older than the known one → INVALID_PRODUCER_EPOCH;
 *  - same epoch, sequence range inside a remembered run → duplicate (answer with its original
 *    offsets, append nothing);
 *  - same epoch, first sequence not right after the last one → OUT_OF_ORDER_SEQUENCE_NUMBER;
 *  - newer epoch: must start at sequence 0, else OUT_OF_ORDER_SEQUENCE_NUMBER;
 *  - unknown producer (never seen, or expired): accepted, tracking starts.
 * A request that is all duplicates (contiguous in the log) is answered with the first one's base
 * offset; a mix of duplicates and new batches is refused with DUPLICATE_SEQUENCE_NUMBER (nothing
 * appended) — the SDK then resends those batches one per request.
 *
 * "Runs": Kafka remembers the last 5 batches. Here a batch that continues the previous one in both
 * sequence and offset extends it into one run, and the last RUNS_RETAINED runs are remembered.
 * Within a run offset = baseOffset + (seq - firstSeq), so a retried request whose batches were
 * appended together (the SDK sends up to max.request.size of one partition's batches at once) is
 * recognised whole even when it held more than 5 batches, and however a retry regroups them.
 *
 * Sequences are int32 and wrap to 0 after 2^31-1, as in Kafka.
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { addSequence } from '../protocol/record-batch.js';

export { addSequence };

/** Runs remembered per producer (Kafka: 5 batches, its max.in.flight limit for idempotence). */
export const RUNS_RETAINED = 5;
const SEQ_MOD = 2 ** 31;

/** Header facts of one batch, before offsets are assigned. */
export interface ProducerBatchMeta {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  /** lastOffsetDelta + 1 (= record count for producer batches). */
  offsetCount: number;
}

/** A batch as appended (leader after stamping, follower, or rebuild from the log). */
export interface AppendedProducerBatch extends ProducerBatchMeta {
  baseOffset: number;
  /** Batch maxTimestamp: producers unseen for producer.id.expiration.ms are forgotten. */
  timestampMs: number;
}

interface Run {
  firstSeq: number;
  lastSeq: number;
  baseOffset: number;
  lastOffset: number;
}

interface ProducerEntry {
  epoch: number;
  /** Oldest first; all of `epoch`. Never empty. */
  runs: Run[];
  lastTimestampMs: number;
}

export type ProducerCheck = { duplicate: false } | { duplicate: true; baseOffset: number; lastOffset: number };

function seqDistance(from: number, to: number): number {
  return (((to - from) % SEQ_MOD) + SEQ_MOD) % SEQ_MOD;
}

export class ProducerStateManager {
  private readonly producers = new Map<number, ProducerEntry>();

  get producerCount(): number {
    return this.producers.size;
  }

  /** For tests and diagnostics: epoch and last sequence of a producer. */
  lastOf(producerId: number): { epoch: number; lastSeq: number; lastOffset: number } | undefined {
    const e = this.producers.get(producerId);
    if (!e) return undefined;
    const run = e.runs[e.runs.length - 1]!;
    return { epoch: e.epoch, lastSeq: run.lastSeq, lastOffset: run.lastOffset };
  }

  /**
   * The leader's checks for the batches of one append (see the top of the file). Throws a
   * FerryError; changes nothing (call `update` for each batch once it is appended).
   */
  check(batches: readonly ProducerBatchMeta[]): ProducerCheck {
    // What earlier batches of this same append would change: producer id → epoch, last sequence.
    const pending = new Map<number, { epoch: number; lastSeq: number }>();
    const dups: { baseOffset: number; lastOffset: number }[] = [];
    let fresh = 0;
    for (const b of batches) {
      if (b.producerId < 0) {
        fresh++;
        continue;
      }
      const lastSeqOfBatch = addSequence(b.baseSequence, b.offsetCount - 1);
      const seen = pending.get(b.producerId);
      const entry = this.producers.get(b.producerId);
      const epoch = seen?.epoch ?? entry?.epoch;
      if (epoch === undefined) {
        pending.set(b.producerId, { epoch: b.producerEpoch, lastSeq: lastSeqOfBatch });
        fresh++;
        continue;
      }
      if (b.producerEpoch < epoch) {
        throw new FerryError(ErrorCode.INVALID_PRODUCER_EPOCH, `producer ${b.producerId} epoch ${b.producerEpoch} is older than the current ${epoch}`);
      }
      if (b.producerEpoch > epoch) {
        if (b.baseSequence !== 0) {
          throw new FerryError(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, `producer ${b.producerId} new epoch ${b.producerEpoch} must start at sequence 0, not ${b.baseSequence}`);
        }
        pending.set(b.producerId, { epoch: b.producerEpoch, lastSeq: lastSeqOfBatch });
        fresh++;
        continue;
      }
      if (!seen && entry) {
        const dup = findInRuns(entry.runs, b.baseSequence, b.offsetCount);
        if (dup) {
          dups.push(dup);
          continue;
        }
      }
      const lastSeq = seen?.lastSeq ?? entry!.runs[entry!.runs.length - 1]!.lastSeq;
      if (b.baseSequence !== addSequence(lastSeq, 1)) {
        throw new FerryError(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `producer ${b.producerId} epoch ${b.producerEpoch}: sequence ${b.baseSequence} does not follow ${lastSeq}`,
        );
      }
      pending.set(b.producerId, { epoch, lastSeq: lastSeqOfBatch });
      fresh++;
    }
    if (dups.length === 0) return { duplicate: false };
    const contiguous = dups.every((d, i) => i === 0 || d.baseOffset === dups[i - 1]!.lastOffset + 1);
    if (fresh > 0 || !contiguous) {
      throw new FerryError(ErrorCode.DUPLICATE_SEQUENCE_NUMBER, `${dups.length} of ${batches.length} batches were appended before: resend them separately`);
    }
    return { duplicate: true, baseOffset: dups[0]!.baseOffset, lastOffset: dups[dups.length - 1]!.lastOffset };
  }

  /** Records an appended batch; no checks (followers and rebuilds trust the log). */
  update(b: AppendedProducerBatch): void {
    if (b.producerId < 0) return;
    const run: Run = {
      firstSeq: b.baseSequence,
      lastSeq: addSequence(b.baseSequence, b.offsetCount - 1),
      baseOffset: b.baseOffset,
      lastOffset: b.baseOffset + b.offsetCount - 1,
    };
    const entry = this.producers.get(b.producerId);
    if (!entry || b.producerEpoch > entry.epoch) {
      this.producers.set(b.producerId, { epoch: b.producerEpoch, runs: [run], lastTimestampMs: b.timestampMs });
      return;
    }
    if (b.producerEpoch < entry.epoch) return; // a correct leader never writes this; keep the newest epoch
    entry.lastTimestampMs = Math.max(entry.lastTimestampMs, b.timestampMs);
    const last = entry.runs[entry.runs.length - 1]!;
    if (run.firstSeq === addSequence(last.lastSeq, 1) && run.baseOffset === last.lastOffset + 1) {
      last.lastSeq = run.lastSeq;
      last.lastOffset = run.lastOffset;
      return;
    }
    entry.runs.push(run);
    if (entry.runs.length > RUNS_RETAINED) entry.runs.shift();
  }

  /** Forgets producers whose last batch is older than `expirationMs` (Kafka: producer.id.expiration.ms). */
  expire(nowMs: number, expirationMs: number): number {
    let removed = 0;
    for (const [id, e] of this.producers) {
      if (nowMs - e.lastTimestampMs >= expirationMs) {
        this.producers.delete(id);
        removed++;
      }
    }
    return removed;
  }

  clear(): void {
    this.producers.clear();
  }
}

/** The offsets of a sequence range that lies inside one run, or null. */
function findInRuns(runs: readonly Run[], firstSeq: number, count: number): { baseOffset: number; lastOffset: number } | null {
  for (let i = runs.length - 1; i >= 0; i--) {
    const r = runs[i]!;
    const from = seqDistance(r.firstSeq, firstSeq);
    const span = seqDistance(r.firstSeq, r.lastSeq);
    if (from + count - 1 <= span) return { baseOffset: r.baseOffset + from, lastOffset: r.baseOffset + from + count - 1 };
  }
  return null;
}
