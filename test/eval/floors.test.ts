/**
 * Quality floors of the offline engine (numbers and method: docs/quality.md, eval/). A
 * change that makes detection, captions, masks or text reading worse than these fails.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, type EvalResult } from '../../eval/evaluate.js';

describe('quality floors of the offline engine', () => {
  let r: EvalResult;
  beforeAll(async () => {
    r = await evaluate();
  }, 600_000);

  it('detects COCO objects on the darknet photos: precision ≥ 0.7, recall ≥ 0.75 at IoU 0.5', () => {
    expect(r.detection.precision).toBeGreaterThanOrEqual(0.7);
    expect(r.detection.recall).toBeGreaterThanOrEqual(0.75);
  });

  it('captions name what is there (recall ≥ 0.85) and no wrong class beyond the known livestock confusion', () => {
    expect(r.captions!.mentionRecall).toBeGreaterThanOrEqual(0.85);
    // The default (SSD + CenterNet fused, issue 9) still calls person.jpg's horse a sheep
    // (SSD sheep 0.93, CenterNet sheep 0.30 / horse 0.27): the floor is that one, no others
    // (SSD alone also called one of horses.jpg's horses a cow; CenterNet's horse 0.68 fixes it).
    const wrong = r.photos.flatMap((p) => (p.hallucinated ?? []).map((h) => `${p.photo}: ${h}`));
    for (const w of wrong) expect(['person.jpg: sheep']).toContain(w);
  });

  it.fails('captions name nothing that is not there (zero hallucinated objects: issue 9 target, not met: the horse of person.jpg is still called a sheep)', () => {
    expect(r.photos.flatMap((p) => p.hallucinated ?? [])).toEqual([]);
  });

  it('masks on detector boxes match the hand-checked references: mean IoU ≥ 0.85', () => {
    expect(r.masks!.count).toBeGreaterThanOrEqual(10);
    expect(r.masks!.meanIou).toBeGreaterThanOrEqual(0.85);
  });

  it('reads rendered English (tesseract) and Chinese (PP-OCRv4) text with ≥ 95% character accuracy', () => {
    expect(r.ocr!.map((o) => o.name)).toEqual(expect.arrayContaining(['traditional', 'simplified']));
    for (const o of r.ocr!) expect(o.accuracy, `${o.name}: "${o.read}"`).toBeGreaterThanOrEqual(0.95);
  });
});
