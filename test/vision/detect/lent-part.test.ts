/**
 * Lending a detection's part to another thread (src/vision/detect/lent-part.ts): whoever
 * gets there first runs it, and the owner never waits on a helper that has not started.
 */
import { describe, expect, it, vi } from 'vitest';
import { keptByOwner, lendPart, openLoan, takePart } from '../../../src/vision/detect/lent-part.js';
import type { Candidate } from '../../../src/vision/detect/nms.js';

const cand = (score: number): Candidate => ({ classIndex: 16, score, box: [0.1, 0.2, 0.5, 0.6], classScores: Float32Array.from([score, 0.1]) });

describe('lent part', () => {
  it('the owner first: runs the part itself, and the helper then does nothing', async () => {
    const { owner, helper } = openLoan();
    const here = vi.fn(async () => [cand(0.9)]);
    const taken = await takePart(owner, here);
    expect(taken).toEqual({ candidates: [cand(0.9)], lent: false });
    expect(keptByOwner(helper)).toBe(true);
    const borrowed = vi.fn(async () => [cand(0.1)]);
    expect(await lendPart(helper, borrowed)).toBe(false);
    expect(borrowed).not.toHaveBeenCalled();
  });

  it('the helper first: the owner gets its candidates (classScores intact) and runs nothing', async () => {
    const { owner, helper } = openLoan();
    let release!: () => void;
    const running = new Promise<void>((r) => (release = r));
    // The helper takes the part and is still running it when the owner arrives.
    const lent = lendPart(helper, async () => (await running, [cand(0.7), cand(0.4)]));
    const here = vi.fn(async () => [cand(0.1)]);
    const taken = takePart(owner, here);
    release();
    expect(await lent).toBe(true);
    const got = await taken;
    expect(got.lent).toBe(true);
    expect(got.candidates.map((c) => c.score)).toEqual([0.7, 0.4]);
    expect(Array.from(got.candidates[0]!.classScores!)).toEqual(Array.from(Float32Array.from([0.7, 0.1])));
    expect(here).not.toHaveBeenCalled();
  });

  it('a helper that fails leaves the part to the owner', async () => {
    const { owner, helper } = openLoan();
    const lent = lendPart(helper, async () => {
      throw new Error('session failed');
    });
    const taken = await takePart(owner, async () => [cand(0.5)]);
    expect(await lent).toBe(true);
    expect(taken).toEqual({ candidates: [cand(0.5)], lent: false });
  });

  it('a helper whose thread dies (its port closes unanswered) leaves the part to the owner', async () => {
    const { owner, helper } = openLoan();
    // Taken, then gone without an answer: what a dead worker's closed port looks like.
    expect(Atomics.compareExchange(helper.claim, 0, 0, 1)).toBe(0);
    helper.port.close();
    expect(await takePart(owner, async () => [cand(0.6)])).toEqual({ candidates: [cand(0.6)], lent: false });
  });

  it('a helper silent past the wait leaves the part to the owner', async () => {
    const { owner, helper } = openLoan();
    Atomics.store(helper.claim, 0, 1);
    const started = performance.now();
    expect(await takePart(owner, async () => [cand(0.3)], 50)).toEqual({ candidates: [cand(0.3)], lent: false });
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    helper.port.close();
  });
});
