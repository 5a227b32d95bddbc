/**
 * What runs after the detector on its boxes: the label check (./verify-crop.ts, one batch of
 * crops for the asserted boxes) and the closer look (./closer-look.ts, one detection per box
 * whose class is in doubt). Both start from the detector's boxes and neither reads the other's
 * result, so they are independent items of work: on an idle server a helper task on the other
 * worker takes some of them (../shared-work.ts) while this thread runs the rest. Each box's
 * check is an item of its own (EfficientNet on one crop costs the same per crop batched or not),
 * so the two threads split the work evenly: on person.jpg one closer look and one check each.
 *
 * The answer is the same whoever runs what: the boxes the check refutes are dropped, and each
 * box the closer look decided takes its verdict. The closer look picks its boxes before the
 * check has run, so a box the check then drops may have been looked at for nothing (rare: a box
 * in doubt between two classes is seldom neither), and with more than MAX_CLOSER_LOOKS boxes in
 * doubt one the check drops can take the place of a survivor among those looked at.
 */
import { boxesInDoubt, lookAtBox, type LookAgain } from './closer-look.js';
import { helpWith, workTogether, type HelpOffer, type WorkShare } from '../shared-work.js';
import { toJudge, type CropVerifier } from './verify-crop.js';
import type { Detection, RgbImage } from './types.js';

/** One item: the label check of a box, or the closer look at one (indices into the detections). */
export type FollowUpItem = { check: number } | { look: number };

/** What a helper needs besides the image: the detector's boxes and the items. Structured-cloneable. */
export interface FollowUpHelp {
  detections: Detection[];
  items: FollowUpItem[];
}

/** An item's result: whether the check refutes the box's label; the closer look's verdict (null: none). */
export type FollowUpResult = { refuted: boolean } | { verdict: Detection | null };

export interface FollowUpSteps {
  /** The label check; absent when turned off. */
  verifier?: Pick<CropVerifier, 'refutes'>;
  /** How the closer look looks again; absent when turned off. */
  look?: LookAgain;
  /** The detector's threshold: only asserted boxes are checked or looked at. */
  threshold: number;
}

/** The items for `detections`: the closer looks first (the longer items: a detection each, ~15 ms), then the checks (~5 ms a crop). */
export function planFollowUp(detections: readonly Detection[], steps: FollowUpSteps): FollowUpItem[] {
  const looks = steps.look ? boxesInDoubt(detections, steps.threshold) : [];
  const checks = steps.verifier ? toJudge(detections, steps.threshold) : [];
  return [...looks.map((d) => ({ look: detections.indexOf(d) })), ...checks.map((d) => ({ check: detections.indexOf(d) }))];
}

/** The detections after the items' results: refuted boxes dropped, decided ones relabelled, order kept. */
export function applyFollowUp(detections: readonly Detection[], items: readonly FollowUpItem[], results: readonly FollowUpResult[]): Detection[] {
  const dropped = new Set<number>();
  const verdicts = new Map<number, Detection>();
  items.forEach((item, k) => {
    const r = results[k]!;
    if ('check' in item && 'refuted' in r && r.refuted) dropped.add(item.check);
    else if ('look' in item && 'verdict' in r && r.verdict) verdicts.set(item.look, r.verdict);
  });
  return detections.flatMap((d, i) => (dropped.has(i) ? [] : [verdicts.get(i) ?? d]));
}

async function runItem(img: RgbImage, detections: readonly Detection[], item: FollowUpItem, steps: FollowUpSteps): Promise<FollowUpResult> {
  if ('check' in item) return { refuted: (await steps.verifier!.refutes(img, [detections[item.check]!]))[0]! };
  return { verdict: (await lookAtBox(img, detections[item.look]!, steps.threshold, steps.look!)) ?? null };
}

export interface FollowedUp {
  detections: Detection[];
  /** ms of the label check and of the closer looks run on this thread. */
  verifyMs: number;
  closerMs: number;
  /** Items a helper on another worker ran. */
  fromHelper: number;
}

/**
 * The detector's boxes after the check and the closer looks. With `offer` and more than one
 * item, the items are offered to a helper (the pool queues it on the other worker) and this
 * thread runs whatever the helper has not claimed.
 */
export async function followUp(img: RgbImage, detections: readonly Detection[], steps: FollowUpSteps, offer?: HelpOffer): Promise<FollowedUp> {
  const items = planFollowUp(detections, steps);
  let verifyMs = 0;
  let closerMs = 0;
  const runHere = async (k: number): Promise<FollowUpResult> => {
    const item = items[k]!;
    const t = performance.now();
    const r = await runItem(img, detections, item, steps);
    if ('check' in item) verifyMs += performance.now() - t;
    else closerMs += performance.now() - t;
    return r;
  };
  let results: FollowUpResult[];
  let fromHelper = 0;
  if (offer && items.length > 1) {
    offer.ready.postMessage({ detections: [...detections], items } satisfies FollowUpHelp);
    offer.ready.close();
    ({ results, fromHelper } = await workTogether(offer.work, items.length, runHere));
  } else {
    // Nothing worth a helper: the pool sees the offer's ports close and queues none.
    offer?.ready.close();
    offer?.work.port.close();
    results = [];
    for (let k = 0; k < items.length; k++) results.push(await runHere(k));
  }
  return { detections: applyFollowUp(detections, items, results), verifyMs, closerMs, fromHelper };
}

/** The helper's side: runs the items the owner has not claimed. Resolves with how many it ran. */
export function helpFollowUp(img: RgbImage, help: FollowUpHelp, share: WorkShare, steps: FollowUpSteps): Promise<number> {
  return helpWith(share, help.items.length, (k) => runItem(img, help.detections, help.items[k]!, steps));
}
