import { describe, expect, it } from 'vitest';
import {
  type BoxMask,
  bestMaskIndex,
  boxPrompt,
  cropLogitsToProbs,
  foregroundFraction,
  maskSize,
  normaliseBox,
  sigmoidByte,
  tightenMask,
} from '../../../src/vision/segment/postprocess.js';
import { frameGeometry } from '../../../src/vision/segment/preprocess.js';

describe('normaliseBox', () => {
  it('clamps to the image and orders the corners', () => {
    expect(normaliseBox([0.2, 0.3, 0.6, 0.9])).toEqual([0.2, 0.3, 0.6, 0.9]);
    expect(normaliseBox([0.6, 0.9, 0.2, 0.3])).toEqual([0.2, 0.3, 0.6, 0.9]);
    expect(normaliseBox([-0.1, -2, 1.5, 0.5])).toEqual([0, 0, 1, 0.5]);
  });
  it('rejects boxes without area or with bad numbers', () => {
    expect(() => normaliseBox([0.5, 0.1, 0.5, 0.9])).toThrow(RangeError);
    expect(() => normaliseBox([1.2, 0.1, 1.5, 0.9])).toThrow(RangeError); // entirely right of the image
    expect(() => normaliseBox([Number.NaN, 0, 1, 1])).toThrow(RangeError);
    expect(() => normaliseBox([0, 0, 1])).toThrow(RangeError);
  });
});

describe('boxPrompt', () => {
  it('puts the corners in 1024-frame pixels with labels 2 and 3', () => {
    const geo = frameGeometry(768, 576); // frame 1024×768
    const { pointCoords, pointLabels } = boxPrompt([0.25, 0.5, 0.75, 1], geo);
    expect(Array.from(pointCoords)).toEqual([256, 384, 768, 768]);
    expect(Array.from(pointLabels)).toEqual([2, 3]);
  });
  it('matches pixel coords × scale for a 12 MP photo', () => {
    const geo = frameGeometry(4000, 3000);
    // box 1000..3000 × 750..2250 px
    const { pointCoords } = boxPrompt([0.25, 0.25, 0.75, 0.75], geo);
    const s = 1024 / 4000;
    expect(Array.from(pointCoords)).toEqual([1000 * s, 750 * s, 3000 * s, 2250 * s]);
  });
});

describe('maskSize', () => {
  it('is the box pixel size, capped at 256 on the long side, never upscaled', () => {
    expect(maskSize([130 / 768, 220 / 576, 312 / 768, 542 / 576], 768, 576)).toEqual({ width: 145, height: 256 });
    expect(maskSize([0, 0, 10 / 768, 5 / 576], 768, 576)).toEqual({ width: 10, height: 5 });
    expect(maskSize([0, 0, 1, 1], 4000, 3000)).toEqual({ width: 256, height: 192 });
    expect(maskSize([0, 0, 1, 1], 4000, 3000, 1024)).toEqual({ width: 1024, height: 768 });
    expect(maskSize([0.5, 0.5, 0.5001, 0.5001], 100, 100)).toEqual({ width: 1, height: 1 });
  });
});

describe('bestMaskIndex / sigmoidByte', () => {
  it('picks the highest predicted IoU', () => {
    expect(bestMaskIndex([0.5])).toBe(0);
    expect(bestMaskIndex(Float32Array.of(0.7, 0.95, 0.9))).toBe(1);
    expect(bestMaskIndex([0.9, 0.2, 0.91])).toBe(2);
  });
  it('maps logit 0 to 128 so ≥128 means SAM foreground', () => {
    expect(sigmoidByte(0)).toBe(128);
    expect(sigmoidByte(-0.01)).toBe(127);
    expect(sigmoidByte(0.01)).toBe(128);
    expect(sigmoidByte(100)).toBe(255);
    expect(sigmoidByte(-100)).toBe(0);
    expect(sigmoidByte(Math.log(3))).toBe(Math.round(255 * 0.75));
  });
});

describe('cropLogitsToProbs', () => {
  it('is sigmoid(logits) for the full box at the map size', () => {
    const logits = Float32Array.of(-3, -1, 0, 1, 3, 8);
    const probs = cropLogitsToProbs(logits, 3, 2, [0, 0, 1, 1], 3, 2);
    expect(Array.from(probs)).toEqual(Array.from(logits, sigmoidByte));
  });

  it('crops the box region (pixel-centre sampling) and keeps row-major order', () => {
    // 8×4 map: foreground (+10) only in the top-right quadrant x∈[4,8), y∈[0,2)
    const W = 8;
    const H = 4;
    const logits = new Float32Array(W * H).map((_, i) => ((i % W) >= 4 && Math.floor(i / W) < 2 ? 10 : -10));
    expect(Array.from(cropLogitsToProbs(logits, W, H, [0.5, 0, 1, 0.5], 4, 2))).toEqual(new Array(8).fill(255));
    expect(Array.from(cropLogitsToProbs(logits, W, H, [0, 0.5, 0.5, 1], 4, 2))).toEqual(new Array(8).fill(0));
    // box straddling the edge: x 2..6, y 0..2 → columns 2,3 background, 4,5 foreground
    expect(Array.from(cropLogitsToProbs(logits, W, H, [0.25, 0, 0.75, 0.5], 4, 2))).toEqual([0, 0, 255, 255, 0, 0, 255, 255]);
    // downsampled 2×1: centres at x=3 (bg) and x=5 (fg)
    expect(Array.from(cropLogitsToProbs(logits, W, H, [0.25, 0, 0.75, 0.5], 2, 1))).toEqual([0, 255]);
  });

  it('interpolates logits bilinearly (align_corners=false) before the sigmoid when upsampling', () => {
    const logits = Float32Array.of(-4, 4);
    const probs = cropLogitsToProbs(logits, 2, 1, [0, 0, 1, 1], 4, 1);
    // sample x = -0.25→0 (clamped), 0.25, 0.75, 1.25→1
    expect(Array.from(probs)).toEqual([-4, -2, 2, 4].map(sigmoidByte));
  });

  it('rejects a logits buffer smaller than the map', () => {
    expect(() => cropLogitsToProbs(new Float32Array(5), 3, 2, [0, 0, 1, 1], 3, 2)).toThrow(RangeError);
  });
});

describe('tightenMask / foregroundFraction', () => {
  const block = (): BoxMask => {
    const probs = new Uint8Array(100);
    for (let y = 3; y <= 8; y++) for (let x = 2; x <= 5; x++) probs[y * 10 + x] = 200;
    probs[0] = 127; // below threshold: ignored
    return { box: [0, 0, 1, 1], width: 10, height: 10, probs, score: 0.9 };
  };
  it('shrinks box and mask to the foreground extent, aligned to mask pixels', () => {
    const t = tightenMask(block());
    expect(t.width).toBe(4);
    expect(t.height).toBe(6);
    t.box.forEach((v, i) => expect(v).toBeCloseTo([0.2, 0.3, 0.6, 0.9][i] as number, 10));
    expect(Array.from(t.probs).every((v) => v === 200)).toBe(true);
    expect(t.score).toBe(0.9);
  });
  it('works inside a sub-box', () => {
    const m = { ...block(), box: [0.5, 0.5, 1, 1] as [number, number, number, number] };
    const t = tightenMask(m);
    t.box.forEach((v, i) => expect(v).toBeCloseTo([0.6, 0.65, 0.8, 0.95][i] as number, 10));
  });
  it('leaves empty and full masks alone', () => {
    const empty: BoxMask = { box: [0.1, 0.1, 0.2, 0.2], width: 3, height: 3, probs: new Uint8Array(9), score: 0 };
    expect(tightenMask(empty)).toBe(empty);
    const full: BoxMask = { ...empty, probs: new Uint8Array(9).fill(255) };
    expect(tightenMask(full)).toBe(full);
  });
  it('counts the foreground share', () => {
    expect(foregroundFraction(block())).toBeCloseTo(24 / 100, 10);
    expect(foregroundFraction({ probs: new Uint8Array(0) })).toBe(0);
  });
});
