// On-disk format of one Raft log entry inside a segment file (file-raft-log.ts):
//
//   u32 BE  bodyLength     bytes after the crc field (>= ENTRY_BODY_HEADER_BYTES)
//   u32 BE  crc32c(body)   CRC-32C (Castagnoli) of the body, as RecordBatch v2 uses it
//   body:
//     u64 BE  index        1-based, contiguous within and across segments
//     u64 BE  term         never decreases along the log
//     u8      kind         0 = command, 1 = noop
//     ...     data         the state machine's bytes (empty for a noop)
//
// `scanEntries` walks a segment's bytes and stops at the first record that is torn (fewer bytes
// than it claims, e.g. a crash mid-write), implausible (bad length or kind), CRC-bad (bit rot, a
// flipped byte) or out of sequence (wrong index, decreasing term). Recovery truncates there: the
// tail after a bad record cannot be trusted to be contiguous.

import { crc32c } from '../../protocol/crc32c.js';
import type { LogEntry, LogIndex, Term } from '../raft/index.js';

export const ENTRY_FRAME_BYTES = 8;
export const ENTRY_BODY_HEADER_BYTES = 17;
/** Upper bound of a plausible entry body: a corrupt length must not make recovery allocate GiBs. */
export const ENTRY_BODY_MAX_BYTES = 64 * 1024 * 1024;

const KIND_COMMAND = 0;
const KIND_NOOP = 1;

export function encodedEntryBytes(entry: LogEntry): number {
  return ENTRY_FRAME_BYTES + ENTRY_BODY_HEADER_BYTES + entry.data.length;
}

/** Encodes `entries` back to back into one buffer (one write per appendLog effect). */
export function encodeEntries(entries: readonly LogEntry[]): Buffer {
  let total = 0;
  for (const e of entries) total += encodedEntryBytes(e);
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const e of entries) {
    const bodyLength = ENTRY_BODY_HEADER_BYTES + e.data.length;
    if (bodyLength > ENTRY_BODY_MAX_BYTES) throw new RangeError(`raft entry ${e.index} is ${bodyLength} bytes (max ${ENTRY_BODY_MAX_BYTES})`);
    const bodyAt = at + ENTRY_FRAME_BYTES;
    out.writeUInt32BE(bodyLength, at);
    out.writeBigUInt64BE(BigInt(e.index), bodyAt);
    out.writeBigUInt64BE(BigInt(e.term), bodyAt + 8);
    out.writeUInt8(e.kind === 'noop' ? KIND_NOOP : KIND_COMMAND, bodyAt + 16);
    out.set(e.data, bodyAt + ENTRY_BODY_HEADER_BYTES);
    out.writeUInt32BE(crc32c(out.subarray(bodyAt, bodyAt + bodyLength)), at + 4);
    at = bodyAt + bodyLength;
  }
  return out;
}

export type ScanStop = 'end' | 'torn' | 'invalid' | 'crc' | 'sequence';

export interface ScannedEntry {
  readonly entry: LogEntry;
  /** Byte position of the record in the segment. */
  readonly position: number;
}

export interface ScanResult {
  readonly entries: ScannedEntry[];
  /** Bytes up to the end of the last good record (the length to truncate the file to). */
  readonly validBytes: number;
  readonly stop: ScanStop;
}

/**
 * Decodes the records of one segment whose first entry must be `expectedIndex` and whose terms
 * must not go below `minTerm`. Entry data are copies (the segment buffer is not kept alive).
 */
export function scanEntries(bytes: Buffer, expectedIndex: LogIndex, minTerm: Term): ScanResult {
  const entries: ScannedEntry[] = [];
  let pos = 0;
  let next = expectedIndex;
  let lastTerm = minTerm;
  const stopAt = (stop: ScanStop): ScanResult => ({ entries, validBytes: pos, stop });
  while (pos < bytes.length) {
    if (bytes.length - pos < ENTRY_FRAME_BYTES) return stopAt('torn');
    const bodyLength = bytes.readUInt32BE(pos);
    if (bodyLength < ENTRY_BODY_HEADER_BYTES || bodyLength > ENTRY_BODY_MAX_BYTES) return stopAt('invalid');
    const bodyAt = pos + ENTRY_FRAME_BYTES;
    if (bytes.length - bodyAt < bodyLength) return stopAt('torn');
    const body = bytes.subarray(bodyAt, bodyAt + bodyLength);
    if (crc32c(body) !== bytes.readUInt32BE(pos + 4)) return stopAt('crc');
    const index = Number(body.readBigUInt64BE(0));
    const term = Number(body.readBigUInt64BE(8));
    const kind = body.readUInt8(16);
    if (kind !== KIND_COMMAND && kind !== KIND_NOOP) return stopAt('invalid');
    if (index !== next || term < lastTerm) return stopAt('sequence');
    const data = Uint8Array.prototype.slice.call(body, ENTRY_BODY_HEADER_BYTES);
    entries.push({ entry: { index, term, kind: kind === KIND_NOOP ? 'noop' : 'command', data }, position: pos });
    pos = bodyAt + bodyLength;
    next++;
    lastTerm = term;
  }
  return stopAt('end');
}
