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
