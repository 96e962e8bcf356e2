// Public surface of the Raft host (the controller wiring imports from here only).
export { FileRaftLog } from './file-raft-log.js';
export type { FileRaftLogOptions, RecoveredRaftLog } from './file-raft-log.js';
export { GrpcRaftTransport, RAFT_MAX_MESSAGE_BYTES, voterAddress } from './grpc-raft-transport.js';
export type { GrpcRaftTransportOptions } from './grpc-raft-transport.js';
export type { PeerSenderStats } from './peer-sender.js';
export { RaftHost } from './raft-host.js';
export type { RaftHostOptions } from './raft-host.js';
export { DEFAULT_HOST_LIMITS, NotLeaderError } from './types.js';
export type { LeaderInfo, RaftHostLimits, RaftStateMachine, RaftTransport } from './types.js';
