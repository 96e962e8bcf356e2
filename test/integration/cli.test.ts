/**
 * The `ferry` CLI client commands (topic, produce, consume) run as real processes
 * (`node dist/cmd/ferry.js ...`) against one real broker from the test harness.
 * Needs `npm run build` first (npm test does it).
 */
import { runCli } from '../helpers/cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../helpers/broker.js';

const ferry = runCli;

function lines(s: string): string[] {
  return s.split('\n').filter((l) => l.length > 0);
}

describe('ferry CLI', () => {
  let broker: BrokerHandle;
  let bs: string[];

  beforeAll(async () => {
    // Auto-creation off, so an unknown topic stays unknown (the broker's default would create it on produce).
    broker = await startBroker({ config: { 'auto.create.topics.enable': 'false' } });
    bs = ['--bootstrap', broker.bootstrap];
  });

  afterAll(async () => {
    await broker?.cleanup();
  });

  it('creates, lists, describes and deletes a topic', async () => {
    const created = await ferry(['topic', 'create', 'cli-admin', '--partitions', '3', '--config', 'retention.ms=3600000', ...bs]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);

    const again = await ferry(['topic', 'create', 'cli-admin', '--partitions', '3', ...bs]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^ferry: TOPIC_ALREADY_EXISTS: /);

    const listed = await ferry(['topic', 'list', ...bs]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^cli-admin\s+3\s+1$/m);

    const described = await ferry(['topic', 'describe', 'cli-admin', ...bs]);
    expect(described.code).toBe(0);
    expect(described.stdout).toContain('Topic: cli-admin');
    for (const column of ['LEADER', 'LEADER-EPOCH', 'REPLICAS', 'ISR', 'LOG-START', 'LOG-END']) {
      expect(described.stdout).toContain(column);
    }
    expect(described.stdout).toMatch(/^retention\.ms\s+3600000\s+TOPIC$/m);

    const json = await ferry(['topic', 'describe', 'cli-admin', '--format', 'json', ...bs]);
    const description = JSON.parse(json.stdout) as { partitions: { partition: number; leaderId: number; logEndOffset: number }[] };
    expect(description.partitions.map((p) => p.partition).sort()).toEqual([0, 1, 2]);
    expect(description.partitions.every((p) => p.leaderId >= 0 && p.logEndOffset === 0)).toBe(true);

    const deleted = await ferry(['topic', 'delete', 'cli-admin', ...bs]);
    expect(deleted.code).toBe(0);
    const after = await ferry(['topic', 'list', ...bs]);
    expect(after.stdout).not.toMatch(/^cli-admin\s/m);
  });

  it('produces lines with keys and consumes them back as text and json', async () => {
    expect((await ferry(['topic', 'create', 'cli-rt', '--partitions', '2', ...bs])).code).toBe(0);
    const input = Array.from({ length: 20 }, (_, i) => `k${i % 4}:value ${i}`).join('\n') + '\n';
    const produced = await ferry(['produce', 'cli-rt', '--key-separator', ':', '--acks', 'all', '--header', 'src=cli', ...bs], input);
    expect(produced.code).toBe(0);
    expect(produced.stdout).toBe('');
    expect(produced.stderr).toMatch(/^20 record\(s\) acknowledged to topic cli-rt, 0 failed/m);
    expect(produced.stderr).toMatch(/partition \d: offsets 0\.\.\d+/);

    const text = await ferry(['consume', 'cli-rt', '--from-beginning', '--max-messages', '20', '--print-key', ...bs]);
    expect(text.code).toBe(0);
    const got = lines(text.stdout);
    expect(got).toHaveLength(20);
    expect(new Set(got)).toEqual(new Set(input.trim().split('\n').map((l) => l.replace(':', '\t'))));

    const json = await ferry(['consume', 'cli-rt', '--from-beginning', '--max-messages', '20', '--format', 'json', ...bs]);
    expect(json.code).toBe(0);
    const records = lines(json.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toHaveLength(20);
    for (const r of records) {
      expect(Object.keys(r).sort()).toEqual(['headers', 'key', 'offset', 'partition', 'timestamp', 'value']);
      expect(r.headers).toEqual({ src: 'cli' });
      expect(r.value).toBe(`value ${String(r.value).slice(6)}`);
      const i = Number(String(r.value).slice(6));
      expect(r.key).toBe(`k${i % 4}`);
      expect(typeof r.offset).toBe('number');
      expect(typeof r.timestamp).toBe('number');
    }
    // Same key, same partition: each key's records keep their produce order.
    for (const key of ['k0', 'k1', 'k2', 'k3']) {
      const ofKey = records.filter((r) => r.key === key);
      expect(new Set(ofKey.map((r) => r.partition)).size).toBe(1);
      const order = [...ofKey].sort((a, b) => Number(a.offset) - Number(b.offset)).map((r) => Number(String(r.value).slice(6)));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });

  it('starts at --offset, stops at --max-messages, and exits after --timeout-ms', async () => {
    expect((await ferry(['topic', 'create', 'cli-off', '--partitions', '1', ...bs])).code).toBe(0);
    const input = Array.from({ length: 10 }, (_, i) => `m${i}`).join('\n') + '\n';
    expect((await ferry(['produce', 'cli-off', ...bs], input)).code).toBe(0);

    const fromOffset = await ferry(['consume', 'cli-off', '--offset', '7', '--timeout-ms', '1500', ...bs]);
    expect(fromOffset.code).toBe(0);
    expect(lines(fromOffset.stdout)).toEqual(['m7', 'm8', 'm9']);

    const limited = await ferry(['consume', 'cli-off', '--from-beginning', '--max-messages', '4', ...bs]);
    expect(lines(limited.stdout)).toEqual(['m0', 'm1', 'm2', 'm3']);

    // Default start is the latest offset: nothing old arrives, and the idle timeout ends the run.
    const started = Date.now();
    const latest = await ferry(['consume', 'cli-off', '--partition', '0', '--timeout-ms', '1000', ...bs]);
    expect(latest.code).toBe(0);
    expect(latest.stdout).toBe('');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('reports an unknown topic as ferry: CODE: message with exit 1', async () => {
    for (const args of [
      ['consume', 'no-such-topic', '--timeout-ms', '1000'],
      ['topic', 'describe', 'no-such-topic'],
      ['topic', 'delete', 'no-such-topic'],
    ]) {
      const r = await ferry([...args, ...bs]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/^ferry: UNKNOWN_TOPIC_OR_PARTITION: /m);
    }
    const produced = await ferry(['produce', 'no-such-topic', ...bs], 'x\n');
    expect(produced.code).toBe(1);
    expect(produced.stderr).toMatch(/UNKNOWN_TOPIC_OR_PARTITION/);
  });

  it('rejects bad flags with usage', async () => {
    const r = await ferry(['topic', 'create', 'x', '--partitions', 'many', ...bs]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--partitions/);
    expect(r.stderr).toMatch(/Usage: ferry topic create/);
  });
});
