import { describe, expect, it } from 'vitest';
import { heapGrowingPercentFromNode } from '../../../src/server/gc-tuning.js';

describe('heapGrowingPercentFromNode', () => {
  it('is undefined when node was given no such flag', () => {
    expect(heapGrowingPercentFromNode([], '')).toBeUndefined();
    expect(heapGrowingPercentFromNode(['--max-old-space-size=512', '--heap-growing'], '--trace-gc')).toBeUndefined();
  });

  it('finds the flag on the command line, with = or as a separate value, dashes or underscores', () => {
    expect(heapGrowingPercentFromNode(['--heap-growing-percent=150'], '')).toBe('150');
    expect(heapGrowingPercentFromNode(['--heap-growing-percent', '80'], '')).toBe('80');
    expect(heapGrowingPercentFromNode(['--heap_growing_percent=40'], '')).toBe('40');
  });

  it('finds it in NODE_OPTIONS', () => {
    expect(heapGrowingPercentFromNode([], '--enable-source-maps  --heap-growing-percent=500')).toBe('500');
  });
});
