/**
 * One chaos run: network, brokers, topic, workload + nemesis for `seconds`, heal, quiet period, stop
 * the producers, let the group catch up, final read, check, write the outputs, clean up.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ferry } from '../src/client/index.js';
import { check, summaryLine, type CheckResult } from './checker.js';
import { ChaosBroker } from './cluster.js';
import { HistoryWriter, readHistory } from './history.js';
import type { LazyfsModel } from './lazyfs.js';
import { createNetwork, type Network } from './net.js';
import { Nemesis, type FaultKind } from './nemesis.js';
import { readReplica } from './replicas.js';
import { Rng } from './rng.js';
import { timelineSvg } from './timeline.js';
import { Workload } from './workload.js';

export interface RunOptions {
  seed: number;
  seconds: number;
  brokers: number;
  flushMode: 'always' | 'os';
  faults: FaultKind[];
  network: 'auto' | 'netns' | 'proxy';
  resultsDir: string;
  shim: string | null;
  lazyfsWhy: string;
  sessionTimeoutMs: number;
  producers: number;
  members: number;
  partitions: number;
  sendIntervalMs: number;
  /** Producers run idempotent (default); then the checker counts duplicates as violations. */
  idempotent: boolean;
  keepLogs: boolean;
  keepData: boolean;
  /** Violation kinds of known bugs that do not fail the run (checker CheckOptions.tolerate). */
  tolerate: string[];
  log: (s: string) => void;
}

export interface RunOutcome {
  seed: number;
  flushMode: string;
  dir: string;
  result: CheckResult | null;
  error: string | null;
  network: string;
  durationS: number;
}

/** Temp data roots of runs in progress: removed on any exit (Ctrl-C included). */
const dataRoots = new Set<string>();
process.on('exit', () => {
  for (const d of dataRoots) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export async function chaosRun(o: RunOptions): Promise<RunOutcome> {
  const started = Date.now();
  const dir = join(o.resultsDir, `seed-${o.seed}-${o.flushMode}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const dataRoot = mkdtempSync(join(tmpdir(), 'ferry-chaos-'));
  dataRoots.add(dataRoot);
  const historyPath = join(dir, 'history.jsonl');
  const h = new HistoryWriter(historyPath);
  const rng = new Rng(o.seed);
  const topic = 'chaos';
  const group = 'chaos-group';
  let net: Network | null = null;
  const brokers: ChaosBroker[] = [];
  let workload: Workload | null = null;
  let nemesis: Nemesis | null = null;
  let error: string | null = null;
  const basePort = 45000 + (process.pid % 90) * 10;
  try {
    net = await createNetwork(o.network, o.brokers, basePort, o.log);
    o.log(`seed ${o.seed}: network ${net.kind} (${net.why}), lazyfs ${o.shim ? 'shim' : 'ack model'}, flush.mode=${o.flushMode}`);
    const config: Record<string, string> = {
      'flush.mode': o.flushMode,
      'log.level': 'info',
      'offsets.topic.num.partitions': '3',
      'broker.session.timeout.ms': String(o.sessionTimeoutMs),
      'auto.create.topics.enable': 'false',
    };
    for (let n = 1; n <= o.brokers; n++) brokers.push(new ChaosBroker(n, join(dataRoot, `node-${n}`), dir, net, config, o.shim));
    await Promise.all(brokers.map((b) => b.start()));
    await until('every broker unfenced', () => brokers.every((b) => !b.fenced), 30_000);
    const bootstrap = brokers.map((b) => b.address);
    h.add({ type: 'run', seed: o.seed, seconds: o.seconds, brokers: o.brokers, flushMode: o.flushMode, faults: o.faults, network: `${net.kind}: ${net.why}`, lazyfs: o.lazyfsWhy, topic, partitions: o.partitions, group, idempotent: o.idempotent });
    workload = new Workload({ bootstrap, topic, partitions: o.partitions, group, producers: o.producers, members: o.members, sendIntervalMs: o.sendIntervalMs, window: 32, idempotent: o.idempotent }, h);
    await workload.createTopic(Math.min(3, o.brokers));
    const meta = new Ferry({ bootstrap, clientId: 'chaos-nemesis', requestTimeoutMs: 2_000, connectTimeoutMs: 1_000 });
    nemesis = new Nemesis(brokers, net, rng.fork(1), h, {
      kinds: o.faults,
      sessionTimeoutMs: o.sessionTimeoutMs,
      lazyfsModel: (o.shim ? 'shim' : 'ack') as LazyfsModel,
      flushMode: o.flushMode,
      leaders: async () => {
        const m = await meta.admin().metadata([topic]);
        return [...new Set(m.topics.flatMap((t) => t.partitions.map((p) => p.leaderId)).filter((id) => id > 0))];
      },
    });
    h.add({ type: 'phase', name: 'start' });
    workload.start();
    if (o.faults.length > 0) nemesis.start();
    await sleep(o.seconds * 1000);
    await nemesis.stopAndHeal();
    h.add({ type: 'phase', name: 'faults-end' });
    o.log(`seed ${o.seed}: faults healed (${JSON.stringify(nemesis.counts)}); quiet period`);
    await until('every broker unfenced after the heal', () => brokers.every((b) => !b.fenced && b.state === 'running'), 60_000).catch((err: Error) => h.add({ type: 'note', text: err.message }));
    await sleep(5000);
    await workload.stopProducers();
    h.add({ type: 'phase', name: 'producers-stopped' });
    const caughtUp = await workload.waitGroupCaughtUp(30_000);
    if (!caughtUp) h.add({ type: 'note', text: 'the group did not catch up within 30 s' });
    await workload.stopGroup();
    // Followers that were cut off or crashed may still be truncating and catching up: the final
    // read and the replica comparison wait for full ISRs (a replica out of the ISR is only counted).
    const isrFull = await workload.waitIsrFull(30_000);
    if (!isrFull) h.add({ type: 'note', text: 'some ISR was still short of its replicas 30 s after the producers stopped' });
    h.add({ type: 'phase', name: 'final-read' });
    await workload.finalRead(60_000);
    await meta.close().catch(() => undefined);
  } catch (err) {
    error = (err as Error).stack ?? String(err);
    h.add({ type: 'note', text: `harness error: ${error}` });
    o.log(`seed ${o.seed}: harness error: ${(err as Error).message}`);
  } finally {
    await nemesis?.abort().catch(() => undefined);
    await workload?.close().catch(() => undefined);
    await Promise.all(brokers.map((b) => b.kill().catch(() => undefined)));
    {
      // Every replica, straight from the files (SIGKILL leaves the page cache, so nothing is cut);
      // also after a harness error: without a final read, the checker still finds acknowledged
      // records that no replica holds any more.
      for (const b of brokers) {
        for (let p = 0; p < o.partitions; p++) {
          try {
            const r = readReplica(b.dataDir, topic, p);
            if (r) h.add({ type: 'replica', node: b.node, partition: p, start: r.start, ids: r.ids, stoppedAt: r.stoppedAt });
          } catch (err) {
            h.add({ type: 'note', text: `reading node ${b.node}'s replica of partition ${p}: ${(err as Error).message}` });
          }
        }
      }
    }
    h.close();
    await net?.teardown().catch(() => undefined);
  }
  let result: CheckResult | null = null;
  try {
    const events = readHistory(historyPath);
    result = check(events, { tolerate: o.tolerate });
    writeFileSync(join(dir, 'timeline.svg'), timelineSvg(events, result, `ferry chaos seed ${o.seed}, ${o.brokers} brokers, flush.mode=${o.flushMode}, faults ${o.faults.join(',')}, ${o.seconds} s`));
    writeFileSync(join(dir, 'summary.txt'), summaryLine(result) + '\n' + [...result.violations, ...result.known.map((k) => `(tolerated) ${k}`)].join('\n') + (error ? `\nharness error: ${error}\n` : '\n'));
    writeFileSync(join(dir, 'result.json'), JSON.stringify({ ...result, flushMode: o.flushMode, error }, null, 2));
  } catch (err) {
    error ??= (err as Error).stack ?? String(err);
  }
  const failed = error !== null || !result?.ok;
  if (!failed && !o.keepLogs) {
    for (const b of brokers) rmSync(join(dir, `broker-${b.node}.log`), { force: true });
  }
  for (const b of brokers) rmSync(b.fsyncLog, { force: true });
  if (!failed || !o.keepData) rmSync(dataRoot, { recursive: true, force: true });
  else o.log(`seed ${o.seed}: data dirs kept in ${dataRoot}`);
  dataRoots.delete(dataRoot); // removed, or kept on purpose
  return { seed: o.seed, flushMode: o.flushMode, dir, result, error, network: net ? net.kind : 'none', durationS: Math.round((Date.now() - started) / 1000) };
}
