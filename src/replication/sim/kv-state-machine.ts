// The toy replicated state machine: a string→string map fed with "key=value" commands, plus a
// rolling digest of every applied entry so two nodes at the same applied index can be compared in
// O(1) (state machine safety). Snapshots are JSON; restoring one resets map, index and digest.

import type { LogEntry, LogIndex, Snapshot } from '../raft/index.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(text: string): Uint8Array {
  return encoder.encode(text);
}

export function entryDigest(entry: LogEntry): string {
  return entry.kind === 'noop' ? `noop@${entry.term}` : decoder.decode(entry.data);
}

/** FNV-1a over the previous digest and the entry, as a 32-bit hex string. */
function chain(previous: number, text: string): number {
  let h = previous ^ 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

export class KvStateMachine {
  appliedIndex: LogIndex = 0;
  digest = 0;
  readonly map = new Map<string, string>();

  apply(entries: readonly LogEntry[]): void {
    for (const entry of entries) {
      if (entry.index !== this.appliedIndex + 1) throw new Error(`apply ${entry.index} after ${this.appliedIndex}`);
      const text = entryDigest(entry);
      if (entry.kind === 'command') {
        const eq = text.indexOf('=');
        this.map.set(text.slice(0, eq), text.slice(eq + 1));
      }
      this.digest = chain(this.digest, `${entry.index}:${entry.term}:${text}`);
      this.appliedIndex = entry.index;
    }
  }

  snapshot(term: number): Snapshot {
    const body = JSON.stringify({ index: this.appliedIndex, digest: this.digest, map: [...this.map] });
    return { index: this.appliedIndex, term, data: encoder.encode(body) };
  }

  restore(snapshot: Snapshot | null): void {
    this.map.clear();
    this.appliedIndex = 0;
    this.digest = 0;
    if (!snapshot) return;
    const body = JSON.parse(decoder.decode(snapshot.data)) as { index: number; digest: number; map: [string, string][] };
    if (body.index !== snapshot.index) throw new Error('snapshot body and header disagree');
    for (const [k, v] of body.map) this.map.set(k, v);
    this.appliedIndex = body.index;
    this.digest = body.digest;
  }
}
