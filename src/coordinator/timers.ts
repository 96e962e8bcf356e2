/**
 * Per-member deadlines: the session (no heartbeat for session.timeout.ms → removed) and the
 * revocation (still holding partitions it was told to give up after rebalance.timeout.ms → removed).
 *
 * These are timers, not group state: they are never written as records. After a load every member
 * gets a fresh full session (`GroupCoordinatorShard.onLoaded`), as Kafka does, because the time a
 * member last heartbeated to a previous incarnation of the coordinator is unknown.
 */
const SEP = '\u0000';

export type DeadlineKind = 'session' | 'revocation';

export class MemberTimers {
  private readonly session = new Map<string, number>();
  private readonly revocation = new Map<string, number>();

  setSession(group: string, member: string, deadlineMs: number): void {
    this.session.set(group + SEP + member, deadlineMs);
  }

  /** Starts the revocation deadline unless one is already running; null stops it. */
  setRevocation(group: string, member: string, deadlineMs: number | null): void {
    const key = group + SEP + member;
    if (deadlineMs === null) this.revocation.delete(key);
    else if (!this.revocation.has(key)) this.revocation.set(key, deadlineMs);
  }

  clear(group: string, member: string): void {
    this.session.delete(group + SEP + member);
    this.revocation.delete(group + SEP + member);
  }

  clearAll(): void {
    this.session.clear();
    this.revocation.clear();
  }

  /** Deadlines at or before `nowMs`, removed from the timers, sessions first. */
  takeExpired(nowMs: number): Array<{ group: string; member: string; kind: DeadlineKind }> {
    const out: Array<{ group: string; member: string; kind: DeadlineKind }> = [];
    for (const [kind, map] of [['session', this.session], ['revocation', this.revocation]] as const) {
      for (const [key, deadline] of map) {
        if (deadline > nowMs) continue;
        map.delete(key);
        const i = key.indexOf(SEP);
        out.push({ group: key.slice(0, i), member: key.slice(i + 1), kind });
      }
    }
    return out;
  }
}
