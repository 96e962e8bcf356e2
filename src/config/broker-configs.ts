/** Broker-level settings (topic-level defaults live in topic-configs.ts and are accepted here too). */
import type { ConfigDef } from './config-def.js';

const MIB = 1024 * 1024;

export const BROKER_CONFIGS: readonly ConfigDef[] = [
  { name: 'node.id', type: 'int', default: 1, min: 0, doc: 'stable id of this broker in its cluster', aliases: ['broker.id'] },
  { name: 'data.dir', type: 'string', default: './data', doc: 'directory holding partition logs and broker metadata', aliases: ['log.dirs', 'log.dir'] },
  { name: 'host', type: 'string', default: '127.0.0.1', doc: 'address the gRPC server binds to' },
  { name: 'port', type: 'int', default: 9092, min: 0, max: 65535, doc: 'gRPC port for clients and peers (0 = pick a free port)' },
  { name: 'advertised.port', type: 'int', default: 0, min: 0, max: 65535, doc: 'port clients should use to reach this broker (0 = the bound port); set it when a proxy or a published container port differs' },
  { name: 'advertised.host', type: 'string', default: '', doc: 'host clients should use to reach this broker (default: host, or 127.0.0.1 when host is 0.0.0.0)' },
  { name: 'log.level', type: 'enum', values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], default: 'info', doc: 'pino log level' },
  // Process-level (applied by `ferry broker`, not by an embedded Broker): server/gc-tuning.ts says why.
  { name: 'gc.heap.growing.percent', type: 'int', default: 300, min: 0, max: 10_000, doc: 'V8 old-generation growing factor of the broker process as 1 + percent/100 (node --heap-growing-percent; 0 = V8\'s own): room for short-lived Buffers so they do not trigger mark-compacts' },
  { name: 'auto.create.topics.enable', type: 'boolean', default: true, doc: 'create a topic on first produce/metadata request for it' },
  { name: 'num.partitions', type: 'int', default: 1, min: 1, max: 10_000, doc: 'partitions of an auto-created topic (or one created without a count)' },
  { name: 'default.replication.factor', type: 'int', default: 1, min: 1, max: 16, doc: 'replication factor of topics created without one' },
  { name: 'max.partitions.per.topic', type: 'int', default: 10_000, min: 1, max: 100_000, doc: 'upper bound on a topic\'s partition count' },
  { name: 'delete.topic.enable', type: 'boolean', default: true, doc: 'allow DeleteTopics' },
  { name: 'max.request.bytes', type: 'int', default: 100 * MIB, min: 1024, doc: 'largest gRPC request accepted (Kafka: socket.request.max.bytes)', aliases: ['socket.request.max.bytes'] },
  // Limits (server/connection-limits.ts, server/produce-admission.ts): a refused connection or request
  // gets THROTTLED (gRPC RESOURCE_EXHAUSTED, retriable) and one warning per second at most.
  { name: 'max.connections', type: 'int', default: 10_000, min: 1, doc: 'most client connections (HTTP/2 sessions) the broker keeps open; calls on a connection beyond it fail with THROTTLED and it is closed' },
  { name: 'max.connections.per.ip', type: 'int', default: 1_000, min: 1, doc: 'most connections from one IP address (peer brokers included); beyond it as max.connections' },
  { name: 'max.concurrent.streams.per.connection', type: 'int', default: 1_000, min: 1, doc: 'most calls (HTTP/2 streams) in progress on one connection (grpc.max_concurrent_streams); clients queue the others, so one connection holds at most this many requests of max.request.bytes' },
  { name: 'queued.max.request.bytes', type: 'int', default: 256 * MIB, min: MIB, doc: 'bytes of produce requests the broker works on at once (decoded, waiting for append and acks); beyond it a request waits up to 1 s (while the waiting ones fit in as much again), then fails with THROTTLED' },
  { name: 'fetch.max.bytes', type: 'int', default: 55 * MIB, min: 1024, doc: 'largest fetch response the broker builds' },
  { name: 'fetch.max.wait.ms.limit', type: 'int', default: 30_000, min: 0, doc: 'cap on a fetch request\'s max_wait_ms' },
  { name: 'produce.timeout.ms.limit', type: 'int', default: 60_000, min: 0, doc: 'cap on a produce request\'s timeout_ms' },
  { name: 'log.cleaner.backoff.ms', type: 'long', default: 15_000, min: 100, doc: 'how often the log cleaner looks for compacted partitions to clean' },
  { name: 'log.cleaner.dedupe.buffer.size', type: 'long', default: 128 * MIB, min: MIB, doc: 'memory for the cleaner\'s key → latest-offset map; a larger dirty section is cleaned in parts' },
  { name: 'log.retention.check.interval.ms', type: 'long', default: 300_000, min: 100, doc: 'how often retention runs' },
  // Idempotent producers (storage/producer-state.ts): how long a partition remembers a producer id
  // after its last batch, and so how far back the state is rebuilt from the log at first use.
  { name: 'producer.id.expiration.ms', type: 'long', default: 24 * 60 * 60 * 1000, min: 1000, doc: 'an idempotent producer unseen this long on a partition is forgotten there (its next batch is accepted as from a new producer); also bounds the log scanned to rebuild producer state' },
  // Consumer groups (src/coordinator). The session timeout defaults to 10 s, not Kafka's 45 s: a dead
  // consumer's partitions move after this long, and on a single node with server-side assignment
  // there is no long JoinGroup round to protect; clients that need more ask for it per member.
  { name: 'group.session.timeout.ms', type: 'int', default: 10_000, min: 500, max: 30 * 60_000, doc: 'a member without a heartbeat for this long is removed and its partitions reassigned (members may ask for their own)' },
  { name: 'group.heartbeat.interval.ms', type: 'int', default: 1_000, min: 10, max: 60_000, doc: 'heartbeat interval told to members (at most a third of their session timeout); short so handovers finish fast' },
  { name: 'group.max.size', type: 'int', default: 1_000, min: 1, max: 100_000, doc: 'most members one group may have' },
  { name: 'group.consumer.assignors', type: 'string', default: 'sticky,range,roundrobin', doc: 'server assignors members may choose (comma-separated: sticky, range, roundrobin); the first is the default' },
  { name: 'offsets.retention.minutes', type: 'int', default: 7 * 24 * 60, min: 1, doc: 'committed offsets of a group without members expire this long after the later of their commit and the group becoming empty' },
  { name: 'offsets.topic.num.partitions', type: 'int', default: 10, min: 1, max: 1_000, doc: 'partitions of __consumer_offsets when it is created (fixed afterwards: it decides where each group lives)' },
  // Replicated cluster (issue 4). Empty controller.quorum.voters = a single node, exactly as before.
  { name: 'controller.quorum.voters', type: 'string', default: '', doc: 'controller quorum voters as id@host:port,… (Kafka\'s format; every voter is also a broker); empty = single node' },
  { name: 'cluster.id', type: 'string', default: '', doc: 'cluster id written into a fresh data directory (default: random on a single node, derived from controller.quorum.voters in a cluster, so the voters agree)' },
  // Raft timings: the election timeout is randomised in [this, 2×this); leader heartbeats go out at a fifth of it.
  { name: 'controller.quorum.election.timeout.ms', type: 'int', default: 600, min: 50, max: 60_000, doc: 'lower bound of the randomised Raft election timeout (upper bound: twice it); leader heartbeats every fifth of it' },
  { name: 'controller.quorum.request.timeout.ms', type: 'int', default: 400, min: 10, max: 60_000, doc: 'resend an unanswered Raft AppendEntries / snapshot chunk after this long' },
  // Fast failure detection: a killed leader is fenced (and its partitions get new leaders) within
  // the session timeout; Kafka's 9 s / 2 s would put failover far above the 3 s goal.
  { name: 'broker.session.timeout.ms', type: 'int', default: 1_800, min: 100, max: 600_000, doc: 'the active controller fences a broker that sent no heartbeat for this long (its partitions get new leaders)' },
  { name: 'broker.heartbeat.interval.ms', type: 'int', default: 300, min: 10, max: 60_000, doc: 'how often a broker heartbeats to the active controller' },
  { name: 'controlled.shutdown.timeout.ms', type: 'int', default: 15_000, min: 0, max: 600_000, doc: 'on SIGTERM, how long a cluster member waits for the controller to move its leaderships away before stopping anyway (0 = skip)' },
  { name: 'replica.lag.time.max.ms', type: 'int', default: 10_000, min: 100, max: 600_000, doc: 'a follower not caught up with the leader for this long is removed from the ISR' },
  { name: 'replica.fetch.wait.max.ms', type: 'int', default: 500, min: 0, max: 60_000, doc: 'how long a follower\'s fetch waits at the leader for new records' },
  { name: 'replica.fetch.max.bytes', type: 'int', default: 8 * MIB, min: 1024, doc: 'bytes a follower asks for per partition per fetch (the first batch is always whole)' },
  { name: 'replica.fetch.response.max.bytes', type: 'int', default: 32 * MIB, min: 1024, doc: 'bytes a follower asks for per fetch, all partitions together' },
  { name: 'replica.fetch.backoff.ms', type: 'int', default: 200, min: 0, max: 60_000, doc: 'pause after a failed replica fetch' },
  { name: 'replica.socket.timeout.ms', type: 'int', default: 10_000, min: 100, max: 600_000, doc: 'a replica fetch unanswered for this long (beyond its wait) is sent again' },
  { name: 'offsets.topic.replication.factor', type: 'int', default: 3, min: 1, max: 16, doc: 'replication factor of __consumer_offsets in a cluster (capped by the number of voters)' },
  { name: 'shutdown.timeout.ms', type: 'int', default: 30_000, min: 0, doc: 'how long a clean shutdown may take before the process exits anyway' },
];
