/**
 * An in-process GroupService for SDK unit tests, following group.proto's contract closely enough to
 * exercise the client: KIP-848-style heartbeats with member epochs, a sticky-ish server-side
 * assignment over the fake broker's topics, and incremental handover — a partition is given to a
 * member only when no other member owns it (per its last `owned_partitions`) or was sent it in an
 * assignment it has not yet acknowledged. Commits are fenced by member epoch. Sessions expire.
 *
 * Not the real coordinator (src/coordinator): no persistence, one group state per id, good enough
 * to drive the client through joins, rebalances, revocations, fencing and coordinator errors.
 */
import * as grpc from '@grpc/grpc-js';
import { loadFerryProto } from '../../../src/protocol/grpc-definitions.js';
import type { GroupHeartbeatRequest__Output } from '../../../src/generated/ferry/v1/GroupHeartbeatRequest.js';
import type { CommitOffsetsRequest__Output } from '../../../src/generated/ferry/v1/CommitOffsetsRequest.js';
import { wireError } from './fake-broker.js';

type Handler = (call: grpc.ServerUnaryCall<any, unknown>, cb: grpc.sendUnaryData<unknown>) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Member {
  id: string;
  epoch: number;
  instanceId: string;
  topics: string[];
  regex: string;
  owned: Set<string>;
  target: Set<string>;
  /** Last assignment sent (what it may own once it acknowledges). */
  sent: Set<string>;
  lastSeenMs: number;
  sessionTimeoutMs: number;
}

interface Group {
  id: string;
  epoch: number;
  assignor: string;
  members: Map<string, Member>;
  offsets: Map<string, { offset: number; metadata: string }>;
}

export interface FakeGroupService {
  groups: Map<string, Group>;
  heartbeats: GroupHeartbeatRequest__Output[];
  commits: CommitOffsetsRequest__Output[];
  /** The next `count` calls of `method` fail with `code` (in the response's error field). */
  failNext(method: string, code: string, count?: number): void;
  /** Forgets a member: its next heartbeat gets UNKNOWN_MEMBER_ID. */
  removeMember(groupId: string, memberId: string): void;
  /** Bumps a member's epoch on the server: its next heartbeat gets FENCED_MEMBER_EPOCH. */
  fenceMember(groupId: string, memberId: string): void;
  owners(groupId: string): Map<string, string[]>;
}

const key = (t: string, p: number) => `${t}/${p}`;
const split = (k: string) => {
  const i = k.lastIndexOf('/');
  return { topic: k.slice(0, i), partition: Number(k.slice(i + 1)) };
};

function toWire(keys: Iterable<string>) {
  const by = new Map<string, number[]>();
  for (const k of keys) {
    const { topic, partition } = split(k);
    if (!by.has(topic)) by.set(topic, []);
    by.get(topic)!.push(partition);
  }
  return [...by].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
}

function fromWire(tps: { topic: string; partitions: number[] }[]): Set<string> {
  const out = new Set<string>();
  for (const t of tps) for (const p of t.partitions) out.add(key(t.topic, p));
  return out;
}

export function addFakeGroupService(
  server: grpc.Server,
  port: () => number,
  opts: { topics: Record<string, number>; heartbeatIntervalMs?: number; defaultSessionTimeoutMs?: number },
): FakeGroupService {
  const { proto } = loadFerryProto();
  const groups = new Map<string, Group>();
  const failures = new Map<string, { code: string; count: number }>();
  const heartbeats: GroupHeartbeatRequest__Output[] = [];
  const commits: CommitOffsetsRequest__Output[] = [];
  const interval = opts.heartbeatIntervalMs ?? 50;
  let nextId = 1;

  const group = (id: string): Group => {
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { id, epoch: 0, assignor: 'sticky', members: new Map(), offsets: new Map() }));
    return g;
  };

  const injected = (method: string) => {
    const f = failures.get(method);
    if (!f || f.count <= 0) return null;
    f.count--;
    return wireError({ code: f.code as never, message: `injected ${f.code}`, retriable: false });
  };

  const subscribed = (m: Member): string[] => {
    const re = m.regex ? new RegExp(`^(?:${m.regex})$`) : null;
    return Object.keys(opts.topics).filter((t) => (re ? re.test(t) : m.topics.includes(t)));
  };

  /** Sticky-ish: members keep what they had up to their quota; the rest is dealt out in order. */
  const rebalance = (g: Group) => {
    g.epoch++;
    const members = [...g.members.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    const all = new Set<string>();
    for (const m of members) for (const t of subscribed(m)) for (let p = 0; p < opts.topics[t]!; p++) all.add(key(t, p));
    const parts = [...all].sort();
    const quota = new Map<string, number>();
    members.forEach((m, i) => quota.set(m.id, Math.floor(parts.length / members.length) + (i < parts.length % members.length ? 1 : 0)));
    const taken = new Set<string>();
    const next = new Map<string, Set<string>>();
    for (const m of members) {
      const keep = new Set<string>();
      const mine = new Set(subscribed(m));
      for (const k of [...m.target].sort()) {
        if (keep.size >= quota.get(m.id)! || !all.has(k) || taken.has(k) || !mine.has(split(k).topic)) continue;
        keep.add(k);
        taken.add(k);
      }
      next.set(m.id, keep);
    }
    for (const k of parts) {
      if (taken.has(k)) continue;
      const m = members.find((x) => next.get(x.id)!.size < quota.get(x.id)! && subscribed(x).includes(split(k).topic));
      if (!m) continue;
      next.get(m.id)!.add(k);
      taken.add(k);
    }
    for (const m of members) m.target = next.get(m.id)!;
  };

  const expire = (g: Group) => {
    const now = Date.now();
    let changed = false;
    for (const m of [...g.members.values()]) {
      if (now - m.lastSeenMs > m.sessionTimeoutMs) {
        g.members.delete(m.id);
        changed = true;
      }
    }
    if (changed) rebalance(g);
  };

  /** Target minus what other members still own or were sent and have not given back. */
  const assignmentOf = (g: Group, m: Member): Set<string> => {
    const blocked = new Set<string>();
    for (const o of g.members.values()) {
      if (o === m) continue;
      for (const k of o.owned) blocked.add(k);
      for (const k of o.sent) blocked.add(k);
    }
    return new Set([...m.target].filter((k) => !blocked.has(k)));
  };

  const sameSet = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((k) => b.has(k));

  const handlers: Record<string, Handler> = {
    FindCoordinator: (_call, cb) => cb(null, injected('FindCoordinator') ? { error: injected('FindCoordinator') } : { error: null, nodeId: 1, host: '127.0.0.1', port: port() }),
    Heartbeat: (call, cb) => {
      const req = call.request as GroupHeartbeatRequest__Output;
      heartbeats.push(req);
      const err = injected('Heartbeat');
      if (err) return cb(null, { error: err });
      const g = group(req.groupId);
      expire(g);
      if (req.memberEpoch < 0) {
        g.members.delete(req.memberId);
        rebalance(g);
        return cb(null, { error: null, memberId: req.memberId, memberEpoch: req.memberEpoch, heartbeatIntervalMs: 0 });
      }
      let m = g.members.get(req.memberId);
      if (req.memberEpoch === 0) {
        const id = req.memberId || `member-${nextId++}`;
        m = {
          id,
          epoch: 0,
          instanceId: req.instanceId,
          topics: req.subscribedTopicNames,
          regex: req.subscribedTopicRegex,
          owned: new Set(),
          target: new Set(),
          sent: new Set(),
          lastSeenMs: Date.now(),
          sessionTimeoutMs: req.sessionTimeoutMs || opts.defaultSessionTimeoutMs || 10_000,
        };
        g.members.set(id, m);
        if (req.serverAssignor) g.assignor = req.serverAssignor;
        rebalance(g);
      } else if (!m) {
        return cb(null, { error: wireError({ code: 'UNKNOWN_MEMBER_ID', message: `unknown member ${req.memberId}` }) });
      } else if (req.memberEpoch !== m.epoch) {
        return cb(null, { error: wireError({ code: 'FENCED_MEMBER_EPOCH', message: `epoch ${req.memberEpoch} != ${m.epoch}` }) });
      } else if (req.subscriptionChanged) {
        m.topics = req.subscribedTopicNames;
        m.regex = req.subscribedTopicRegex;
        rebalance(g);
      }
      m.lastSeenMs = Date.now();
      m.owned = fromWire(req.ownedPartitions);
      // What it acknowledged no longer counts as sent-but-unacknowledged beyond what it owns.
      m.sent = new Set([...m.sent].filter((k) => m!.target.has(k) || m!.owned.has(k)));
      const assignment = assignmentOf(g, m);
      const changed = m.epoch === 0 || !sameSet(assignment, m.sent);
      if (changed) {
        m.epoch++;
        m.sent = assignment;
      }
      cb(null, {
        error: null,
        memberId: m.id,
        memberEpoch: m.epoch,
        heartbeatIntervalMs: interval,
        hasAssignment: changed,
        assignment: changed ? toWire(assignment) : [],
      });
    },
    CommitOffsets: (call, cb) => {
      const req = call.request as CommitOffsetsRequest__Output;
      commits.push(req);
      const err = injected('CommitOffsets');
      if (err) return cb(null, { error: err, topics: [] });
      const g = group(req.groupId);
      const m = g.members.get(req.memberId);
      let fail: string | null = null;
      if (req.memberEpoch === -1 && req.memberId === '') fail = g.members.size > 0 ? 'UNKNOWN_MEMBER_ID' : null;
      else if (!m) fail = 'UNKNOWN_MEMBER_ID';
      else if (req.memberEpoch !== m.epoch) fail = 'STALE_MEMBER_EPOCH';
      if (fail) return cb(null, { error: wireError({ code: fail as never, message: fail }), topics: [] });
      for (const t of req.topics) for (const p of t.partitions) g.offsets.set(key(t.topic, p.partition), { offset: p.offset, metadata: p.metadata });
      cb(null, { error: null, topics: req.topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => ({ partition: p.partition, error: null })) })) });
    },
    FetchOffsets: (call, cb) => {
      const req = call.request as { groupId: string; topics: { topic: string; partitions: number[] }[] };
      const err = injected('FetchOffsets');
      if (err) return cb(null, { error: err, topics: [] });
      const g = group(req.groupId);
      const wanted = req.topics.length > 0 ? [...fromWire(req.topics)] : [...g.offsets.keys()];
      const by = new Map<string, { partition: number; offset: number; metadata: string; leaderEpoch: number; error: null }[]>();
      for (const k of wanted) {
        const { topic, partition } = split(k);
        const c = g.offsets.get(k);
        if (!by.has(topic)) by.set(topic, []);
        by.get(topic)!.push({ partition, offset: c?.offset ?? -1, metadata: c?.metadata ?? '', leaderEpoch: -1, error: null });
      }
      cb(null, { error: null, topics: [...by].map(([topic, partitions]) => ({ topic, partitions })) });
    },
    ListGroups: (_call, cb) =>
      cb(null, {
        groups: [...groups.values()].map((g) => ({ groupId: g.id, state: g.members.size > 0 ? 'STABLE' : 'EMPTY', members: g.members.size })),
      }),
    DescribeGroups: (call, cb) => {
      const ids = (call.request as { groupIds: string[] }).groupIds;
      cb(null, {
        groups: ids.map((id) => {
          const g = groups.get(id);
          if (!g) return { groupId: id, error: wireError({ code: 'GROUP_ID_NOT_FOUND', message: `no group ${id}` }), members: [] };
          return {
            groupId: id,
            error: null,
            state: g.members.size > 0 ? 'STABLE' : 'EMPTY',
            groupEpoch: g.epoch,
            assignmentEpoch: g.epoch,
            assignor: g.assignor,
            members: [...g.members.values()].map((m) => ({
              memberId: m.id,
              instanceId: m.instanceId,
              clientId: 'ferry-js',
              clientHost: '127.0.0.1',
              memberEpoch: m.epoch,
              subscribedTopicNames: m.topics,
              subscribedTopicRegex: m.regex,
              assignment: toWire(m.owned),
              targetAssignment: toWire(m.target),
            })),
          };
        }),
      });
    },
    DeleteGroups: (call, cb) => {
      const ids = (call.request as { groupIds: string[] }).groupIds;
      cb(null, {
        results: ids.map((id) => {
          const g = groups.get(id);
          if (!g) return { groupId: id, error: wireError({ code: 'GROUP_ID_NOT_FOUND', message: `no group ${id}` }) };
          if (g.members.size > 0) return { groupId: id, error: wireError({ code: 'NON_EMPTY_GROUP', message: `group ${id} has members` }) };
          groups.delete(id);
          return { groupId: id, error: null };
        }),
      });
    },
    AlterGroupOffsets: (call, cb) => {
      const req = call.request as { groupId: string; topics: { topic: string; partitions: { partition: number; offset: number; metadata: string }[] }[] };
      const g = group(req.groupId);
      if (g.members.size > 0) return cb(null, { error: wireError({ code: 'NON_EMPTY_GROUP', message: 'has members' }), topics: [] });
      for (const t of req.topics) for (const p of t.partitions) g.offsets.set(key(t.topic, p.partition), { offset: p.offset, metadata: p.metadata });
      cb(null, { error: null, topics: req.topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => ({ partition: p.partition, error: null })) })) });
    },
  };
  server.addService(proto.ferry.v1.GroupService.service, handlers as unknown as grpc.UntypedServiceImplementation);

  return {
    groups,
    heartbeats,
    commits,
    failNext(method, code, count = 1) {
      failures.set(method, { code, count });
    },
    removeMember(groupId, memberId) {
      const g = group(groupId);
      g.members.delete(memberId);
      rebalance(g);
    },
    fenceMember(groupId, memberId) {
      const m = group(groupId).members.get(memberId);
      if (m) m.epoch += 100;
    },
    owners(groupId) {
      const out = new Map<string, string[]>();
      for (const m of group(groupId).members.values()) out.set(m.id, [...m.owned].sort());
      return out;
    },
  };
}
