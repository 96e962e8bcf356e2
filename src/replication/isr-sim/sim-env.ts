// What the simulated components share: the clock, randomness, network, trace, checker and config,
// plus the two cross-component hooks (the controller pushing state, brokers looking each other up).

import type { Checker } from './checker.js';
import type { EventQueue } from './event-queue.js';
import type { SimRandom } from './random.js';
import type { SimConfig } from './sim-config.js';
import type { SimNetwork } from './sim-network.js';
import type { Trace } from './trace.js';
import type { PartitionRegistration } from '../isr/index.js';
import type { SimBroker } from './sim-broker.js';
import type { SimController } from './sim-controller.js';

export interface SimEnv {
  queue: EventQueue;
  rng: SimRandom;
  net: SimNetwork;
  trace: Trace;
  checker: Checker;
  cfg: SimConfig;
  controller(): SimController;
  broker(id: number): SimBroker;
  /** Controller → broker metadata push (over the network). */
  pushState(brokerId: number, p: number, reg: PartitionRegistration): void;
}
