import { describe, expect, it } from 'vitest';
import { setHeapGrowth } from '../src/heap-growth.js';

// What the factor does to the server is measured, not asserted (docs/detectors.md, "Garbage
// collection"): V8's collection schedule is a heuristic no small test pins down.
describe('setHeapGrowth', () => {
  it('refuses a percentage V8 would misread', () => {
    expect(() => setHeapGrowth(-1)).toThrow(/whole percentage/);
    expect(() => setHeapGrowth(12.5)).toThrow(/whole percentage/);
    expect(() => setHeapGrowth(Number.NaN)).toThrow(/whole percentage/);
  });
});
