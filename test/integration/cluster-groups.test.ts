/**
 * Consumer groups in a 3-broker cluster (issue 4): the coordinator of a group is the leader of its
 * __consumer_offsets partition, so when that broker dies (SIGKILL) the group moves with the
 * partition's leadership to a surviving replica — with every commit it acknowledged.
 *
 * Two SDK consumers share an RF 3 topic; each commits every record right after processing it (and
 * keeps retrying that commit while the coordinator is away), so at any moment at most one record
 * per partition is processed but not committed. The broker FindCoordinator names is killed while
 * records keep arriving. Checked:
 *  - FindCoordinator on the survivors moves to another broker, which answers FetchOffsets with at
 *    least every offset acknowledged before the kill (acks=all commits survive);
 *  - the members keep their ids, never lose their partitions and never overlap;
 *  - nothing is skipped (every offset below the log end is processed) and nothing is re-delivered
 *    below a commit that was acknowledged before it (at most the one uncommitted record);
 *  - ListGroups through a broker that does not coordinate the group still lists it (the admin asks
 *    every broker);
 *  - the new coordinator runs a rebalance: one member leaves, the other takes its partitions from
 *    their committed offsets and consumes the rest, with no record delivered twice;
 *  - the killed broker restarts and, back in the ISR, becomes the preferred leader — and so the
 *    coordinator — again while the remaining member keeps consuming and committing.
 * Needs `npm run build` first (npm test does it).
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ferry, type Consumer, type ConsumerRecord } from '../../src/client/index.js';
import { FAST_CLUSTER_CONFIG, startCluster, until, type ClusterHandle } from '../helpers/cluster.js';
import { rawClients, errorCodeOf, type RawClients } from '../helpers/grpc.js';
import { overlaps, processedOutsideOwnership, waitFor, type OwnershipEvent, type Processed } from '../helpers/group-members.js';

const TOPIC = 'cg-orders';
const GROUP = 'cg-failover';
const PARTITIONS = 4;

interface Commit {
  t: number;
  partition: number;
  offset: number;
}

/** A consumer that records ownership events and processed records, and commits each record it processes. */
class CommittingMember {
  readonly ferry: Ferry;
  readonly consumer: Consumer;
  readonly owned = new Set<number>();
  private running: Promise<void> | null = null;
  private closing = false;

  constructor(
    readonly name: string,
    bootstrap: string,
    readonly events: OwnershipEvent[],
    readonly processed: Processed[],
    readonly commits: Commit[],
    /** Values processed (each produced value is unique). */
    readonly values: Set<string>,
  ) {
    this.ferry = new Ferry({ bootstrap, clientId: name });
    this.consumer = this.ferry.consumer({
      groupId: GROUP,
      enableAutoCommit: false,
      autoOffsetReset: 'earliest',
      fetchMaxWaitMs: 50,
      // Longer than any failover here: a member must not drop its partitions while the group moves.
      sessionTimeoutMs: 20_000,
    });
    this.consumer.on('assigned', (parts) => {
      for (const p of parts) this.owned.add(p.partition);
      events.push({ t: performance.now(), member: name, type: 'assigned', partitions: parts.map((p) => p.partition), lost: false });
    });
    this.consumer.on('revoked', (parts, info) => {
      events.push({ t: performance.now(), member: name, type: 'revoked', partitions: parts.map((p) => p.partition), lost: info.lost });
      for (const p of parts) this.owned.delete(p.partition);
    });
    this.consumer.subscribe({ topics: [TOPIC] });
  }

  run(): void {
    this.running = this.consumer.run({ eachMessage: (r) => this.handle(r) });
    this.running.catch(() => undefined);
  }

  private async handle(r: ConsumerRecord): Promise<void> {
    this.processed.push({ t: performance.now(), member: this.name, partition: r.partition, offset: r.offset });
    this.values.add(r.value?.toString() ?? '');
    const offset = r.offset + 1;
    // Commit it before taking the next record; while the coordinator moves, keep trying as long as
    // this member still owns the partition (a lost partition's commit would be refused anyway).
    for (;;) {
      try {
        await this.consumer.commit([{ topic: TOPIC, partition: r.partition, offset }]);
        this.commits.push({ t: performance.now(), partition: r.partition, offset });
        return;
      } catch (err) {
        if (this.closing || !this.owned.has(r.partition)) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
        void err;
      }
    }
  }

  memberId(): string {
    return this.consumer.groupMember()?.memberId ?? '';
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.consumer.close();
    await this.running?.catch(() => undefined);
    await this.ferry.close();
  }
}

/** FindCoordinator on broker `id` (raw gRPC); the coordinator's node id, or an error code. */
async function findCoordinatorOn(rpc: RawClients): Promise<number | string> {
  try {
    const res = await rpc.call<{ nodeId: number }>('group', 'FindCoordinator', { groupId: GROUP });
    return res.nodeId;
  } catch (err) {
    return errorCodeOf(err) ?? String((err as Error).message);
  }
}

describe('consumer groups in a 3-broker cluster', () => {
  let cluster: ClusterHandle;
  const raws = new Map<number, RawClients>();
  const raw = (id: number): RawClients => {
    let r = raws.get(id);
    if (!r) raws.set(id, (r = rawClients(cluster.broker(id).bootstrap)));
    return r;
  };

  beforeAll(async () => {
    cluster = await startCluster(3, { ...FAST_CLUSTER_CONFIG, 'offsets.topic.num.partitions': '4', 'group.heartbeat.interval.ms': '250' });
  }, 30_000);

  afterAll(async () => {
    for (const r of raws.values()) r.close();
    await cluster?.cleanup();
  });

  it('the group survives a SIGKILL of its coordinator: commits kept, nothing skipped, no re-delivery below a commit', async () => {
    const ferry = new Ferry({ bootstrap: cluster.bootstrap });
    const events: OwnershipEvent[] = [];
    const processed: Processed[] = [];
    const commits: Commit[] = [];
    const members: CommittingMember[] = [];
    const produced = new Map<number, number>(); // values sent per partition
    const producer = ferry.producer({ lingerMs: 1 });
    const produce = async (perPartition: number) => {
      for (let p = 0; p < PARTITIONS; p++) {
        const from = produced.get(p) ?? 0;
        await producer.sendBatch(TOPIC, Array.from({ length: perPartition }, (_, i) => ({ partition: p, value: `p${p}-${from + i}` })));
        produced.set(p, from + perPartition);
      }
      await producer.flush();
    };
    // Values, not offsets: a produce retried through the failover may store a batch twice.
    const values = new Set<string>();
    const processedCount = () => values.size;
    const total = () => [...produced.values()].reduce((a, b) => a + b, 0);
    try {
      await ferry.admin().createTopics([{ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 }]);
      // __consumer_offsets is created in the background once the brokers registered.
      const coordinator = await until('a coordinator for the group', async () => {
        const id = await findCoordinatorOn(raw(1));
        return typeof id === 'number' ? id : undefined;
      }, 20_000, 100);
      for (const id of [2, 3]) expect(await findCoordinatorOn(raw(id))).toBe(coordinator);

      await produce(50);
      for (const name of ['m1', 'm2']) {
        const m = new CommittingMember(name, cluster.bootstrap, events, processed, commits, values);
        m.run();
        members.push(m);
      }
      const [m1, m2] = members as [CommittingMember, CommittingMember];
      await waitFor(() => m1.owned.size === 2 && m2.owned.size === 2, 20_000, '2 partitions per member');
      await waitFor(() => processedCount() === total(), 20_000, 'phase 1 consumed');
      const ids = [m1.memberId(), m2.memberId()];

      // Kill the coordinator while records keep coming: the members are mid-commit.
      const phase1 = total();
      const producing = produce(50);
      await waitFor(() => processedCount() >= phase1 + 20, 20_000, 'phase 2 under way');
      const killedAt = performance.now();
      await cluster.broker(coordinator).kill('SIGKILL');
      const ackedBeforeKill = new Map<number, number>();
      for (const c of commits) if (c.t <= killedAt) ackedBeforeKill.set(c.partition, Math.max(ackedBeforeKill.get(c.partition) ?? 0, c.offset));
      const survivors = [1, 2, 3].filter((id) => id !== coordinator);

      // The survivors agree on a new coordinator, which has every acknowledged commit.
      const moved = await until('the survivors to name a new coordinator', async () => {
        const answers = await Promise.all(survivors.map((id) => findCoordinatorOn(raw(id))));
        return answers.every((a) => a === answers[0] && typeof a === 'number' && a !== coordinator) ? (answers[0] as number) : undefined;
      }, 20_000, 100);
      expect(survivors).toContain(moved);
      const movedMs = performance.now() - killedAt;
      const admin = new Ferry({ bootstrap: cluster.broker(moved).bootstrap }).admin();
      try {
        const after = await until('committed offsets from the new coordinator', async () => admin.fetchCommitted(GROUP).catch(() => undefined), 20_000, 100);
        for (let p = 0; p < PARTITIONS; p++) {
          const c = after.find((o) => o.partition === p);
          expect(c?.offset ?? -1, `partition ${p}: committed offset at the new coordinator`).toBeGreaterThanOrEqual(ackedBeforeKill.get(p) ?? 0);
        }
      } finally {
        await admin.close();
      }

      // ListGroups through a broker that does not coordinate the group: the admin asks every broker.
      const other = new Ferry({ bootstrap: cluster.broker(survivors.find((id) => id !== moved)!).bootstrap });
      try {
        const listed = await until('the group listed', async () => (await other.admin().listGroups().catch(() => [])).find((g) => g.groupId === GROUP), 10_000, 200);
        expect(listed.members).toBe(2);
      } finally {
        await other.close();
      }

      await producing;
      await produce(25);
      await waitFor(() => processedCount() === total(), 30_000, 'everything produced consumed after the failover');

      // Same members, same partitions, never two owners, nothing lost.
      expect([m1.memberId(), m2.memberId()]).toEqual(ids);
      expect(events.filter((e) => e.lost)).toEqual([]);
      expect(overlaps(events)).toEqual([]);
      expect(processedOutsideOwnership(events, processed)).toEqual([]);

      // Phase 4: m1 leaves; the new coordinator hands its partitions to m2 at their committed offsets.
      const m1Parts = [...m1.owned];
      await m1.close();
      await waitFor(() => m2.owned.size === PARTITIONS, 20_000, 'm2 to own every partition');
      await produce(25);
      await waitFor(() => processedCount() === total(), 20_000, 'everything consumed by m2');

      // Phase 5: the killed broker restarts; once back in the ISR it is the preferred leader again, so
      // the group moves back to it — a move with the old coordinator alive (it resigns) — while m2
      // keeps consuming and committing.
      await cluster.broker(coordinator).restart();
      let movedBack = false;
      const trickle = (async () => {
        while (!movedBack) {
          await produce(2);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      try {
        await until('the coordinator to move back to the restarted broker', async () => (await findCoordinatorOn(raw(moved))) === coordinator, 30_000, 200);
      } finally {
        movedBack = true;
        await trickle;
      }
      await produce(10);
      await waitFor(() => processedCount() === total(), 20_000, 'everything consumed after the move back');
      // Per partition: offsets 0..end-1 all processed (the log may hold more than was sent if a
      // produce retry duplicated a batch, so the log end is asked for) and committed.
      const ends = await ferry.admin().listOffsets(TOPIC, undefined, 'latest');
      const endOf = (p: number) => ends.find((e) => e.partition === p)!.offset;
      await until('the last commits', () => [...Array(PARTITIONS).keys()].every((p) => commits.some((c) => c.partition === p && c.offset === endOf(p))), 10_000);

      // Nothing skipped, and a record processed twice never lies below a commit acknowledged
      // before its second delivery.
      const byPartition = new Map<number, Processed[]>();
      for (const r of [...processed].sort((a, b) => a.t - b.t)) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r]);
      const redelivered: Processed[] = [];
      for (let p = 0; p < PARTITIONS; p++) {
        const end = endOf(p);
        expect(end).toBeGreaterThanOrEqual(produced.get(p)!);
        const seen = new Set<number>();
        for (const r of byPartition.get(p) ?? []) {
          if (seen.has(r.offset)) {
            redelivered.push(r);
            const acked = Math.max(0, ...commits.filter((c) => c.partition === p && c.t < r.t).map((c) => c.offset));
            expect(r.offset, `partition ${p} offset ${r.offset} re-delivered below the acknowledged commit ${acked}`).toBeGreaterThanOrEqual(acked);
          }
          seen.add(r.offset);
        }
        expect([...seen].sort((a, b) => a - b), `partition ${p}: every offset processed`).toEqual(Array.from({ length: end }, (_, i) => i));
      }
      // At most the one record per partition that was processed but not yet committed.
      for (let p = 0; p < PARTITIONS; p++) expect(redelivered.filter((r) => r.partition === p).length).toBeLessThanOrEqual(1);
      // m1 committed as it went and on leaving: m2 started its partitions exactly there.
      expect(redelivered.filter((r) => m1Parts.includes(r.partition) && r.member === 'm2')).toEqual([]);

      // m2 rode out both moves as the same member, without losing a partition.
      expect(m2.memberId()).toBe(ids[1]);
      expect(events.filter((e) => e.lost)).toEqual([]);
      expect(overlaps(events)).toEqual([]);
      expect(processedOutsideOwnership(events, processed)).toEqual([]);

      const final = await ferry.admin().fetchCommitted(GROUP);
      for (let p = 0; p < PARTITIONS; p++) expect(final.find((o) => o.partition === p)?.offset).toBe(endOf(p));
      console.log(`coordinator ${coordinator} killed; moved to ${moved}; FindCoordinator named it ${movedMs.toFixed(0)} ms after the kill; moved back after the restart; ${redelivered.length} re-delivered`);
    } catch (err) {
      // What each side saw, for a failure that only shows on a loaded machine.
      const last = <T,>(xs: T[], f: (x: T) => boolean) => xs.filter(f).at(-1);
      for (let p = 0; p < PARTITIONS; p++) {
        console.log(`partition ${p}: produced ${produced.get(p)}, last processed ${JSON.stringify(last(processed, (r) => r.partition === p))}, last commit ${JSON.stringify(last(commits, (c) => c.partition === p))}`);
      }
      console.log('members', members.map((m) => `${m.name} ${m.memberId()} owns [${[...m.owned]}]`), 'events', JSON.stringify(events));
      for (const b of cluster.brokers) {
        const lines = b.logs.filter((l) => l.level >= 40 || /^group|coordinator|became|resigned|registered/.test(String(l.msg)));
        for (const l of lines.slice(-40)) console.log(cluster.brokers.indexOf(b) + 1, JSON.stringify(l));
      }
      throw err;
    } finally {
      for (const m of members) await m.close().catch(() => undefined);
      await producer.close().catch(() => undefined);
      await ferry.close();
    }
  }, 60_000);
});
