/**
 * One consumer-group member process of the `group` bench (forked by group-members.ts; messages in
 * group-protocol.ts). Joins the group with default consumer configs — except autoOffsetReset
 * 'earliest', since a fresh group must see records written before it joined — and consumes with
 * `run({ eachBatch })`.
 *
 * Every batch is reported to the parent with its keys (offsets or stream sequence numbers) as
 * ranges and the monotonic time it arrived. Reporting as it goes, rather than at the end, is what
 * lets the parent account for a member it SIGKILLs: whatever the member sent before the kill is
 * already in the IPC pipe and still reaches the parent.
 */
import { Ferry } from '../src/client/index.js';
import type { ConsumerRecord, Logger } from '../src/client/types.js';
import { monoMs, SEQ_BYTES, type MemberConfig, type MemberMessage, type MemberParentMessage } from './group-protocol.js';

function send(m: MemberMessage): void {
  process.send?.(m);
}

/** Forwards the SDK's 'joined group' (first heartbeat answered) and its warnings to the parent. */
function reportingLogger(): Logger {
  return {
    debug: () => {},
    info: (obj, msg) => {
      if (msg === 'joined group') send({ type: 'joined', atMs: monoMs(), memberId: String((obj as { memberId?: string }).memberId ?? '') });
    },
    warn: (obj, msg) => send({ type: 'log', atMs: monoMs(), level: 'warn', msg: msg ?? '', obj }),
    error: (obj, msg) => send({ type: 'log', atMs: monoMs(), level: 'error', msg: msg ?? '', obj }),
  };
}

/** Keys of a batch as flattened half-open ranges; one range when they are contiguous (the usual case). */
function keyRanges(records: ConsumerRecord[], key: MemberConfig['key']): number[] {
  const out: number[] = [];
  for (const r of records) {
    const k = key === 'offset' ? r.offset : r.value!.readUIntBE(0, SEQ_BYTES);
    const n = out.length;
    if (n > 0 && out[n - 1] === k) out[n - 1] = k + 1;
    else out.push(k, k + 1);
  }
  return out;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as MemberConfig;
  // The parent gone (Ctrl-C, crash) means nobody will stop us: do not linger as an orphan.
  process.on('disconnect', () => process.exit(0));
  const ferry = new Ferry({ bootstrap: config.bootstrap, clientId: `ferry-bench-${config.name}`, logger: reportingLogger() });
  const consumer = ferry.consumer({ groupId: config.groupId, autoOffsetReset: 'earliest' });
  consumer.on('assigned', (parts) => send({ type: 'assigned', atMs: monoMs(), partitions: parts.map((p) => p.partition) }));
  consumer.on('revoked', (parts, info) => send({ type: 'revoked', atMs: monoMs(), partitions: parts.map((p) => p.partition), lost: info.lost }));

  let onStart!: () => void;
  const started = new Promise<void>((resolve) => (onStart = resolve));
  let running: Promise<void> | undefined;
  process.on('message', (m: MemberParentMessage) => {
    if (m.type === 'start') onStart();
    else if (m.type === 'stop') void stop();
  });
  async function stop(): Promise<void> {
    await consumer.stop();
    await running?.catch(() => undefined);
    await consumer.close().catch(() => undefined); // commits and leaves the group
    await ferry.close().catch(() => undefined);
    // Exit only once 'stopped' is written: gRPC channels could otherwise keep the process alive.
    process.send?.({ type: 'stopped' } satisfies MemberMessage, () => process.exit(0));
  }

  send({ type: 'ready', atMs: monoMs() });
  if (config.waitForStart) await started;
  send({ type: 'subscribing', atMs: monoMs() });
  consumer.subscribe({ topics: [config.topic] });
  running = consumer.run({
    eachBatch: ({ partition, records }) => {
      send({ type: 'batch', atMs: monoMs(), partition, ranges: keyRanges(records, config.key) });
    },
  });
  await running;
}

main().catch((err: unknown) => {
  send({ type: 'failed', error: err instanceof Error ? err.message : String(err) });
  process.exitCode = 1;
  process.disconnect?.();
});
