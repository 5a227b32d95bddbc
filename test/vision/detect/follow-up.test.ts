/**
 * The label check and the closer looks after the detector, as items two threads may share:
 * the plan and the merge on made-up detections, then the owner and a helper working through
 * one offer (both in this thread, over a real MessageChannel), against the owner alone.
 */
import { describe, expect, it } from 'vitest';
import { applyFollowUp, followUp, helpFollowUp, planFollowUp, type FollowUpHelp, type FollowUpSteps } from '../../../src/vision/detect/follow-up.js';
import { MAX_CLOSER_LOOKS } from '../../../src/vision/detect/closer-look.js';
import type { Detection, RgbImage } from '../../../src/vision/detect/types.js';
import { answerOffer, openOffer } from '../../../src/vision/shared-work.js';

const img: RgbImage = { width: 200, height: 200, rgb: new Uint8Array(200 * 200 * 3).fill(90) };
const SHEEP: Detection = { label: 'sheep', score: 0.54, box: [0.5, 0.3, 0.9, 0.8], alternatives: [{ label: 'horse', score: 0.33 }] };
const BIRD: Detection = { label: 'bird', score: 0.7, box: [0.1, 0.1, 0.3, 0.3] };
const PERSON: Detection = { label: 'person', score: 0.9, box: [0, 0, 0.4, 1] };
const FAINT_DOG: Detection = { label: 'dog', score: 0.2, box: [0.4, 0.6, 0.6, 0.9], alternatives: [{ label: 'cat', score: 0.19 }] };
const found = [PERSON, SHEEP, BIRD, FAINT_DOG];

/** Steps whose check refutes "bird" and whose closer look sees a horse: each call counted, on the thread that made it. */
function fakeSteps(calls: string[], who: string): FollowUpSteps {
  return {
    threshold: 0.4,
    verifier: {
      async refutes(_img, judged) {
        calls.push(`${who}:check ${judged.map((d) => d.label).join()}`);
        return judged.map((d) => d.label === 'bird');
      },
    },
    async look(region) {
      calls.push(`${who}:look`);
      // Let the other side run meanwhile, as a model thread would.
      await new Promise((r) => setTimeout(r, 5));
      const horse: Detection = { label: 'horse', score: 0.95, box: [0.2, 0.2, 0.8, 0.8], alternatives: [{ label: 'sheep', score: 0.1 }] };
      return region.width > 0 ? [horse] : [];
    },
  };
}

describe('planFollowUp', () => {
  it('one closer look per asserted box in doubt, then one check per asserted box the classifier can judge', () => {
    expect(planFollowUp(found, fakeSteps([], 'x'))).toEqual([{ look: 1 }, { check: 2 }, { check: 1 }]);
  });

  it('has no items for a step that is turned off', () => {
    const { verifier: _v, ...noCheck } = fakeSteps([], 'x');
    const { look: _l, ...noLook } = fakeSteps([], 'x');
    expect(planFollowUp(found, noCheck)).toEqual([{ look: 1 }]);
    expect(planFollowUp(found, noLook)).toEqual([{ check: 2 }, { check: 1 }]);
  });

  it('looks again at no more than MAX_CLOSER_LOOKS boxes, the best-scoring', () => {
    const many = Array.from({ length: MAX_CLOSER_LOOKS + 2 }, (_, i) => ({ ...SHEEP, score: 0.5 + i / 100 }));
    const looks = planFollowUp(many, { threshold: 0.4, look: async () => [] });
    expect(looks.map((i) => ('look' in i ? i.look : -1))).toEqual([5, 4, 3, 2]);
  });
});

describe('applyFollowUp', () => {
  it('drops the refuted boxes, relabels the decided ones and keeps the order', () => {
    const horse: Detection = { ...SHEEP, label: 'horse', score: 0.95 };
    const out = applyFollowUp(found, [{ look: 1 }, { check: 2 }, { check: 1 }], [{ verdict: horse }, { refuted: true }, { refuted: false }]);
    expect(out).toEqual([PERSON, horse, FAINT_DOG]);
  });

  it('keeps a box whose closer look found nothing to decide', () => {
    expect(applyFollowUp(found, [{ look: 1 }], [{ verdict: null }])).toEqual(found);
  });
});

describe('followUp', () => {
  it('alone: runs every item here and answers the merge', async () => {
    const calls: string[] = [];
    const done = await followUp(img, found, fakeSteps(calls, 'owner'));
    expect(done.detections.map((d) => d.label)).toEqual(['person', 'horse', 'dog']);
    expect(done.fromHelper).toBe(0);
    expect(calls).toEqual(['owner:look', 'owner:check bird', 'owner:check sheep']);
  });

  it('with an offer: a helper takes items while the owner runs its own, and the answer is the same as alone', async () => {
    const alone = await followUp(img, found, fakeSteps([], 'owner'));
    const calls: string[] = [];
    const offer = openOffer();
    let helper: Promise<number> | undefined;
    // The pool's part: when the owner asks, start the helper (here in the same thread).
    const settle = answerOffer(offer, async (help: FollowUpHelp) => {
      helper = helpFollowUp(img, help, offer.helper, fakeSteps(calls, 'helper'));
      await helper;
    });
    const shared = await followUp(img, found, fakeSteps(calls, 'owner'), offer.owner);
    await settle();
    expect(shared.detections).toEqual(alone.detections);
    expect(await helper).toBe(shared.fromHelper);
    expect(shared.fromHelper).toBeGreaterThanOrEqual(1);
    // Every item ran exactly once, on one side or the other.
    expect(calls.map((c) => c.split(':')[1]).sort()).toEqual(['check bird', 'check sheep', 'look']);
  });

  it('with an offer but a single item: asks for no helper (the offer closes unused)', async () => {
    const offer = openOffer();
    let asked = false;
    offer.asked.once('message', () => (asked = true));
    const closed = new Promise<void>((resolve) => offer.asked.once('close', () => resolve()));
    const done = await followUp(img, [PERSON, SHEEP], { threshold: 0.4, look: fakeSteps([], 'o').look! }, offer.owner);
    await closed;
    expect(asked).toBe(false);
    expect(done.detections.map((d) => d.label)).toEqual(['person', 'horse']);
  });
});
