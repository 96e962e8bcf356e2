/**
 * Where cluster-wide requests (metadata, admin, FindCoordinator) may go: the brokers named by the
 * last metadata response plus the bootstrap list, live ones first.
 *
 * The bootstrap list is only a way in: once a metadata response arrives, its broker list replaces
 * the known brokers (a broker missing from it has left or is fenced), and the bootstrap addresses
 * stay behind them as a fallback for when every known broker is gone.
 *
 * Liveness is what this client saw, nothing more: an address whose connection or request failed is
 * moved to the back (oldest failure first, so failed addresses are retried in turn) until a request
 * to it succeeds again. Nothing is ever dropped, so a restarted broker is found again.
 */

/** Hosts a broker may advertise that mean "the address you reached me on". */
const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::', '[::]']);

export function hostOf(address: string): string {
  const i = address.lastIndexOf(':');
  return i < 0 ? address : address.slice(0, i);
}

/**
 * `host:port` to dial for an advertised `host` and `port`. A wildcard host (a broker listening on
 * every interface) means the host of `askedAddress`, the broker that gave the answer.
 */
export function advertisedAddress(host: string, port: number, askedAddress: string): string {
  return `${WILDCARD_HOSTS.has(host) ? hostOf(askedAddress) : host}:${port}`;
}

/** `advertisedAddress` for a `host:port` string (e.g. an error's leader hint); '' stays ''. */
export function normalizeAddress(address: string, askedAddress: string): string {
  if (address === '') return '';
  const i = address.lastIndexOf(':');
  if (i < 0) return address;
  return advertisedAddress(address.slice(0, i), Number(address.slice(i + 1)), askedAddress);
}

export class BrokerAddresses {
  /** node id → address, from the last metadata response that listed brokers. */
  private known = new Map<number, string>();
  /** address → when a request to it last failed (ms); absent = no failure since its last success. */
  private readonly failedAtMs = new Map<string, number>();

  constructor(private readonly bootstrap: readonly string[]) {}

  /** Replaces the known brokers with a metadata response's list (an empty list changes nothing). */
  setBrokers(brokers: Iterable<{ nodeId: number; address: string }>): void {
    const next = new Map<number, string>();
    for (const b of brokers) next.set(b.nodeId, b.address);
    if (next.size > 0) this.known = next;
  }

  addressOf(nodeId: number): string | undefined {
    return this.known.get(nodeId);
  }

  /** Every address to try, in order: live known brokers, live bootstrap ones, then failed ones. */
  candidates(): string[] {
    const all = new Set<string>(this.known.values());
    for (const b of this.bootstrap) all.add(b);
    const live: string[] = [];
    const failed: string[] = [];
    for (const a of all) (this.failedAtMs.has(a) ? failed : live).push(a);
    failed.sort((a, b) => this.failedAtMs.get(a)! - this.failedAtMs.get(b)!);
    return [...live, ...failed];
  }

  markFailed(address: string, nowMs: number = Date.now()): void {
    this.failedAtMs.delete(address); // re-insert: a second failure moves it behind the others
    this.failedAtMs.set(address, nowMs);
  }

  markOk(address: string): void {
    this.failedAtMs.delete(address);
  }
}
