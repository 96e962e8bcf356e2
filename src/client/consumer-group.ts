/**
 * What a consumer with a `groupId` carries besides its fetcher: the link to the group's
 * coordinator, the offset committer and, once `subscribe()` is called, the group membership.
 * Kept apart from consumer.ts so the consumer stays about records and positions.
 *
 * `validateSubscription` checks what subscribe() was given: a non-empty list of topic names, or a
 * pattern (a RegExp — its source is sent; flags other than none are refused because the
 * coordinator matches Java-style regexes without them — or the regex as a string).
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';
import type { ClientContext } from './context.js';
import { CoordinatorLink } from './coordinator.js';
import { GroupMembership } from './group-membership.js';
import { NO_MEMBER, OffsetCommitter, type MemberIdentity } from './offset-committer.js';
import type { ResolvedConsumerOptions } from './options.js';
import { tpKey } from './rebalance.js';
import type { Subscription } from './types.js';

export function validateSubscription(sub: Subscription): Subscription {
  if (sub && 'topics' in sub) {
    const topics = sub.topics;
    if (!Array.isArray(topics) || topics.length === 0 || topics.some((t) => typeof t !== 'string' || t === '')) {
      throw new FerryError(ErrorCode.INVALID_REQUEST, 'subscribe({ topics }) needs a non-empty array of topic names');
    }
    return { topics: [...new Set(topics)] };
  }
  if (sub && 'pattern' in sub) {
    const p = sub.pattern;
    if (p instanceof RegExp) {
      if (p.flags.replace(/[gy]/g, '') !== '') {
        throw new FerryError(ErrorCode.INVALID_REQUEST, `subscribe({ pattern }): flags /${p.flags} are not supported (the coordinator matches the bare regex)`);
      }
      return { pattern: p };
    }
    if (typeof p === 'string' && p !== '') {
      try {
        new RegExp(p);
      } catch (err) {
        throw new FerryError(ErrorCode.INVALID_REQUEST, `subscribe({ pattern }): invalid regex ${JSON.stringify(p)}: ${(err as Error).message}`);
      }
      return { pattern: p };
    }
  }
  throw new FerryError(ErrorCode.INVALID_REQUEST, 'subscribe() takes { topics: string[] } or { pattern: RegExp | string }');
}

export class ConsumerGroup {
  readonly link: CoordinatorLink;
  readonly committer: OffsetCommitter;
  membership: GroupMembership | null = null;

  constructor(
    private readonly ctx: ClientContext,
    private readonly options: ResolvedConsumerOptions & { groupId: string },
  ) {
    this.link = new CoordinatorLink(ctx, options.groupId);
    this.committer = new OffsetCommitter(this.link, () => this.identity(), ctx.logger);
  }

  /** Member id and epoch for commits; outside membership (manual assign) the "no member" values. */
  identity(): MemberIdentity {
    return this.membership ? this.membership.identity() : NO_MEMBER;
  }

  createMembership(subscription: Subscription, onFatal: (err: FerryError) => void): GroupMembership {
    this.membership = new GroupMembership({
      ctx: this.ctx,
      options: this.options,
      link: this.link,
      subscription,
      onFatal,
      fetchCommitted: async (parts) => {
        const committed = await this.committer.fetch(parts);
        const out = new Map<string, number>();
        for (const c of committed) {
          out.set(tpKey(c.topic, c.partition), c.offset);
          if (c.offset >= 0) this.committer.lastCommitted.set(tpKey(c.topic, c.partition), c.offset);
        }
        return out;
      },
    });
    return this.membership;
  }
}
