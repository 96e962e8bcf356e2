/**
 * Admin group operations against the in-process fake GroupService: list, describe, lag, offset
 * reset (refused while the group has members), delete, committed offsets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, Ferry } from '../../../src/client/index.js';
import { startFakeBroker, type FakeBroker } from './fake-broker.js';
import { addFakeGroupService } from './fake-group-service.js';
import { waitFor } from '../../helpers/group-members.js';

let broker: FakeBroker | undefined;
let ferry: Ferry | undefined;

afterEach(async () => {
  await ferry?.close();
  await broker?.close();
  ferry = broker = undefined;
});

describe('Admin group operations (fake coordinator)', () => {
  it('lists, describes, reports lag, resets offsets of an inactive group and deletes it', async () => {
    broker = await startFakeBroker({
      topics: { t: 2 },
      addServices: (server, port) => void addFakeGroupService(server, port, { topics: { t: 2 }, heartbeatIntervalMs: 30 }),
    });
    ferry = new Ferry({ bootstrap: broker.address });
    const producer = ferry.producer({ lingerMs: 0 });
    for (let p = 0; p < 2; p++) await producer.sendBatch('t', Array.from({ length: 10 }, (_, i) => ({ partition: p, value: `${i}` })));
    const admin = ferry.admin();

    const c = ferry.consumer({ groupId: 'ga', autoOffsetReset: 'earliest', enableAutoCommit: false, fetchMaxWaitMs: 20 });
    c.subscribe({ topics: ['t'] });
    await waitFor(() => c.assignment().length === 2, 5000, 'assignment');
    await c.commit([
      { topic: 't', partition: 0, offset: 4 },
      { topic: 't', partition: 1, offset: 10 },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(await admin.listGroups()).toEqual([{ groupId: 'ga', state: 'STABLE', members: 1 }]);
    const d = await admin.describeGroup('ga');
    expect(d.members).toHaveLength(1);
    expect(d.members[0]!.assignment).toEqual([
      { topic: 't', partition: 0 },
      { topic: 't', partition: 1 },
    ]);
    const lag = await admin.groupLag('ga');
    expect(lag.map((l) => [l.partition, l.committed, l.logEnd, l.lag])).toEqual([
      [0, 4, 10, 6],
      [1, 10, 10, 0],
    ]);
    expect(lag[0]!.memberId).toBe(d.members[0]!.memberId);

    await expect(admin.resetGroupOffsets('ga', 't', 'earliest')).rejects.toMatchObject({ code: ErrorCode.NON_EMPTY_GROUP });
    await expect(admin.deleteGroups(['ga'])).rejects.toMatchObject({ code: ErrorCode.NON_EMPTY_GROUP });
    await c.close();

    expect(await admin.resetGroupOffsets('ga', 't', 'earliest')).toEqual([
      { topic: 't', partition: 0, offset: 0 },
      { topic: 't', partition: 1, offset: 0 },
    ]);
    await admin.resetGroupOffsets('ga', 't', { offset: 99 });
    expect((await admin.fetchCommitted('ga')).map((o) => o.offset)).toEqual([10, 10]);
    await admin.deleteGroups(['ga']);
    expect(await admin.listGroups()).toEqual([]);
    await expect(admin.describeGroup('ga')).rejects.toMatchObject({ code: ErrorCode.GROUP_ID_NOT_FOUND });
  });
});
