// A bounded ring of recent simulator events, formatted only when a seed fails (formatting every
// event would dominate the cost of a run).

import type { RaftMessage } from '../raft/index.js';

export type TraceItem =
  | { readonly at: number; readonly kind: 'msg'; readonly message: RaftMessage; readonly fate: 'deliver' | 'drop' | 'dup' }
  | { readonly at: number; readonly kind: 'note'; readonly node: number | null; readonly text: string };

/** Recent events kept for a failure report. */
export const TRACE_ITEMS_MAX = 400;

export class Trace {
  private readonly items: TraceItem[] = [];
  private next = 0;

  add(item: TraceItem): void {
    if (this.items.length < TRACE_ITEMS_MAX) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % TRACE_ITEMS_MAX;
  }

  note(at: number, node: number | null, text: string): void {
    this.add({ at, kind: 'note', node, text });
  }

  format(limit = TRACE_ITEMS_MAX): string[] {
    const ordered = this.items.length < TRACE_ITEMS_MAX ? this.items : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
    return ordered.slice(-limit).map(formatItem);
  }
}

function formatItem(item: TraceItem): string {
  const t = `t=${String(item.at).padStart(6)}`;
  if (item.kind === 'note') return `${t} ${item.node === null ? '  ' : `n${item.node}`} ${item.text}`;
  const m = item.message;
  const head = `${t} ${m.from}->${m.to} ${item.fate.padEnd(7)} ${m.type} t${m.term}`;
  switch (m.type) {
    case 'vote_request': return `${head} ${m.preVote ? 'pre ' : ''}last=${m.lastLogIndex}/${m.lastLogTerm}`;
    case 'vote_response': return `${head} ${m.preVote ? 'pre ' : ''}req=t${m.requestTerm} ${m.granted ? 'GRANT' : 'reject'}`;
    case 'append_request': {
      const span = m.entries.length === 0 ? '' : ` [${m.entries[0]!.index}..${m.entries[m.entries.length - 1]!.index}]`;
      return `${head} prev=${m.prevLogIndex}/${m.prevLogTerm} n=${m.entries.length}${span} commit=${m.leaderCommit}`;
    }
    case 'append_response':
      return m.success ? `${head} ok match=${m.matchIndex} appended=${m.appendedIndex}` : `${head} REJECT conflict=${m.conflictIndex}/${m.conflictTerm}`;
    case 'snapshot_request': return `${head} snap=${m.lastIncludedIndex}/${m.lastIncludedTerm} off=${m.offset} len=${m.data.length}${m.done ? ' done' : ''}`;
    case 'snapshot_response': return `${head} snap=${m.lastIncludedIndex} next=${m.nextOffset}${m.done ? ' done' : ''}`;
  }
}
