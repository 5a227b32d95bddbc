import { describe, expect, it } from 'vitest';
import {
  countImageTokens,
  effectiveMediaResolution,
  imageTiles,
  imageTokenPolicyFor,
  parseMediaResolution,
} from '../../src/media/tokens.js';

describe('tiling policies: the contract §6.2 worked examples', () => {
  // [width, height, tokens with the unclamped 2.x rule, tokens with the 1.5 clamp]
  it.each([
    [384, 384, 258, 258],
    [960, 540, 1548, 1548],
    [1024, 768, 1032, 1032],
    [1920, 1080, 1548, 1548],
    [3000, 2000, 1548, 3096],
    [4000, 3000, 1032, 6192],
  ])('%ix%i → %i (2.x) / %i (1.5)', (width, height, twoX, onePointFive) => {
    expect(countImageTokens('tiles-2x', { width, height })).toBe(twoX);
    expect(countImageTokens('tiles-1.5', { width, height })).toBe(onePointFive);
  });

  it('counts the documented tiles', () => {
    expect(imageTiles(960, 540, false)).toBe(6); // crop 360: 3 x 2
    expect(imageTiles(3000, 2000, true)).toBe(12); // crop clamped to 768: 4 x 3
    expect(imageTiles(4000, 3000, true)).toBe(24); // 6 x 4
  });

  it('is one tile while both sides are ≤ 384, and tiles once either is larger', () => {
    expect(countImageTokens('tiles-2x', { width: 1, height: 1 })).toBe(258);
    expect(countImageTokens('tiles-2x', { width: 384, height: 200 })).toBe(258);
    expect(countImageTokens('tiles-2x', { width: 385, height: 385 })).toBe(4 * 258); // crop 256: 2 x 2
  });

  it('guards crop = 0 for images a pixel thin', () => {
    expect(countImageTokens('tiles-2x', { width: 1, height: 1000 })).toBe(1000 * 258); // crop 1
    expect(countImageTokens('tiles-1.5', { width: 1, height: 1000 })).toBe(4 * 258); // crop 256
    expect(Number.isFinite(countImageTokens('tiles-2x', { width: 1000, height: 1 }))).toBe(true);
  });

  it('rejects impossible sizes', () => {
    expect(() => countImageTokens('tiles-2x', { width: 0, height: 10 })).toThrow(RangeError);
  });
});

describe('mediaResolution', () => {
  it('2.x: LOW 64, MEDIUM 256, HIGH 256, unspecified → tiles', () => {
    const size = { width: 1920, height: 1080 };
    expect(countImageTokens('tiles-2x', { ...size, mediaResolution: 'MEDIA_RESOLUTION_LOW' })).toBe(64);
    expect(countImageTokens('tiles-2x', { ...size, mediaResolution: 'MEDIA_RESOLUTION_MEDIUM' })).toBe(256);
    expect(countImageTokens('tiles-2x', { ...size, mediaResolution: 'MEDIA_RESOLUTION_HIGH' })).toBe(256);
    expect(countImageTokens('tiles-2x', { ...size, mediaResolution: 'MEDIA_RESOLUTION_UNSPECIFIED' })).toBe(1548);
    expect(countImageTokens('tiles-2x', size)).toBe(1548);
  });

  it('gemini3: LOW 280, MEDIUM 560, HIGH 1120 (default), ULTRA_HIGH 2240, whatever the size', () => {
    for (const size of [
      { width: 64, height: 64 },
      { width: 4000, height: 3000 },
    ]) {
      expect(countImageTokens('gemini3', size)).toBe(1120);
      expect(countImageTokens('gemini3', { ...size, mediaResolution: 'MEDIA_RESOLUTION_UNSPECIFIED' })).toBe(1120);
      expect(countImageTokens('gemini3', { ...size, mediaResolution: 'MEDIA_RESOLUTION_LOW' })).toBe(280);
      expect(countImageTokens('gemini3', { ...size, mediaResolution: 'MEDIA_RESOLUTION_MEDIUM' })).toBe(560);
      expect(countImageTokens('gemini3', { ...size, mediaResolution: 'MEDIA_RESOLUTION_HIGH' })).toBe(1120);
      expect(countImageTokens('gemini3', { ...size, partMediaResolution: 'MEDIA_RESOLUTION_ULTRA_HIGH' })).toBe(2240);
    }
  });

  it("a part's level overrides the request's", () => {
    const size = { width: 800, height: 600 };
    expect(
      countImageTokens('gemini3', { ...size, mediaResolution: 'MEDIA_RESOLUTION_LOW', partMediaResolution: 'MEDIA_RESOLUTION_HIGH' }),
    ).toBe(1120);
    expect(
      countImageTokens('gemini3', { ...size, mediaResolution: 'MEDIA_RESOLUTION_HIGH', partMediaResolution: 'MEDIA_RESOLUTION_LOW' }),
    ).toBe(280);
    // An unspecified part level leaves the request's in force.
    expect(
      countImageTokens('gemini3', { ...size, mediaResolution: 'MEDIA_RESOLUTION_MEDIUM', partMediaResolution: 'MEDIA_RESOLUTION_UNSPECIFIED' }),
    ).toBe(560);
    expect(countImageTokens('tiles-2x', { ...size, mediaResolution: 'MEDIA_RESOLUTION_HIGH', partMediaResolution: 'MEDIA_RESOLUTION_LOW' })).toBe(64);
  });

  it('fixed258 ignores size and resolution', () => {
    expect(countImageTokens('fixed258', { width: 4000, height: 3000 })).toBe(258);
    expect(countImageTokens('fixed258', { width: 4000, height: 3000, mediaResolution: 'MEDIA_RESOLUTION_LOW' })).toBe(258);
  });

  it('parses level spellings', () => {
    expect(parseMediaResolution('MEDIA_RESOLUTION_ULTRA_HIGH')).toBe('ULTRA_HIGH');
    expect(parseMediaResolution('low')).toBe('LOW');
    expect(parseMediaResolution(undefined)).toBe('UNSPECIFIED');
    expect(parseMediaResolution('MEDIA_RESOLUTION_BOGUS')).toBe('UNSPECIFIED');
    expect(effectiveMediaResolution({ mediaResolution: 'MEDIA_RESOLUTION_LOW' })).toBe('LOW');
  });
});

describe('imageTokenPolicyFor', () => {
  it.each([
    ['gemini-1.0-pro-vision', 'fixed258'],
    ['gemini-1.0-pro-vision-001', 'fixed258'],
    ['gemini-pro-vision', 'fixed258'],
    ['gemini-1.5-flash', 'tiles-1.5'],
    ['gemini-1.5-pro-002', 'tiles-1.5'],
    ['models/gemini-1.5-flash-8b', 'tiles-1.5'],
    ['gemini-2.0-flash', 'tiles-2x'],
    ['gemini-2.0-flash-lite', 'tiles-2x'],
    ['gemini-2.5-flash', 'tiles-2x'],
    ['models/gemini-2.5-pro', 'tiles-2x'],
    ['gemini-flash-latest', 'tiles-2x'],
    ['gemini-3-pro-preview', 'gemini3'],
    ['gemini-3-flash-preview', 'gemini3'],
    ['gemini-3.1-flash-lite-preview', 'gemini3'],
    ['models/gemini-3.5-flash', 'gemini3'],
    ['something-else', 'tiles-2x'],
  ])('%s → %s', (model, policy) => {
    expect(imageTokenPolicyFor(model)).toBe(policy);
  });
});
