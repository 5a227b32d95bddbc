import { describe, expect, it } from 'vitest';
import {
  ASSESSED_CATEGORIES,
  blockedPromptFeedback,
  blocks,
  DEFAULT_THRESHOLD,
  isBlocked,
  mergeRatings,
  NOT_ASSESSED_CATEGORIES,
  PROBABILITY_ORDER,
  probabilityOf,
  safetyRatingsFrom,
  sexuallyExplicitScore,
  SEXY_WEIGHT,
  thresholdFor,
  withBlockedFlags,
  type HarmBlockThreshold,
  type HarmProbability,
  type NsfwScores,
  type SafetyRating,
} from '../../../src/vision/safety/ratings.js';

const SE = 'HARM_CATEGORY_SEXUALLY_EXPLICIT';
const THRESHOLDS: HarmBlockThreshold[] = [
  'HARM_BLOCK_THRESHOLD_UNSPECIFIED',
  'BLOCK_LOW_AND_ABOVE',
  'BLOCK_MEDIUM_AND_ABOVE',
  'BLOCK_ONLY_HIGH',
  'BLOCK_NONE',
  'OFF',
];
const PROBS: HarmProbability[] = ['NEGLIGIBLE', 'LOW', 'MEDIUM', 'HIGH'];

/** Gemini's threshold semantics, written out as a table. */
const BLOCKS: Record<HarmBlockThreshold, HarmProbability[]> = {
  // The model's default, which for Gemini 2.x/3.x is OFF.
  HARM_BLOCK_THRESHOLD_UNSPECIFIED: [],
  BLOCK_LOW_AND_ABOVE: ['LOW', 'MEDIUM', 'HIGH'],
  BLOCK_MEDIUM_AND_ABOVE: ['MEDIUM', 'HIGH'],
  BLOCK_ONLY_HIGH: ['HIGH'],
  BLOCK_NONE: [],
  OFF: [],
};

/** Scores with the given classes and the rest of the mass on `neutral`. */
function scores(s: Partial<NsfwScores>): NsfwScores {
  const base = { drawing: 0, hentai: 0, porn: 0, sexy: 0, ...s };
  const rest = 1 - base.drawing - base.hentai - base.porn - base.sexy;
  return { ...base, neutral: s.neutral ?? Math.max(0, rest) };
}
const rating = (probability: HarmProbability): SafetyRating => ({ category: SE, probability });

describe('probabilityOf: NEGLIGIBLE < 0.5 ≤ LOW < 0.85 ≤ MEDIUM < 0.95 ≤ HIGH', () => {
  it.each([
    [0, 'NEGLIGIBLE'],
    [0.2, 'NEGLIGIBLE'],
    [0.49999, 'NEGLIGIBLE'],
    [0.5, 'LOW'],
    [0.74, 'LOW'], // the worst benign photo measured (a hand close-up, eval/safety.ts)
    [0.84999, 'LOW'],
    [0.85, 'MEDIUM'],
    [0.9, 'MEDIUM'],
    [0.94999, 'MEDIUM'],
    [0.95, 'HIGH'],
    [0.99, 'HIGH'],
    [1, 'HIGH'],
  ] as const)('%f → %s', (score, expected) => {
    expect(probabilityOf(score)).toBe(expected);
  });

  it('is monotonic over the whole range', () => {
    let last = 0;
    for (let i = 0; i <= 1000; i++) {
      const r = PROBABILITY_ORDER.indexOf(probabilityOf(i / 1000));
      expect(r).toBeGreaterThanOrEqual(last);
      last = r;
    }
    expect(last).toBe(3);
  });

  it('refuses NaN', () => {
    expect(() => probabilityOf(Number.NaN)).toThrow(RangeError);
  });
});

describe('sexuallyExplicitScore = porn + hentai + 0.6 × sexy', () => {
  it.each([
    ['neutral only', { neutral: 1 }, 0],
    ['drawing only', { drawing: 1 }, 0],
    ['porn only', { porn: 1 }, 1],
    ['hentai only', { hentai: 1 }, 1],
    ['sexy only', { sexy: 1 }, SEXY_WEIGHT],
    ['porn + hentai add up', { porn: 0.3, hentai: 0.3 }, 0.6],
    ['sexy counts partly', { porn: 0.3, sexy: 0.6 }, 0.3 + 0.6 * SEXY_WEIGHT],
    ['drawing and neutral do not count', { drawing: 0.6, porn: 0.1 }, 0.1],
  ] as const)('%s', (_name, s, expected) => {
    expect(sexuallyExplicitScore(scores(s))).toBeCloseTo(expected, 10);
  });

  it('clamps float overshoot of a softmax to 1', () => {
    expect(sexuallyExplicitScore({ drawing: 0, hentai: 0.50003, neutral: 0, porn: 0.50003, sexy: 0 })).toBe(1);
    expect(sexuallyExplicitScore({ drawing: 1, hentai: -0.00001, neutral: 0, porn: 0, sexy: 0 })).toBe(0);
  });

  it.each([
    ['NaN', { porn: Number.NaN }],
    ['negative', { porn: -0.2 }],
    ['above 1', { porn: 1.5 }],
    ['Infinity', { sexy: Number.POSITIVE_INFINITY }],
  ] as const)('refuses a %s score', (_name, s) => {
    expect(() => sexuallyExplicitScore({ drawing: 0, hentai: 0, neutral: 0, porn: 0, sexy: 0, ...s })).toThrow(RangeError);
  });

  it('refuses a missing class', () => {
    const partial = { drawing: 0, hentai: 0, neutral: 1, porn: 0 } as unknown as NsfwScores;
    expect(() => sexuallyExplicitScore(partial)).toThrow(/sexy/);
  });

  it('a suggestive-only image reaches LOW at most, never MEDIUM', () => {
    for (let i = 0; i <= 100; i++) {
      const sexy = i / 100;
      const p = probabilityOf(sexuallyExplicitScore(scores({ sexy })));
      expect(['NEGLIGIBLE', 'LOW']).toContain(p);
      if (sexy >= 0.84) expect(p).toBe('LOW');
      if (sexy <= 0.8) expect(p).toBe('NEGLIGIBLE');
    }
  });
});

describe('safetyRatingsFrom', () => {
  it.each([
    [{ neutral: 1 }, 'NEGLIGIBLE'],
    [{ drawing: 0.9, porn: 0.05 }, 'NEGLIGIBLE'],
    [{ porn: 0.45 }, 'NEGLIGIBLE'],
    [{ porn: 0.6 }, 'LOW'],
    [{ sexy: 0.9 }, 'LOW'],
    [{ hentai: 0.88 }, 'MEDIUM'],
    [{ porn: 0.7, sexy: 0.3 }, 'MEDIUM'],
    [{ porn: 0.97 }, 'HIGH'],
    [{ porn: 0.6, hentai: 0.38 }, 'HIGH'],
  ] as const)('%o → SEXUALLY_EXPLICIT %s', (s, expected) => {
    expect(safetyRatingsFrom(scores(s))).toEqual([{ category: SE, probability: expected }]);
  });

  it('emits only the assessed category, never made-up ratings for the others', () => {
    const ratings = safetyRatingsFrom(scores({ porn: 0.9 }));
    expect(ratings.map((r) => r.category)).toEqual([...ASSESSED_CATEGORIES]);
    for (const c of NOT_ASSESSED_CATEGORIES) expect(ratings.map((r) => r.category as string)).not.toContain(c);
    expect(ratings[0]).not.toHaveProperty('blocked');
  });
});

describe('blocks(threshold, probability): every pair', () => {
  for (const t of THRESHOLDS)
    for (const p of PROBS) {
      const expected = BLOCKS[t].includes(p);
      it(`${t} ${expected ? 'blocks' : 'lets through'} ${p}`, () => {
        expect(blocks(t, p)).toBe(expected);
      });
    }

  it('stricter thresholds block a superset', () => {
    const order: HarmBlockThreshold[] = ['BLOCK_LOW_AND_ABOVE', 'BLOCK_MEDIUM_AND_ABOVE', 'BLOCK_ONLY_HIGH', 'BLOCK_NONE'];
    for (let i = 1; i < order.length; i++)
      for (const p of PROBS) if (blocks(order[i]!, p)) expect(blocks(order[i - 1]!, p)).toBe(true);
  });
});

describe('thresholdFor', () => {
  it("defaults to OFF (Gemini 2.x/3.x's default) when the request sets nothing", () => {
    expect(DEFAULT_THRESHOLD).toBe('OFF');
    expect(thresholdFor(SE, undefined)).toBe('OFF');
    expect(thresholdFor(SE, [])).toBe('OFF');
  });

  it('reads the setting for the category and ignores the others', () => {
    const settings = [
      { category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_LOW_AND_ABOVE' },
      { category: SE, threshold: 'BLOCK_ONLY_HIGH' },
      { category: 'HARM_CATEGORY_HATE_SPEECH', threshold: 'OFF' },
    ];
    expect(thresholdFor(SE, settings)).toBe('BLOCK_ONLY_HIGH');
    expect(thresholdFor(SE, settings.filter((s) => s.category !== SE))).toBe(DEFAULT_THRESHOLD);
  });

  it('the last entry for a category wins', () => {
    expect(
      thresholdFor(SE, [
        { category: SE, threshold: 'BLOCK_NONE' },
        { category: SE, threshold: 'BLOCK_LOW_AND_ABOVE' },
      ]),
    ).toBe('BLOCK_LOW_AND_ABOVE');
  });

  it('HARM_BLOCK_THRESHOLD_UNSPECIFIED and unknown values mean "not set"', () => {
    expect(thresholdFor(SE, [{ category: SE, threshold: 'HARM_BLOCK_THRESHOLD_UNSPECIFIED' }])).toBe(DEFAULT_THRESHOLD);
    expect(thresholdFor(SE, [{ category: SE, threshold: 'BLOCK_SOME' }])).toBe(DEFAULT_THRESHOLD);
    expect(
      thresholdFor(SE, [
        { category: SE, threshold: 'OFF' },
        { category: SE, threshold: 'HARM_BLOCK_THRESHOLD_UNSPECIFIED' },
      ]),
    ).toBe('OFF');
  });

  it('HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT does not govern SEXUALLY_EXPLICIT', () => {
    expect(thresholdFor(SE, [{ category: 'HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT', threshold: 'OFF' }])).toBe(DEFAULT_THRESHOLD);
  });

  it('takes the fallback it is given', () => {
    expect(thresholdFor(SE, [], 'BLOCK_NONE')).toBe('BLOCK_NONE');
    expect(thresholdFor(SE, [{ category: SE, threshold: 'BLOCK_ONLY_HIGH' }], 'BLOCK_NONE')).toBe('BLOCK_ONLY_HIGH');
  });

  it('ignores the method field (SEVERITY/PROBABILITY)', () => {
    expect(thresholdFor(SE, [{ category: SE, threshold: 'BLOCK_ONLY_HIGH', method: 'SEVERITY' }])).toBe('BLOCK_ONLY_HIGH');
  });
});

describe('isBlocked(ratings, safetySettings)', () => {
  for (const t of THRESHOLDS)
    for (const p of PROBS) {
      const expected = BLOCKS[t].includes(p);
      it(`${SE}: ${t} with ${p} → ${expected ? 'blocked' : 'not blocked'}`, () => {
        const got = isBlocked([rating(p)], [{ category: SE, threshold: t }]);
        expect(got).toEqual(expected ? [{ category: SE, probability: p, blocked: true }] : []);
      });
    }

  for (const p of PROBS) {
    it(`no settings (default OFF) with ${p} → not blocked`, () => {
      expect(isBlocked([rating(p)], undefined)).toEqual([]);
      expect(isBlocked([rating(p)], [])).toEqual([]);
      expect(isBlocked([rating(p)], [{ category: SE, threshold: 'HARM_BLOCK_THRESHOLD_UNSPECIFIED' }])).toEqual([]);
    });
  }

  it('settings for other categories do not touch SEXUALLY_EXPLICIT', () => {
    const others = NOT_ASSESSED_CATEGORIES.map((category) => ({ category, threshold: 'BLOCK_LOW_AND_ABOVE' }));
    expect(isBlocked([rating('LOW')], others)).toEqual([]);
    const othersOff = NOT_ASSESSED_CATEGORIES.map((category) => ({ category, threshold: 'OFF' }));
    expect(isBlocked([rating('MEDIUM')], [...othersOff, { category: SE, threshold: 'BLOCK_MEDIUM_AND_ABOVE' }])).toHaveLength(1);
  });

  it('the default threshold can be changed', () => {
    expect(isBlocked([rating('HIGH')], undefined, { defaultThreshold: 'BLOCK_NONE' })).toEqual([]);
    expect(isBlocked([rating('LOW')], undefined, { defaultThreshold: 'BLOCK_LOW_AND_ABOVE' })).toHaveLength(1);
    expect(isBlocked([rating('HIGH')], [{ category: SE, threshold: 'BLOCK_ONLY_HIGH' }], { defaultThreshold: 'BLOCK_NONE' })).toHaveLength(1);
  });

  it('returns copies and leaves the input alone', () => {
    const input = [rating('HIGH')];
    const out = isBlocked(input, [{ category: SE, threshold: 'BLOCK_ONLY_HIGH' }]);
    expect(out[0]).not.toBe(input[0]);
    expect(input[0]).toEqual({ category: SE, probability: 'HIGH' });
  });

  it('no ratings, no block', () => {
    expect(isBlocked([], [{ category: SE, threshold: 'BLOCK_LOW_AND_ABOVE' }])).toEqual([]);
  });
});

describe('withBlockedFlags', () => {
  it('flags only the blocking ratings', () => {
    const medium = [{ category: SE, threshold: 'BLOCK_MEDIUM_AND_ABOVE' }];
    expect(withBlockedFlags([rating('MEDIUM')], medium)).toEqual([{ category: SE, probability: 'MEDIUM', blocked: true }]);
    expect(withBlockedFlags([rating('LOW')], medium)).toEqual([{ category: SE, probability: 'LOW' }]);
    expect(withBlockedFlags([rating('HIGH')], undefined)).toEqual([{ category: SE, probability: 'HIGH' }]);
    expect(withBlockedFlags([rating('LOW')], [{ category: SE, threshold: 'BLOCK_LOW_AND_ABOVE' }])).toEqual([
      { category: SE, probability: 'LOW', blocked: true },
    ]);
  });

  it('drops a stale blocked flag when the settings no longer block', () => {
    expect(withBlockedFlags([{ category: SE, probability: 'HIGH', blocked: true }], [{ category: SE, threshold: 'OFF' }])).toEqual([
      { category: SE, probability: 'HIGH' },
    ]);
  });
});

describe('mergeRatings (several images in one request)', () => {
  it('keeps the most likely harm per category', () => {
    expect(mergeRatings([[rating('LOW')], [rating('HIGH')], [rating('NEGLIGIBLE')]])).toEqual([rating('HIGH')]);
    expect(mergeRatings([[rating('NEGLIGIBLE')], [rating('MEDIUM')]])).toEqual([rating('MEDIUM')]);
  });

  it('every pair of probabilities merges to the higher', () => {
    for (const a of PROBS)
      for (const b of PROBS) {
        const hi = PROBS.indexOf(a) >= PROBS.indexOf(b) ? a : b;
        expect(mergeRatings([[rating(a)], [rating(b)]])).toEqual([rating(hi)]);
      }
  });

  it('no images, no ratings; blocked flags are dropped', () => {
    expect(mergeRatings([])).toEqual([]);
    expect(mergeRatings([[], []])).toEqual([]);
    expect(mergeRatings([[{ category: SE, probability: 'HIGH', blocked: true }]])).toEqual([rating('HIGH')]);
  });
});

describe('blockedPromptFeedback', () => {
  it("is Gemini's promptFeedback for a blocked prompt", () => {
    const blocked = isBlocked([rating('HIGH')], [{ category: SE, threshold: 'BLOCK_ONLY_HIGH' }]);
    expect(blockedPromptFeedback(blocked)).toEqual({
      promptFeedback: { blockReason: 'SAFETY', safetyRatings: [{ category: SE, probability: 'HIGH', blocked: true }] },
    });
  });

  it('end to end from scores: nothing blocks by default; an explicit-scoring image blocks at MEDIUM, a suggestive one only at LOW', () => {
    const medium = [{ category: SE, threshold: 'BLOCK_MEDIUM_AND_ABOVE' }];
    const explicit = safetyRatingsFrom(scores({ porn: 0.8, sexy: 0.15 })); // 0.89 → MEDIUM
    expect(isBlocked(explicit, undefined)).toEqual([]);
    expect(isBlocked(explicit, medium)).toEqual([{ category: SE, probability: 'MEDIUM', blocked: true }]);
    expect(isBlocked(explicit, [{ category: SE, threshold: 'BLOCK_ONLY_HIGH' }])).toEqual([]);
    const suggestive = safetyRatingsFrom(scores({ sexy: 0.95 })); // 0.57 → LOW
    expect(isBlocked(suggestive, medium)).toEqual([]);
    expect(isBlocked(suggestive, [{ category: SE, threshold: 'BLOCK_LOW_AND_ABOVE' }])).toHaveLength(1);
    // The worst benign photo measured (a hand close-up: porn 0.73) is LOW, not blocked at MEDIUM.
    const hand = safetyRatingsFrom(scores({ porn: 0.731, sexy: 0.003, hentai: 0.004 }));
    expect(hand).toEqual([{ category: SE, probability: 'LOW' }]);
    expect(isBlocked(hand, medium)).toEqual([]);
  });
});
