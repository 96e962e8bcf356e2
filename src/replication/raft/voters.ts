// controller.quorum.voters parsing: Kafka's "id@host:port,id@host:port" format. The voter set is
// fixed by configuration (no membership changes yet), so every node must be given the same list.

export interface VoterAddress {
  readonly id: number;
  readonly host: string;
  readonly port: number;
}

/** Throws Error with a message naming the bad element; the config layer wraps it. */
export function parseQuorumVoters(value: string): VoterAddress[] {
  const voters: VoterAddress[] = [];
  const parts = value.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  if (parts.length === 0) throw new Error('controller.quorum.voters is empty');
  for (const part of parts) {
    const match = /^(\d+)@(\[[^\]]+\]|[^:@\s]+):(\d+)$/.exec(part);
    if (!match) throw new Error(`controller.quorum.voters: '${part}' is not id@host:port`);
    const id = Number(match[1]);
    const host = match[2]!.startsWith('[') ? match[2]!.slice(1, -1) : match[2]!;
    const port = Number(match[3]);
    if (!Number.isSafeInteger(id) || id < 0) throw new Error(`controller.quorum.voters: bad id in '${part}'`);
    if (port < 1 || port > 65535) throw new Error(`controller.quorum.voters: bad port in '${part}'`);
    if (voters.some((v) => v.id === id)) throw new Error(`controller.quorum.voters: duplicate id ${id}`);
    voters.push({ id, host, port });
  }
  return voters;
}

export function majorityOf(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}
