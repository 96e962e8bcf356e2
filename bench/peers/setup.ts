/**
 * Makes sure the peers can run: the Debian packages `redis-server`, `nats-server` and
 * `rabbitmq-server` (installed with apt-get when missing: noninteractive, no recommends; needs root)
 * and the Node clients `ioredis`, `nats`, `amqplib` (devDependencies: `npm install`). Also reads the
 * versions that go into the report. Installing a package never starts a server we use: the bench
 * runs its own processes on free loopback ports (servers.ts).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { PeerSystem, SystemName } from './types.js';
import type { SystemInfo } from './results.js';

/** What each peer needs on disk, and the Debian package that provides it. */
const BINARIES: Partial<Record<SystemName, { pkg: string; paths: string[] }>> = {
  redis: { pkg: 'redis-server', paths: ['redis-server'] },
  nats: { pkg: 'nats-server', paths: ['nats-server'] },
  rabbitmq: { pkg: 'rabbitmq-server', paths: ['/usr/lib/rabbitmq/bin/rabbitmq-server', 'epmd'] },
};

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function onPath(binary: string): boolean {
  if (binary.startsWith('/')) return existsSync(binary);
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, binary)));
}

/** Debian packages missing for these systems. */
export function missingPackages(systems: SystemName[]): string[] {
  const pkgs = new Set<string>();
  for (const s of systems) {
    const need = BINARIES[s];
    if (need && !need.paths.every(onPath)) pkgs.add(need.pkg);
  }
  return [...pkgs];
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}

/** Installs missing peer packages with apt-get (root only), or explains what to run. */
export async function ensurePeersInstalled(systems: SystemName[], install: boolean): Promise<void> {
  const missing = missingPackages(systems);
  if (missing.length === 0) return;
  const command = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (!install) throw new Error(`missing peer packages: ${missing.join(', ')}; run as root: ${command}`);
  if (process.getuid?.() !== 0) throw new Error(`missing peer packages: ${missing.join(', ')}; installing needs root: sudo sh -c '${command}'`);
  process.stderr.write(`installing ${missing.join(', ')} with apt-get...\n`);
  await run('apt-get', ['update']);
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing]);
  const still = missingPackages(systems);
  if (still.length > 0) throw new Error(`still missing after apt-get: ${still.join(', ')}`);
}

async function packageVersion(name: string): Promise<string> {
  try {
    const json = JSON.parse(await readFile(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string };
    return json.version ?? '?';
  } catch {
    return 'not installed (npm install)';
  }
}

export async function systemInfo(system: PeerSystem): Promise<SystemInfo> {
  const server = await system.serverVersion().catch((err: unknown) => `unknown (${err instanceof Error ? err.message : String(err)})`);
  const pkg = system.clientPackage.split(' ')[0]!;
  const client = pkg === 'ferry' ? system.clientPackage : `${pkg} ${await packageVersion(pkg)}`;
  return { server, client };
}

/** Kernel and distribution for the report (os.release() has the kernel already; this adds the distro). */
export async function distribution(): Promise<string> {
  try {
    const text = await readFile('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? 'unknown';
  } catch {
    return (await promisify(execFile)('uname', ['-sr']).catch(() => ({ stdout: 'unknown' }))).stdout.trim();
  }
}
