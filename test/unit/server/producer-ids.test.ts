import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { BlockProducerIds, BrokerEpochProducerIds, IDS_PER_BROKER_EPOCH, PRODUCER_ID_BLOCK_SIZE, PRODUCER_ID_FILE } from '../../../src/server/producer-ids.js';
import { ErrorCode, FerryError } from '../../../src/protocol/errors.js';

describe('BlockProducerIds (single node)', () => {
  it('hands out distinct ids, persisting the block end before the first id of a block', async () => {
    const dir = fs.mkdtempSync(join(os.tmpdir(), 'ferry-pid-'));
    const ids = new BlockProducerIds(dir);
    const got = await Promise.all(Array.from({ length: PRODUCER_ID_BLOCK_SIZE + 5 }, () => ids.next()));
    expect(new Set(got).size).toBe(got.length);
    expect(Math.min(...got)).toBe(0);
    expect(JSON.parse(fs.readFileSync(join(dir, PRODUCER_ID_FILE), 'utf8'))).toEqual({ end: 2 * PRODUCER_ID_BLOCK_SIZE });
  });

  it('never repeats an id after a crash: a new incarnation starts after the persisted block', async () => {
    const dir = fs.mkdtempSync(join(os.tmpdir(), 'ferry-pid-'));
    const first = await new BlockProducerIds(dir).next(); // "crashes" right after
    const second = await new BlockProducerIds(dir).next();
    expect(first).toBe(0);
    expect(second).toBe(PRODUCER_ID_BLOCK_SIZE);
  });

  it('refuses a damaged block file rather than starting over at 0', async () => {
    const dir = fs.mkdtempSync(join(os.tmpdir(), 'ferry-pid-'));
    fs.writeFileSync(join(dir, PRODUCER_ID_FILE), '{"end":"x"}');
    await expect(new BlockProducerIds(dir).next()).rejects.toMatchObject({ code: ErrorCode.STORAGE_ERROR });
  });
});

describe('BrokerEpochProducerIds (cluster)', () => {
  it('derives ids from the broker epoch, restarting the counter in each registration', async () => {
    let epoch: number | null = null;
    const ids = new BrokerEpochProducerIds(() => epoch);
    await expect(ids.next()).rejects.toBeInstanceOf(FerryError);
    epoch = 17;
    expect(await ids.next()).toBe(17 * IDS_PER_BROKER_EPOCH);
    expect(await ids.next()).toBe(17 * IDS_PER_BROKER_EPOCH + 1);
    epoch = 42;
    expect(await ids.next()).toBe(42 * IDS_PER_BROKER_EPOCH);
  });

  it('answers retriably once a registration has used its range', async () => {
    const ids = new BrokerEpochProducerIds(() => 3);
    (ids as unknown as { epoch: number; counter: number }).epoch = 3;
    (ids as unknown as { epoch: number; counter: number }).counter = IDS_PER_BROKER_EPOCH;
    await expect(ids.next()).rejects.toMatchObject({ code: ErrorCode.BROKER_NOT_AVAILABLE, retriable: true });
  });
});
