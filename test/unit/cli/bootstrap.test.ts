import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { bootstrapList, parseBootstrap } from '../../../cmd/commands/common.js';

describe('--bootstrap', () => {
  it('takes one or several HOST:PORT, spaces and empty entries ignored', () => {
    expect(bootstrapList(parseBootstrap('127.0.0.1:9092'))).toEqual(['127.0.0.1:9092']);
    expect(bootstrapList(parseBootstrap('a:1, b:2,,[::1]:3'))).toEqual(['a:1', 'b:2', '[::1]:3']);
  });

  it('rejects a bad entry or an empty list', () => {
    for (const bad of ['a', 'a:0', 'a:65536', ':9092', 'a:1,b', '', ' , ']) {
      expect(() => parseBootstrap(bad), bad).toThrow(InvalidArgumentError);
    }
  });
});
