/**
 * The broker's claim on its data directory.
 * - `.lock` names the owning process (data-dir-lock.ts): a second broker on the same directory
 *   refuses to start; a stale lock (dead owner, reboot, reused pid) is taken over, and logged.
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
import { acquireDataDirLock } from './data-dir-lock.js';

export interface DataDirClaim {
  clusterId: string;
  release(): Promise<void>;
}

/** `initialClusterId` (when non-empty) is written into a fresh directory instead of a random id; an existing one keeps its own. */
export async function claimDataDir(dataDir: string, nodeId: number, logger: Logger, initialClusterId = ''): Promise<DataDirClaim> {
  await fsp.mkdir(dataDir, { recursive: true });
  const lockPath = join(dataDir, '.lock');
  await acquireDataDirLock(lockPath, logger);
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
