/**
 * Test harness: real broker processes (`node dist/cmd/ferry.js broker`) on loopback with a temp data
 * directory. The first start binds port 0 and learns the real port from the "broker started" log
 * line; restarts reuse that port so clients reconnect to the same address. Every stderr log line is
 * kept (parsed JSON) for assertions. Processes still running when the test process exits are killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FERRY_BIN = join(REPO_ROOT, 'dist', 'cmd', 'ferry.js');
const START_TIMEOUT_MS = 20_000;

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface StartBrokerOptions {
  /** Broker configs by Kafka-style name, e.g. { 'num.partitions': '3', 'flush.mode': 'os' }. */
  config?: Record<string, string>;
  dataDir?: string;
  port?: number;
  logLevel?: string;
}

export interface BrokerHandle {
  readonly bootstrap: string;
  readonly port: number;
  readonly dataDir: string;
  readonly proc: ChildProcess;
  readonly logs: LogLine[];
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** Send a signal (default SIGKILL) and wait for exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start again on the same port and data dir (after stop/kill). */
  restart(extraConfig?: Record<string, string>): Promise<void>;
  pause(): void;
  resume(): void;
  /** Stop (if running) and remove the data dir. */
  cleanup(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

function spawnBroker(dataDir: string, port: number, opts: StartBrokerOptions, logs: LogLine[]): Promise<{ proc: ChildProcess; port: number }> {
  if (!existsSync(FERRY_BIN)) throw new Error(`${FERRY_BIN} is missing: run npm run build first`);
  const args = [FERRY_BIN, 'broker', '--data-dir', dataDir, '--port', String(port), '--log-level', opts.logLevel ?? 'info'];
  for (const [k, v] of Object.entries(opts.config ?? {})) args.push(`--${k.replace(/\./g, '-')}`, v);
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(proc);
  proc.on('exit', () => running.delete(proc));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`broker did not start within ${START_TIMEOUT_MS} ms; last logs: ${JSON.stringify(logs.slice(-5))}`));
    }, START_TIMEOUT_MS);
    const rl = createInterface({ input: proc.stderr! });
    const raw: string[] = [];
    rl.on('line', (line) => {
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line) as LogLine;
      } catch {
        raw.push(line);
        return;
      }
      logs.push(parsed);
      if (parsed.msg === 'broker started') {
        clearTimeout(timer);
        resolve({ proc, port: parsed.port as number });
      }
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`broker exited during start-up (code ${code}, signal ${signal}): ${raw.join('\n')} ${JSON.stringify(logs.slice(-3))}`));
    });
  });
}

function waitExit(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}

export async function startBroker(opts: StartBrokerOptions = {}): Promise<BrokerHandle> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'ferry-test-'));
  const logs: LogLine[] = [];
  let current = await spawnBroker(dataDir, opts.port ?? 0, opts, logs);
  const port = current.port;
  const handle: BrokerHandle = {
    bootstrap: `127.0.0.1:${port}`,
    port,
    dataDir,
    get proc() {
      return current.proc;
    },
    logs,
    async stop() {
      current.proc.kill('SIGTERM');
      return waitExit(current.proc);
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      current.proc.kill(signal);
      await waitExit(current.proc);
    },
    async restart(extraConfig?: Record<string, string>) {
      if (current.proc.exitCode === null && current.proc.signalCode === null) throw new Error('restart: broker still running');
      current = await spawnBroker(dataDir, port, { ...opts, config: { ...opts.config, ...extraConfig } }, logs);
    },
    pause() {
      current.proc.kill('SIGSTOP');
    },
    resume() {
      current.proc.kill('SIGCONT');
    },
    async cleanup() {
      if (current.proc.exitCode === null && current.proc.signalCode === null) {
        current.proc.kill('SIGKILL');
        await waitExit(current.proc);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}
