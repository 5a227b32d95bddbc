/**
 * Two threads working through a request's items (src/vision/shared-work.ts): each item runs
 * exactly once, the owner never waits for work that has not started, and whatever the helper
 * fails or loses is run by the owner.
 */
import { describe, expect, it, vi } from 'vitest';
import { allClaimed, helpWith, openShare, workTogether } from '../../src/vision/shared-work.js';

const tick = () => new Promise<void>((r) => setTimeout(r, 5));

describe('shared work', () => {
  it('the owner first: it runs every item itself, and the helper then finds nothing left', async () => {
    const { owner, helper } = openShare();
    const here = vi.fn(async (i: number) => `here ${i}`);
    expect(await workTogether(owner, 3, here)).toEqual({ results: ['here 0', 'here 1', 'here 2'], fromHelper: 0 });
    expect(allClaimed(helper, 3)).toBe(true);
    const there = vi.fn(async (i: number) => `there ${i}`);
    expect(await helpWith(helper, 3, there)).toBe(0);
    expect(there).not.toHaveBeenCalled();
  });

  it('the helper first on a single item: the owner gets its result (typed arrays intact) and runs nothing', async () => {
    const { owner, helper } = openShare();
    let release!: () => void;
    const running = new Promise<void>((r) => (release = r));
    const helped = helpWith(helper, 1, async () => (await running, { scores: Float32Array.of(0.7, 0.1) }));
    const here = vi.fn(async () => ({ scores: Float32Array.of(0) }));
    const together = workTogether(owner, 1, here);
    release();
    expect(await helped).toBe(1);
    const got = await together;
    expect(got.fromHelper).toBe(1);
    expect(Array.from(got.results[0]!.scores)).toEqual(Array.from(Float32Array.of(0.7, 0.1)));
    expect(here).not.toHaveBeenCalled();
  });

  it('both at once on many items: every item runs exactly once, results in order', async () => {
    const { owner, helper } = openShare();
    const runs: string[] = [];
    const work = (who: string) => async (i: number) => {
      runs.push(`${who}${i}`);
      await tick();
      return i * 10;
    };
    const [together, ran] = await Promise.all([workTogether(owner, 9, work('o')), helpWith(helper, 9, work('h'))]);
    expect(together.results).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80]);
    expect(runs).toHaveLength(9);
    expect(new Set(runs.map((r) => r.slice(1))).size).toBe(9);
    expect(together.fromHelper).toBe(ran);
    expect(ran).toBeGreaterThan(0);
    expect(9 - ran).toBeGreaterThan(0);
  });

  it('an item the helper fails is run by the owner', async () => {
    const { owner, helper } = openShare();
    const helped = helpWith(helper, 2, async (i) => {
      if (i === 0) throw new Error('session failed');
      return 'there';
    });
    await helped; // the helper claimed both before the owner started
    expect(await workTogether(owner, 2, async () => 'here')).toEqual({ results: ['here', 'there'], fromHelper: 1 });
  });

  it('items a dead helper claimed (its port closed unanswered) are run by the owner', async () => {
    const { owner, helper } = openShare();
    Atomics.add(helper.next, 0, 2); // claimed items 0 and 1, then its thread died
    helper.port.close();
    expect(await workTogether(owner, 3, async (i) => `here ${i}`)).toEqual({ results: ['here 0', 'here 1', 'here 2'], fromHelper: 0 });
  });

  it('a helper silent past the wait leaves its item to the owner', async () => {
    const { owner, helper } = openShare();
    Atomics.add(helper.next, 0, 1);
    const started = performance.now();
    expect(await workTogether(owner, 1, async () => 'here', 50)).toEqual({ results: ['here'], fromHelper: 0 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    helper.port.close();
  });
});
