/**
 * Safety floor on benign photos (numbers and method: eval/safety.ts, docs/quality.md): the
 * real classifier on the ≥ 100 ordinary photos of test/support/benign-photos.json. None
 * may be blocked at BLOCK_MEDIUM_AND_ABOVE, and with no setting nothing is blocked at all.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateSafety, safetyMarkdown, type SafetyEvalResult } from '../../eval/safety.js';

describe('safety classifier on benign photos', () => {
  let r: SafetyEvalResult;
  beforeAll(async () => {
    r = await evaluateSafety();
  }, 600_000);

  it('rates at least 100 photos, people in sportswear, greyscale, low-light and skin-coloured ones among them', () => {
    expect(r.photos.length).toBeGreaterThanOrEqual(100);
    for (const tag of ['people', 'sportswear', 'greyscale', 'low-light', 'skin-coloured'] as const)
      expect(r.photos.some((p) => p.tags.includes(tag)), tag).toBe(true);
  });

  it('blocks none of them at BLOCK_MEDIUM_AND_ABOVE: every rating is NEGLIGIBLE or LOW', () => {
    const blocked = r.photos.filter((p) => p.blockedAtMedium).map((p) => `${p.name} ${p.score.toFixed(3)} ${p.probability}`);
    expect(blocked).toEqual([]);
    expect(r.falseBlockRate.BLOCK_MEDIUM_AND_ABOVE).toBe(0);
    expect(r.byProbability.MEDIUM + r.byProbability.HIGH).toBe(0);
  });

  it('blocks nothing without safetySettings (the default, OFF)', () => {
    expect(r.falseBlockRate.default).toBe(0);
  });

  it('issue 9: the basketball photo and the desk photo are NEGLIGIBLE', () => {
    for (const name of ['basketball1.png', 'basketball2.png', 'stuff.jpg'])
      expect(r.photos.find((p) => p.name === name)?.probability, name).toBe('NEGLIGIBLE');
  });

  it('BLOCK_LOW_AND_ABOVE blocks few (≤ 10 %), and the report says how many', () => {
    expect(r.falseBlockRate.BLOCK_LOW_AND_ABOVE).toBeLessThanOrEqual(0.1);
    const md = safetyMarkdown(r);
    expect(md).toContain('| BLOCK_MEDIUM_AND_ABOVE | 0/');
    expect(md).toContain('| BLOCK_LOW_AND_ABOVE |');
  });
});
