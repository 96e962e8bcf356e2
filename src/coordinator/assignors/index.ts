/** The server-side assignors by name (`server_assignor` in the heartbeat, `group.consumer.assignors`). */
import { rangeAssignor } from './range.js';
import { roundRobinAssignor } from './roundrobin.js';
import { stickyAssignor } from './sticky.js';
import type { Assignor } from './types.js';

export type { Assignor, AssignorInput, AssignorMember } from './types.js';

export const ASSIGNORS: ReadonlyMap<string, Assignor> = new Map([stickyAssignor, rangeAssignor, roundRobinAssignor].map((a) => [a.name, a]));

export const DEFAULT_ASSIGNOR = stickyAssignor.name;
