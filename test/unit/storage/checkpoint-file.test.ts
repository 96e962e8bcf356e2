import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { CheckpointCorruptError, CheckpointFile } from '../../../src/storage/checkpoint-file.js';
import { tempDir } from './helpers.js';

describe('CheckpointFile', () => {
  it('writes atomically, coalesces concurrent writes, and reads back the newest', async () => {
    const dir = tempDir();
    const f = new CheckpointFile(join(dir, 'recovery-point'));
    expect(await f.readOffset()).toBeNull();
    await Promise.all([1, 2, 3, 4, 5].map((n) => f.writeOffset(n)));
    expect(await f.readOffset()).toBe(5);
    expect(fs.readdirSync(dir)).toEqual(['recovery-point']); // no temp file left behind
    expect(fs.readFileSync(join(dir, 'recovery-point'), 'utf8')).toBe('0\n1\n5\n');
  });

  it('reports a corrupt file', async () => {
    const dir = tempDir();
    fs.writeFileSync(join(dir, 'x'), '0\n3\n1\n');
    await expect(new CheckpointFile(join(dir, 'x')).read()).rejects.toBeInstanceOf(CheckpointCorruptError);
  });
});
