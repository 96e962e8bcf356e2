/**
 * Committed offsets of one consumer group: commit, fetch, and the auto-commit timer.
 *
 * A committed offset is the next offset to consume (Kafka's convention). Commits carry the
 * member's id and epoch as they are at the moment of each attempt (`identity()`), so a commit
 * retried after a heartbeat moved the epoch on goes out with the new one; a consumer outside
 * membership (manual assign with a groupId) commits with member id '' and epoch -1, which the
 * coordinator accepts only for empty groups.
 *
 * Commits go out one at a time, in the order asked (a later commit never overtakes an earlier
 * one and rewinds it). Retries: coordinator moves, transport failures and STALE_MEMBER_EPOCH, up
 * to the Ferry retry count; the first per-partition error of the answer is then thrown, naming
 * the partition. `lastCommitted` remembers what this client committed so auto-commit skips
 * partitions whose offset did not move.
 */
import type { CommitOffsetsResponse__Output } from '../generated/ferry/v1/CommitOffsetsResponse.js';
import type { FetchOffsetsResponse__Output } from '../generated/ferry/v1/FetchOffsetsResponse.js';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import type { CoordinatorLink } from './coordinator.js';
import { fromResponseError, toFerryError } from './errors.js';
import { toWire, tpKey } from './rebalance.js';
import type { CommittedOffset, Logger, OffsetToCommit, TopicPartition } from './types.js';

/** Longest metadata string sent with a commit, characters (Kafka's offset.metadata.max.bytes default is 4096). */
export const COMMIT_METADATA_MAX_CHARS = 4096;

export interface MemberIdentity {
  memberId: string;
  memberEpoch: number;
}

export const NO_MEMBER: MemberIdentity = { memberId: '', memberEpoch: -1 };

export function validateOffsets(offsets: readonly OffsetToCommit[]): void {
  if (!Array.isArray(offsets)) throw new FerryError(ErrorCode.INVALID_REQUEST, 'commit() takes an array of { topic, partition, offset, metadata? }');
  for (const o of offsets) {
    if (!o || typeof o.topic !== 'string' || o.topic === '' || !Number.isInteger(o.partition) || o.partition < 0) {
      throw new FerryError(ErrorCode.INVALID_REQUEST, `invalid partition ${JSON.stringify(o)} in commit()`);
    }
    if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
      throw new FerryError(ErrorCode.INVALID_COMMIT_OFFSET, `invalid offset ${o.offset} for ${o.topic}-${o.partition}: an integer >= 0`);
    }
    if (o.metadata !== undefined && (typeof o.metadata !== 'string' || o.metadata.length > COMMIT_METADATA_MAX_CHARS)) {
      throw new FerryError(ErrorCode.OFFSET_METADATA_TOO_LARGE, `metadata of ${o.topic}-${o.partition}: a string of at most ${COMMIT_METADATA_MAX_CHARS} characters`);
    }
  }
}

export class OffsetCommitter {
  /** What this client last committed successfully, by tpKey. */
  readonly lastCommitted = new Map<string, number>();
  private chain: Promise<unknown> = Promise.resolve();
  private autoTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly link: CoordinatorLink,
    private readonly identity: () => MemberIdentity,
    private readonly logger: Logger,
  ) {}

  get groupId(): string {
    return this.link.groupId;
  }

  /** Commits `offsets` (after the commits queued before it). Resolves once the coordinator stored them. */
  commit(offsets: readonly OffsetToCommit[]): Promise<void> {
    validateOffsets(offsets);
    if (offsets.length === 0) return Promise.resolve();
    const run = this.chain.then(
      () => this.send(offsets),
      () => this.send(offsets),
    );
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Only the offsets that differ from what this client last committed. */
  changed(offsets: readonly OffsetToCommit[]): OffsetToCommit[] {
    return offsets.filter((o) => this.lastCommitted.get(tpKey(o.topic, o.partition)) !== o.offset);
  }

  /** Forgets partitions (revoked): a later owner may move their offsets. */
  forget(parts: readonly TopicPartition[]): void {
    for (const p of parts) this.lastCommitted.delete(tpKey(p.topic, p.partition));
  }

  private async send(offsets: readonly OffsetToCommit[]): Promise<void> {
    const byTopic = new Map<string, { partition: number; offset: number; metadata: string; leaderEpoch: number }[]>();
    for (const o of offsets) {
      let list = byTopic.get(o.topic);
      if (!list) byTopic.set(o.topic, (list = []));
      list.push({ partition: o.partition, offset: o.offset, metadata: o.metadata ?? '', leaderEpoch: -1 });
    }
    const topics = [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
    const res = await this.link.callWithRetry<CommitOffsetsResponse__Output>((c, o, cb) => {
      const { memberId, memberEpoch } = this.identity();
      return c.CommitOffsets({ groupId: this.link.groupId, memberId, memberEpoch, topics }, o, cb);
    });
    let first: FerryError | null = null;
    const failed = new Set<string>();
    for (const t of res.topics) {
      for (const p of t.partitions) {
        const err = fromResponseError(p.error);
        if (!err) continue;
        failed.add(tpKey(t.topic, p.partition));
        first ??= new FerryError(err.code, `commit of ${t.topic}-${p.partition} in group ${this.link.groupId}: ${err.message}`);
      }
    }
    for (const o of offsets) if (!failed.has(tpKey(o.topic, o.partition))) this.lastCommitted.set(tpKey(o.topic, o.partition), o.offset);
    if (first) throw first;
  }

  /** Committed offsets of `parts` (every committed partition of the group when omitted). */
  async fetch(parts?: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    const res = await this.link.callWithRetry<FetchOffsetsResponse__Output>((c, o, cb) =>
      c.FetchOffsets({ groupId: this.link.groupId, topics: parts ? toWire(parts) : [] }, o, cb),
    );
    return committedFromResponse(res);
  }

  /** Every `intervalMs`, commits what `collect()` returns that changed. Failures are logged and retried next time. */
  startAuto(intervalMs: number, collect: () => OffsetToCommit[]): void {
    this.stopAuto();
    const tick = () => {
      const due = this.changed(collect());
      const done = due.length === 0 ? Promise.resolve() : this.commit(due);
      done
        .catch((err: unknown) => this.logger.warn({ groupId: this.link.groupId, err: toFerryError(err).message }, 'auto-commit failed'))
        .finally(() => {
          if (this.autoTimer !== null) this.autoTimer = setTimeout(tick, intervalMs);
        });
    };
    this.autoTimer = setTimeout(tick, intervalMs);
  }

  stopAuto(): void {
    if (this.autoTimer) clearTimeout(this.autoTimer);
    this.autoTimer = null;
  }

  /** Resolves when every commit queued so far has finished (either way). */
  drain(): Promise<void> {
    return this.chain.then(() => undefined);
  }
}

/** Flattens a FetchOffsets answer; the first per-partition error is thrown. */
export function committedFromResponse(res: FetchOffsetsResponse__Output): CommittedOffset[] {
  const out: CommittedOffset[] = [];
  for (const t of res.topics) {
    for (const p of t.partitions) {
      const err = fromResponseError(p.error);
      if (err && err.code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw new FerryError(err.code, `${t.topic}-${p.partition}: ${err.message}`);
      out.push({ topic: t.topic, partition: p.partition, offset: err ? -1 : p.offset, metadata: p.metadata });
    }
  }
  return out;
}
