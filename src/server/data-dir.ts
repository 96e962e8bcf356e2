/**
 * The broker's claim on its data directory.
 * - `.lock` holds the owning pid: a second broker on the same directory refuses to start (a stale
 *   lock from a dead process is taken over, and logged).
 * - `meta.properties` pins cluster.id and node.id: starting with a different node.id is refused,
 *   because the logs there belong to another broker identity.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parsePropertiesFile } from '../config/broker-config.js';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { writeFileAtomically } from '../util/atomic-file.js';

export interface DataDirClaim {
  clusterId: string;
  release(): Promise<void>;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function acquireLock(path: string, logger: Logger): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await fsp.open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await fsp.readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && pidAlive(owner)) {
        throw new FerryError(ErrorCode.INVALID_CONFIG, `data directory is in use by another broker (pid ${owner}); lock file ${path}`);
      }
      logger.warn({ lock: path, stalePid: owner }, 'taking over a stale data-directory lock (previous broker did not shut down cleanly)');
      await fsp.rm(path, { force: true });
    }
  }
  throw new FerryError(ErrorCode.INVALID_CONFIG, `could not lock data directory (${path})`);
}

/** `initialClusterId` (when non-empty) is written into a fresh directory instead of a random id; an existing one keeps its own. */
export async function claimDataDir(dataDir: string, nodeId: number, logger: Logger, initialClusterId = ''): Promise<DataDirClaim> {
  await fsp.mkdir(dataDir, { recursive: true });
  const lockPath = join(dataDir, '.lock');
  await acquireLock(lockPath, logger);
  const metaPath = join(dataDir, 'meta.properties');
  let clusterId: string;
  const existing = await fsp.readFile(metaPath, 'utf8').catch(() => undefined);
  if (existing !== undefined) {
    const meta = parsePropertiesFile(existing);
    if (meta['node.id'] !== undefined && Number(meta['node.id']) !== nodeId) {
      await fsp.rm(lockPath, { force: true });
      throw new FerryError(ErrorCode.INVALID_CONFIG, `data directory ${dataDir} belongs to node.id=${meta['node.id']}, not ${nodeId}`);
    }
    clusterId = meta['cluster.id'] ?? '';
  } else {
    clusterId = initialClusterId || randomBytes(16).toString('base64url');
    await writeFileAtomically(metaPath, `# written by Ferry at first start; do not edit\nversion=1\ncluster.id=${clusterId}\nnode.id=${nodeId}\n`);
    logger.info({ clusterId, nodeId, dataDir }, 'initialised a new data directory');
  }
  return {
    clusterId,
    release: () => fsp.rm(lockPath, { force: true }),
  };
}
