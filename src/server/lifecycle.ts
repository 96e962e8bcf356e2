/** The broker's run state, checked by every handler so requests during shutdown fail retriably. */
import { ErrorCode, FerryError } from '../protocol/errors.js';

export class BrokerLifecycle {
  private state: 'starting' | 'running' | 'stopping' = 'starting';
  /** Aborted when shutdown begins; long polls and streams listen to it to finish early. */
  readonly shutdownSignal: AbortSignal;
  private readonly controller = new AbortController();

  constructor() {
    this.shutdownSignal = this.controller.signal;
  }

  markRunning(): void {
    this.state = 'running';
  }

  beginShutdown(): void {
    this.state = 'stopping';
    this.controller.abort();
  }

  get isStopping(): boolean {
    return this.state === 'stopping';
  }

  checkAcceptingRequests(): void {
    if (this.state === 'stopping') throw new FerryError(ErrorCode.SHUTTING_DOWN, 'broker is shutting down');
    if (this.state === 'starting') throw new FerryError(ErrorCode.BROKER_NOT_AVAILABLE, 'broker is still starting');
  }
}
