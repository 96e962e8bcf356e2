// The cluster gate: an empty controller.quorum.voters means a single node (nothing cluster-related
// starts); a voter list yields Raft timings from the configs, a cluster id all voters derive alike,
// and the Raft directory name is one the partition-log scan of data.dir ignores.
import { describe, expect, it } from 'vitest';
import { loadBrokerConfig } from '../../../src/config/broker-config.js';
import { RAFT_DIR_NAME } from '../../../src/server/cluster/cluster-node.js';
import { initialClusterId, quorumSettings } from '../../../src/server/cluster/quorum-config.js';
import { parsePartitionDirName } from '../../../src/storage/segment-files.js';

const VOTERS = '1@127.0.0.1:9092,2@127.0.0.1:9093,3@127.0.0.1:9094';
const cfg = (flags: Record<string, unknown>) => loadBrokerConfig({ env: {}, flags });

describe('quorum configuration', () => {
  it('is off by default (single node, random cluster id as before)', () => {
    const c = cfg({});
    expect(quorumSettings(c)).toBeNull();
    expect(initialClusterId(c, null)).toBe('');
  });

  it('maps the configs onto Raft and agrees on the cluster id across voters', () => {
    const a = cfg({ 'node.id': '1', 'controller.quorum.voters': VOTERS, 'controller.quorum.election.timeout.ms': '500' });
    const b = cfg({ 'node.id': '3', 'controller.quorum.voters': VOTERS });
    const qa = quorumSettings(a)!;
    expect(qa.raft).toMatchObject({ id: 1, voters: [1, 2, 3], electionTimeoutMinMs: 500, electionTimeoutMaxMs: 1000, heartbeatIntervalMs: 100 });
    expect(qa.brokerSessionTimeoutMs).toBe(1800);
    expect(qa.brokerHeartbeatIntervalMs).toBe(300);
    expect(initialClusterId(a, qa)).toBe(initialClusterId(b, quorumSettings(b)));
    expect(initialClusterId(cfg({ 'cluster.id': 'mine', 'node.id': '1', 'controller.quorum.voters': VOTERS }), qa)).toBe('mine');
  });

  it('rejects a node that is not a voter and a malformed list', () => {
    expect(() => quorumSettings(cfg({ 'node.id': '7', 'controller.quorum.voters': VOTERS }))).toThrow(/not in controller.quorum.voters/);
    expect(() => quorumSettings(cfg({ 'controller.quorum.voters': '1@nohostport' }))).toThrow(/id@host:port/);
  });

  it('keeps the Raft directory out of the partition-log scan', () => {
    expect(parsePartitionDirName(RAFT_DIR_NAME)).toBeNull();
  });
});
