/**
 * Quality floors on the hand-labelled real photos (eval/labels.json), asked over HTTP from
 * the real server on its default settings, as `npm run eval` does (figures and method:
 * docs/quality.md). One server for the whole file; each test checks one figure of the
 * last run, so a drop names the figure and the photos behind it.
 *
 * The floors are what the code achieves today (issue 9's acceptance targets in the test
 * names where they are not met yet); raise them when the figures rise, never lower them
 * to make a change pass.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateLabelled, type LabelledResult } from '../../eval/labelled.js';

const FLOORS = {
  photos: 50,
  recall: 0.91,
  // Issue 9's target. The label check removed the squirrel called a bird and the window called
  // a clock, the closer look turned person.jpg's "sheep" into the horse it is (docs/detectors.md).
  maxHallucinatedLabels: 0,
  yesNoAccuracy: 0.99,
  countsEqualToLabels: 0.92,
  countsEqualToDetection: 1,
  captionsNamingSubject: 0.86,
  textFromFirstCharacter: 1,
};

describe('quality on the labelled real photos (default settings, through the server)', () => {
  let r: LabelledResult;
  beforeAll(async () => {
    r = await evaluateLabelled();
  }, 1_800_000);

  it(`covers at least ${FLOORS.photos} real photos, with nothing blocked or left empty`, () => {
    expect(r.photos).toBeGreaterThanOrEqual(FLOORS.photos);
    expect(r.perPhoto.filter((p) => p.blocked > 0).map((p) => p.photo)).toEqual([]);
  });

  it(`detects the labelled objects: recall at IoU 0.5 ≥ ${FLOORS.recall} (issue 9's target)`, () => {
    const missed = r.perPhoto.filter((p) => p.fn > 0).map((p) => `${p.photo}: ${p.missed.join(', ')}`);
    expect(r.detection.recall, missed.join('; ')).toBeGreaterThanOrEqual(FLOORS.recall);
  });

  it(`reports at most ${FLOORS.maxHallucinatedLabels} labels that are not in the photo (issue 9's target)`, () => {
    const wrong = r.perPhoto.filter((p) => p.hallucinated.length).map((p) => `${p.photo}: ${p.hallucinated.join(', ')}`);
    expect(r.detection.hallucinated, wrong.join('; ')).toBeLessThanOrEqual(FLOORS.maxHallucinatedLabels);
  });

  it(`answers yes/no questions right: accuracy ≥ ${FLOORS.yesNoAccuracy} (issue 9's target)`, () => {
    const wrong = r.questions.list.filter((q) => !q.right).map((q) => `${q.photo} "${q.q}" → "${q.answer.slice(0, 80)}"`);
    expect(r.questions.accuracy, wrong.join('\n')).toBeGreaterThanOrEqual(FLOORS.yesNoAccuracy);
  });

  it(`counts agree with the labels (≥ ${FLOORS.countsEqualToLabels}) and with the detection answer (≥ ${FLOORS.countsEqualToDetection}; target all)`, () => {
    const { total, matchLabel, matchDetection, list } = r.counts;
    const off = list.filter((c) => !c.matchesDetection).map((c) => `${c.photo} ${c.label}: said ${c.stated}, detected ${c.detected}`);
    expect(total).toBeGreaterThanOrEqual(20);
    expect(matchLabel / total).toBeGreaterThanOrEqual(FLOORS.countsEqualToLabels);
    expect(matchDetection / total, off.join('; ')).toBeGreaterThanOrEqual(FLOORS.countsEqualToDetection);
  });

  it(`captions name the photo's subject: ≥ ${FLOORS.captionsNamingSubject}`, () => {
    const { named, withSubject } = r.captions;
    const missed = r.perPhoto.filter((p) => p.subjectNamed === false).map((p) => `${p.photo}: ${p.caption}`);
    expect(named / withSubject, missed.join('\n')).toBeGreaterThanOrEqual(FLOORS.captionsNamingSubject);
  });

  it('reads text pages and signs from the first character of their first line', () => {
    const { total, fromFirstCharacter, list } = r.text;
    const lost = list.filter((t) => !t.fromFirstCharacter).map((t) => `${t.photo}: "${t.read.slice(0, 80)}"`);
    expect(total).toBeGreaterThanOrEqual(5);
    expect(fromFirstCharacter / total, lost.join('\n')).toBeGreaterThanOrEqual(FLOORS.textFromFirstCharacter);
  });
});
