/** `ferry broker` applies gc.heap.growing.percent to its own process and says so in its log. */
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../helpers/broker.js';

describe('broker process GC setting (gc.heap.growing.percent)', () => {
  let broker: BrokerHandle | undefined;
  afterEach(async () => {
    await broker?.cleanup();
    broker = undefined;
  });

  const gcLine = (b: BrokerHandle) => b.logs.find((l) => l.msg.startsWith('gc: '));

  it('applies the default (300) at start-up', async () => {
    broker = await startBroker();
    expect(gcLine(broker)).toMatchObject({ heapGrowingPercent: 300 });
  });

  it('leaves V8 alone with 0', async () => {
    broker = await startBroker({ config: { 'gc.heap.growing.percent': '0' } });
    expect(gcLine(broker)).toMatchObject({ heapGrowingPercent: 0 });
  });

  it('rejects a negative value with a clear error', async () => {
    await expect(startBroker({ config: { 'gc.heap.growing.percent': '-5' } })).rejects.toThrow(/gc\.heap\.growing\.percent/);
  });
});
