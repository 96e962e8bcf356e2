/**
 * The network between brokers, and how to cut it.
 *
 * - `netns` (preferred, needs root, `ip` and `iptables`): one network namespace per broker on a
 *   private bridge (10.77.X.0/24, X picked free), a veth pair each; broker N binds and advertises
 *   10.77.X.N. The harness (host namespace, 10.77.X.254) reaches every broker over the bridge and is
 *   never cut. `cut(a, b)` = `iptables -A INPUT -s 10.77.X.a -j DROP` inside b's namespace: packets
 *   from a to b are dropped (TCP then stalls both ways, as on a real network). Heal = flush INPUT.
 * - `proxy` (fallback): brokers bind 127.0.0.1 on their own ports and advertise a user-space TCP
 *   proxy's port instead; every broker-to-broker and client connection goes through the proxy of its
 *   destination. The proxy tells which broker opened a connection from the source port's socket in
 *   /proc (its owner pid). `cut(a, b)` stops forwarding bytes from a to b on every connection
 *   between them (they wait in the proxy and flow again after the heal, like TCP retransmits).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';

export interface Network {
  readonly kind: 'netns' | 'proxy';
  /** Why this kind was chosen (for the history and the report). */
  readonly why: string;
  /** Where the harness reaches broker n. */
  clientAddress(n: number): string;
  /** Broker configs for node n (host, port, advertised address, voters). */
  brokerConfig(n: number): Record<string, string>;
  /** The command that starts node n's process. */
  wrap(n: number, cmd: string, args: string[]): { cmd: string; args: string[] };
  /** The pid of node n's broker, once spawned (the proxy needs it). */
  setPid(n: number, pid: number | undefined): void;
  /** Drop traffic from a to b. */
  cut(from: number, to: number): void;
  healAll(): void;
  teardown(): Promise<void>;
}

function sh(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function tryRun(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

function haveCommand(name: string): boolean {
  return tryRun('sh', ['-c', `command -v ${name}`]);
}

/** iptables, installed with apt-get when missing (root only). */
function ensureIptables(log: (s: string) => void): boolean {
  if (haveCommand('iptables')) return true;
  if (!haveCommand('apt-get')) return false;
  log('iptables missing: apt-get install -y iptables');
  tryRun('sh', ['-c', 'apt-get install -y --no-install-recommends iptables >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends iptables >/dev/null 2>&1)']);
  return haveCommand('iptables');
}

export class NetnsNetwork implements Network {
  readonly kind = 'netns';
  private readonly ns: string[] = [];
  private readonly veths: string[] = [];
  private bridgeUp = false;
  private forwardRule = false;

  private constructor(
    readonly why: string,
    private readonly x: number,
    private readonly size: number,
    private readonly port: number,
  ) {}

  get bridge(): string {
    return `fcbr${this.x}`;
  }

  nsName(n: number): string {
    return `fc${this.x}n${n}`;
  }

  addr(n: number): string {
    return `10.77.${this.x}.${n}`;
  }

  static create(size: number, port: number, log: (s: string) => void): NetnsNetwork {
    if (process.getuid?.() !== 0) throw new Error('not root');
    if (!haveCommand('ip')) throw new Error('no ip command');
    if (!ensureIptables(log)) throw new Error('no iptables');
    const used = execFileSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' });
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    const start = 100 + (process.pid % 100);
    let x = -1;
    for (let i = 0; i < 100; i++) {
      const c = 100 + ((start - 100 + i) % 100);
      if (!used.includes(`10.77.${c}.`) && !links.includes(`fcbr${c}:`)) {
        x = c;
        break;
      }
    }
    if (x < 0) throw new Error('no free 10.77.X.0/24 subnet');
    const net = new NetnsNetwork('running as root with ip and iptables', x, size, port);
    try {
      net.setup();
    } catch (err) {
      void net.teardown();
      throw err;
    }
    return net;
  }

  private setup(): void {
    sh('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    this.bridgeUp = true;
    sh('ip', ['addr', 'add', `10.77.${this.x}.254/24`, 'dev', this.bridge]);
    sh('ip', ['link', 'set', this.bridge, 'up']);
    // Docker (if running) sets FORWARD's policy to DROP, which bridged traffic may traverse.
    if (tryRun('iptables', ['-I', 'FORWARD', '-i', this.bridge, '-o', this.bridge, '-j', 'ACCEPT'])) this.forwardRule = true;
    for (let n = 1; n <= this.size; n++) {
      const ns = this.nsName(n);
      const veth = `fc${this.x}v${n}`;
      sh('ip', ['netns', 'add', ns]);
      this.ns.push(ns);
      sh('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      this.veths.push(veth);
      sh('ip', ['link', 'set', veth, 'master', this.bridge]);
      sh('ip', ['link', 'set', veth, 'up']);
      sh('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', `${this.addr(n)}/24`, 'dev', 'eth0']);
      sh('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'eth0', 'up']);
      sh('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
      sh('ip', ['netns', 'exec', ns, 'iptables', '-F', 'INPUT']);
    }
  }

  clientAddress(n: number): string {
    return `${this.addr(n)}:${this.port}`;
  }

  brokerConfig(n: number): Record<string, string> {
    const voters = Array.from({ length: this.size }, (_, i) => `${i + 1}@${this.addr(i + 1)}:${this.port}`).join(',');
    return { host: this.addr(n), port: String(this.port), 'controller.quorum.voters': voters };
  }

  wrap(n: number, cmd: string, args: string[]): { cmd: string; args: string[] } {
    return { cmd: 'ip', args: ['netns', 'exec', this.nsName(n), cmd, ...args] };
  }

  setPid(): void {}

  cut(from: number, to: number): void {
    sh('ip', ['netns', 'exec', this.nsName(to), 'iptables', '-A', 'INPUT', '-s', this.addr(from), '-j', 'DROP']);
  }

  healAll(): void {
    for (const ns of this.ns) tryRun('ip', ['netns', 'exec', ns, 'iptables', '-F', 'INPUT']);
  }

  async teardown(): Promise<void> {
    for (const ns of this.ns.splice(0)) tryRun('ip', ['netns', 'del', ns]);
    for (const v of this.veths.splice(0)) tryRun('ip', ['link', 'del', v]);
    if (this.forwardRule) {
      tryRun('iptables', ['-D', 'FORWARD', '-i', this.bridge, '-o', this.bridge, '-j', 'ACCEPT']);
      this.forwardRule = false;
    }
    if (this.bridgeUp) {
      tryRun('ip', ['link', 'del', this.bridge]);
      this.bridgeUp = false;
    }
  }
}

/** Which broker process (node id) owns the local end 127.0.0.1:port, or 0 (someone else). */
function ownerOfLocalPort(port: number, pids: Map<number, number>): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let inode = '';
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      if (cols[1]!.endsWith(`:${hexPort}`)) {
        inode = cols[9]!;
        break;
      }
    }
    if (inode) break;
  }
  if (!inode || inode === '0') return 0;
  const target = `socket:[${inode}]`;
  for (const [node, pid] of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return node;
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return 0;
}

interface Link {
  src: number;
  dst: number;
  a: Socket; // from src
  b: Socket; // to dst
}

export class ProxyNetwork implements Network {
  readonly kind = 'proxy';
  private readonly servers: Server[] = [];
  private readonly pids = new Map<number, number>();
  private readonly blocked = new Set<string>();
  private readonly links = new Set<Link>();

  private constructor(
    readonly why: string,
    private readonly size: number,
    private readonly realPorts: number[],
    private readonly proxyPorts: number[],
  ) {}

  static async create(size: number, basePort: number, why: string): Promise<ProxyNetwork> {
    const real = Array.from({ length: size }, (_, i) => basePort + i);
    const proxy = Array.from({ length: size }, (_, i) => basePort + 5 + i);
    const net = new ProxyNetwork(why, size, real, proxy);
    for (let n = 1; n <= size; n++) await net.listen(n);
    return net;
  }

  private listen(n: number): Promise<void> {
    const server = createServer((a) => this.accept(n, a));
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.proxyPorts[n - 1], '127.0.0.1', () => resolve());
    });
  }

  private accept(dst: number, a: Socket): void {
    const src = ownerOfLocalPort(a.remotePort ?? 0, this.pids);
    const b = new Socket();
    const link: Link = { src, dst, a, b };
    this.links.add(link);
    const close = () => {
      this.links.delete(link);
      a.destroy();
      b.destroy();
    };
    a.on('error', close).on('close', close);
    b.on('error', close).on('close', close);
    a.pause();
    b.connect(this.realPorts[dst - 1]!, '127.0.0.1', () => this.update(link));
    this.forward(a, b, () => this.isBlocked(src, dst));
    this.forward(b, a, () => this.isBlocked(dst, src));
  }

  private forward(from: Socket, to: Socket, blocked: () => boolean): void {
    from.on('data', (d) => {
      if (!to.write(d)) {
        from.pause();
        to.once('drain', () => {
          if (!blocked()) from.resume();
        });
      }
    });
  }

  private isBlocked(from: number, to: number): boolean {
    return from !== 0 && to !== 0 && this.blocked.has(`${from}>${to}`);
  }

  /** Pauses or resumes each direction of a link per the blocked set. */
  private update(l: Link): void {
    if (l.b.connecting) return;
    if (this.isBlocked(l.src, l.dst)) l.a.pause();
    else l.a.resume();
    if (this.isBlocked(l.dst, l.src)) l.b.pause();
    else l.b.resume();
  }

  clientAddress(n: number): string {
    return `127.0.0.1:${this.proxyPorts[n - 1]}`;
  }

  brokerConfig(n: number): Record<string, string> {
    const voters = Array.from({ length: this.size }, (_, i) => `${i + 1}@127.0.0.1:${this.proxyPorts[i]}`).join(',');
    return { host: '127.0.0.1', port: String(this.realPorts[n - 1]), 'advertised.port': String(this.proxyPorts[n - 1]), 'controller.quorum.voters': voters };
  }

  wrap(_n: number, cmd: string, args: string[]): { cmd: string; args: string[] } {
    return { cmd, args };
  }

  setPid(n: number, pid: number | undefined): void {
    if (pid === undefined) this.pids.delete(n);
    else this.pids.set(n, pid);
  }

  cut(from: number, to: number): void {
    this.blocked.add(`${from}>${to}`);
    for (const l of this.links) this.update(l);
  }

  healAll(): void {
    this.blocked.clear();
    for (const l of this.links) this.update(l);
  }

  async teardown(): Promise<void> {
    for (const l of this.links) {
      l.a.destroy();
      l.b.destroy();
    }
    this.links.clear();
    await Promise.all(this.servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/** Networks not torn down yet: torn down on exit (Ctrl-C included), so no namespace or rule is left. */
const active = new Set<Network>();
process.on('exit', () => {
  for (const n of active) void n.teardown(); // the netns teardown is synchronous
});

export async function createNetwork(mode: 'auto' | 'netns' | 'proxy', size: number, basePort: number, log: (s: string) => void): Promise<Network> {
  const net = await createNetworkInner(mode, size, basePort, log);
  active.add(net);
  const teardown = net.teardown.bind(net);
  net.teardown = async () => {
    active.delete(net);
    await teardown();
  };
  return net;
}

async function createNetworkInner(mode: 'auto' | 'netns' | 'proxy', size: number, basePort: number, log: (s: string) => void): Promise<Network> {
  if (mode !== 'proxy') {
    try {
      return NetnsNetwork.create(size, basePort, log);
    } catch (err) {
      if (mode === 'netns') throw err;
      const why = `network namespaces unavailable (${(err as Error).message})`;
      log(`${why}: falling back to the user-space TCP proxy`);
      return ProxyNetwork.create(size, basePort, why);
    }
  }
  return ProxyNetwork.create(size, basePort, '--network proxy');
}
