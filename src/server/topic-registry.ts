/**
 * The single-node broker's topic catalogue: name, id, partition count, replication factor and the
 * topic's config overrides. Persisted as `<data.dir>/__cluster/topics.json`, rewritten atomically
 * on every change (writes go through one SerialExecutor). It is the source of truth at start-up: logs
 * for a listed topic that are missing are created, log directories of topics not listed are removed.
 * (The replicated-cluster issue replaces this file with the Raft metadata log.)
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomically } from '../util/atomic-file.js';
import { SerialExecutor } from '../util/serial-executor.js';

export interface TopicRecord {
  name: string;
  id: string;
  partitions: number;
  replicationFactor: number;
  /** Topic-level overrides as given (validated on the way in). */
  configs: Record<string, string>;
  createdAtMs: number;
}

interface RegistryFile {
  version: 1;
  topics: TopicRecord[];
}

export const CLUSTER_DIR_NAME = '__cluster';

export class TopicRegistry {
  private readonly topics = new Map<string, TopicRecord>();
  private readonly writes = new SerialExecutor();

  private constructor(private readonly path: string) {}

  static async open(dataDir: string): Promise<TopicRegistry> {
    const dir = join(dataDir, CLUSTER_DIR_NAME);
    await fsp.mkdir(dir, { recursive: true });
    const registry = new TopicRegistry(join(dir, 'topics.json'));
    let text: string | undefined;
    try {
      text = await fsp.readFile(registry.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      const parsed = JSON.parse(text) as RegistryFile;
      for (const t of parsed.topics) registry.topics.set(t.name, t);
    }
    return registry;
  }

  get(name: string): TopicRecord | undefined {
    return this.topics.get(name);
  }

  list(): TopicRecord[] {
    return [...this.topics.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  create(spec: Omit<TopicRecord, 'id' | 'createdAtMs'>): Promise<TopicRecord> {
    const record: TopicRecord = { ...spec, id: randomUUID(), createdAtMs: Date.now() };
    return this.mutate(() => {
      this.topics.set(record.name, record);
      return record;
    });
  }

  delete(name: string): Promise<void> {
    return this.mutate(() => {
      this.topics.delete(name);
    });
  }

  update(name: string, change: Partial<Pick<TopicRecord, 'partitions' | 'configs'>>): Promise<TopicRecord> {
    return this.mutate(() => {
      const current = this.topics.get(name);
      if (!current) throw new Error(`topic ${name} vanished during update`);
      const next = { ...current, ...change };
      this.topics.set(name, next);
      return next;
    });
  }

  private mutate<T>(change: () => T): Promise<T> {
    // The in-memory change is applied inside the queue so a failed write cannot interleave with the
    // next change; on a write failure the in-memory state is restored.
    return this.writes.run(async () => {
      const before = new Map(this.topics);
      const result = change();
      try {
        const file: RegistryFile = { version: 1, topics: this.list() };
        await writeFileAtomically(this.path, JSON.stringify(file, null, 2));
      } catch (err) {
        this.topics.clear();
        for (const [k, v] of before) this.topics.set(k, v);
        throw err;
      }
      return result;
    });
  }
}
