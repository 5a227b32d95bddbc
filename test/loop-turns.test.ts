/**
 * Loop turns (src/loop-turns.ts): steps that become ready together run one per event-loop
 * iteration, so a timer and I/O get the loop between them instead of after all of them.
 */
import { describe, expect, it } from 'vitest';
import { nextTurn } from '../src/loop-turns.js';

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe('nextTurn', () => {
  it('runs waiting steps in order, one per loop iteration: a timer due meanwhile fires between them', async () => {
    const order: string[] = [];
    setTimeout(() => order.push('timer'), 0);
    busy(2); // the timer is due before any step runs
    // Four requests' steps, ready at once (as continuations of one batch of completions).
    await Promise.all([1, 2, 3, 4].map(async (k) => {
      await nextTurn();
      order.push(`step ${k}`);
      busy(15);
    }));
    expect(order.filter((o) => o.startsWith('step'))).toEqual(['step 1', 'step 2', 'step 3', 'step 4']);
    // Without turns the timer waits for all four steps (60 ms); with them, for one at most.
    expect(order.slice(0, 2)).toContain('timer');
  });

  it('keeps working after the queue empties (a later step still gets its turn)', async () => {
    await nextTurn();
    let ran = false;
    await nextTurn().then(() => (ran = true));
    expect(ran).toBe(true);
  });
});
