// The Raft hard state (current term, vote) in `quorum-state` — Kafka's file name and, like it, a small
// JSON document: {"version":1,"term":7,"votedFor":2}. Written atomically (temp file, fsync, rename,
// fsync dir), so after a crash it holds the old or the new state, never a mix; the host awaits the
// write before sending any message of the step that changed it (a vote is granted only once on disk).
// A missing file is the initial state (term 0, no vote); an unreadable one throws — guessing a term
// or a vote could make this node vote twice in one term.

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomically } from '../../util/atomic-file.js';
import type { HardState } from '../raft/index.js';

export const HARD_STATE_FILE = 'quorum-state';
const VERSION = 1;

export async function readHardState(dir: string): Promise<HardState> {
  let text: string;
  try {
    text = await fsp.readFile(join(dir, HARD_STATE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { term: 0, votedFor: null };
    throw err;
  }
  const parsed = JSON.parse(text) as { version?: unknown; term?: unknown; votedFor?: unknown };
  const { term, votedFor } = parsed;
  if (parsed.version !== VERSION || !Number.isSafeInteger(term) || (term as number) < 0 || !(votedFor === null || Number.isSafeInteger(votedFor))) {
    throw new Error(`${join(dir, HARD_STATE_FILE)} is not a valid raft quorum state: ${text.slice(0, 200)}`);
  }
  return { term: term as number, votedFor: votedFor as number | null };
}

export async function writeHardState(dir: string, state: HardState): Promise<void> {
  const body = JSON.stringify({ version: VERSION, term: state.term, votedFor: state.votedFor });
  await writeFileAtomically(join(dir, HARD_STATE_FILE), body);
}
