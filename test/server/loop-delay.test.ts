import { describe, expect, it } from 'vitest';
import { watchLoopDelay } from '../../src/server/loop-delay.js';

describe('watchLoopDelay', () => {
  it('reports a block of the event loop in its max', async () => {
    const w = watchLoopDelay(60_000);
    try {
      await new Promise((r) => setTimeout(r, 50));
      const start = Date.now();
      while (Date.now() - start < 150); // hold the loop
      await new Promise((r) => setTimeout(r, 50));
      const s = w.stats();
      expect(s.maxMs).toBeGreaterThanOrEqual(100);
      expect(s.p99Ms).toBeGreaterThan(0);
      expect(s.windowS).toBe(60);
    } finally {
      w.stop();
    }
  });
});

describe('watchLoopDelay reset', () => {
  it('forgets a block from before the reset (start-up), in the current and the last window', async () => {
    const w = watchLoopDelay(400);
    try {
      await new Promise((r) => setTimeout(r, 30));
      const start = Date.now();
      while (Date.now() - start < 150); // hold the loop, as a start-up build does
      await new Promise((r) => setTimeout(r, 270)); // the window rolls at 400 ms: the block is in the last window
      expect(w.stats().maxMs).toBeGreaterThanOrEqual(100);
      w.reset();
      await new Promise((r) => setTimeout(r, 30));
      expect(w.stats().maxMs).toBeLessThan(100);
    } finally {
      w.stop();
    }
  });
});
