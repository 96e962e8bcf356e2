/**
 * Server processes the peer bench owns: spawned in their own process group with output to a log
 * file in a fresh temp directory, polled until a readiness probe passes, and stopped as a whole
 * group (SIGTERM, then SIGKILL after `STOP_GRACE_MS`) with the directory removed. Never the
 * system's service: every server here listens on 127.0.0.1 on a port picked free a moment before.
 *
 * `ServerRegistry` remembers every server started so the entry point can stop them all on Ctrl-C,
 * SIGTERM or an error, and no peer outlives the bench.
 */
import { freePort } from '../free-port.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerHandle } from './types.js';

/** A server not ready after this long fails the bench (RabbitMQ boots in ~5 s here). */
export const READY_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 200;
const STOP_GRACE_MS = 15_000;
const LOG_TAIL_BYTES = 3000;

export interface SpawnSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** The data directory made for this server (removed on stop). */
  dir: string;
  /** Resolves when the server answers; throws (or rejects) while it does not yet. */
  probe: () => Promise<void>;
  /** Extra clean-up after the process group is gone. */
  afterStop?: () => Promise<void>;
}

export async function makeServerDir(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `ferry-peer-${name}-`));
}

export class ServerProcess implements ServerHandle {
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly name: string,
    readonly endpoint: string,
    readonly dataDir: string,
    readonly logFile: string,
    private readonly child: ChildProcess,
    private readonly afterStop: (() => Promise<void>) | undefined,
  ) {}

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  static async start(spec: SpawnSpec, endpoint: string): Promise<ServerProcess> {
    const logFile = join(spec.dir, `${spec.name}.log`);
    const fd = openSync(logFile, 'a');
    // detached: its own process group, so stop() reaches helpers it forks (RabbitMQ's beam.smp).
    const child = spawn(spec.command, spec.args, { stdio: ['ignore', fd, fd], env: spec.env ?? process.env, detached: true });
    closeSync(fd);
    const server = new ServerProcess(spec.name, endpoint, spec.dir, logFile, child, spec.afterStop);
    serverRegistry.add(server);
    await server.waitReady(spec.probe);
    return server;
  }

  private async waitReady(probe: () => Promise<void>): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let lastError = '';
    while (Date.now() < deadline && this.running) {
      try {
        await probe();
        return;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      }
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
    const why = this.running ? `not ready after ${READY_TIMEOUT_MS} ms (${lastError})` : 'exited during start-up';
    const tail = this.logTail();
    await this.stop();
    throw new Error(`${this.name} ${why}; log tail:\n${tail}`);
  }

  logTail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').slice(-LOG_TAIL_BYTES);
    } catch {
      return '(no log)';
    }
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    if (this.running) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      signalGroup(this.child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(this.child, 'SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    // Helpers left in the group after the leader exited (e.g. erl_child_setup) go too.
    signalGroup(this.child, 'SIGKILL');
    await this.afterStop?.().catch(() => undefined);
    serverRegistry.delete(this);
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Every server started and not yet stopped, for stopAll() on exit paths. */
export { freePort };

const serverRegistry = new Set<ServerProcess>();

export async function stopAllServers(): Promise<void> {
  await Promise.all([...serverRegistry].map((s) => s.stop().catch(() => undefined)));
}

