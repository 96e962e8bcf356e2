// Three real broker processes as one controller quorum (every broker a voter): one Raft leader is
// elected, its active controller registers and unfences all three brokers; SIGKILL of the leader →
// the survivors elect another, whose controller keeps them registered and fences the dead one once
// its session lapses; the killed broker restarts, re-registers and is unfenced again.
// Timings are shrunk through configs so the whole run takes a few seconds.
import { afterAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle, type LogLine } from '../helpers/broker.js';
import { freePorts, until } from '../helpers/cluster.js';

const FAST = {
  'controller.quorum.election.timeout.ms': '300',
  'controller.quorum.request.timeout.ms': '100',
  'broker.session.timeout.ms': '1500',
  'broker.heartbeat.interval.ms': '200',
};

const since = (logs: LogLine[], from: number) => logs.slice(from);
const has = (logs: LogLine[], msg: string, match: (l: LogLine) => boolean = () => true) => logs.some((l) => l.msg === msg && match(l));

const brokers: BrokerHandle[] = [];
afterAll(async () => {
  for (const b of brokers) await b.cleanup();
});

describe('controller quorum of 3 broker processes', () => {
  it('elects a leader, registers every broker, survives SIGKILL of the leader and takes it back', async () => {
    const ports = await freePorts(3);
    const voters = ports.map((p, i) => `${i + 1}@127.0.0.1:${p}`).join(',');
    const started = await Promise.all(ports.map((port, i) => startBroker({ port, config: { ...FAST, 'node.id': String(i + 1), 'controller.quorum.voters': voters } })));
    brokers.push(...started);

    // One leader; every broker registered and unfenced by the active controller.
    const leaderIdx = await until('a raft leader', () => {
      const idx = brokers.findIndex((b) => has(b.logs, 'controller: activated'));
      return idx >= 0 ? idx : undefined;
    });
    await until('all three unfenced', () => brokers.every((b) => has(b.logs, 'broker unfenced by the controller')));
    const leader = brokers[leaderIdx]!;
    for (let id = 1; id <= 3; id++) expect(has(leader.logs, 'controller: broker registered', (l) => l.brokerId === id)).toBe(true);
    expect(brokers.filter((b) => has(b.logs, 'controller: activated')).length).toBe(1);
    const firstTerm = leader.logs.find((l) => l.msg === 'raft: elected leader')!.term as number;

    // SIGKILL the leader: a survivor is elected in a later term, its controller takes over the
    // survivors' heartbeats (still unfenced) and fences the dead broker.
    const marks = brokers.map((b) => b.logs.length);
    await leader.kill('SIGKILL');
    const survivors = brokers.filter((b) => b !== leader);
    const newLeader = await until('a new raft leader', () => survivors.find((b, i) => has(since(b.logs, marks[brokers.indexOf(b)]!), 'controller: activated') && i >= 0));
    const newTerm = newLeader.logs.filter((l) => l.msg === 'raft: elected leader').at(-1)!.term as number;
    expect(newTerm).toBeGreaterThan(firstTerm);
    const deadId = leaderIdx + 1;
    await until('the dead broker fenced', () => has(since(newLeader.logs, marks[brokers.indexOf(newLeader)]!), 'controller: fenced brokers (session expired)', (l) => (l.fenced as number[]).includes(deadId)));
    for (const s of survivors) {
      const mine = () => since(s.logs, marks[brokers.indexOf(s)]!);
      await until('survivor heartbeats to the new controller', () => has(mine(), 'broker heartbeats to a new active controller', (l) => l.controllerId === brokers.indexOf(newLeader) + 1));
      expect(has(mine(), 'broker fenced by the controller')).toBe(false);
    }

    // Restart the old leader: it follows the new one, registers again and is unfenced.
    const mark = leader.logs.length;
    await leader.restart();
    await until('the restarted broker unfenced', () => has(since(leader.logs, mark), 'broker unfenced by the controller'));
    expect(has(since(leader.logs, mark), 'raft: following leader', (l) => l.leaderId === brokers.indexOf(newLeader) + 1)).toBe(true);
    expect(has(since(newLeader.logs, marks[brokers.indexOf(newLeader)]!), 'controller: broker registered', (l) => l.brokerId === deadId)).toBe(true);
  }, 90_000);
});
