import { describe, expect, it } from 'vitest';
import { assembleBlazeFaceOutputs, blazeFaceAnchors, decodeBlazeFace, EMOTION_LABELS, expressionFromScores } from '../../../src/vision/people/face.js';
import { EXPRESSIONS } from '../../../src/vision/people/types.js';

describe('BlazeFace anchors', () => {
  const a = blazeFaceAnchors(256);
  it('has 16×16×2 + 8×8×6 = 896 anchors, stride-16 grid first', () => {
    expect(a.length).toBe(896 * 2);
    expect([a[0], a[1], a[2], a[3]]).toEqual([8, 8, 8, 8]); // two anchors per cell
    expect([a[4], a[5]]).toEqual([24, 8]); // next column
    expect([a[2 * 511], a[2 * 511 + 1]]).toEqual([248, 248]); // last stride-16 anchor
    expect([a[2 * 512], a[2 * 512 + 1]]).toEqual([16, 16]); // first stride-32 anchor
    expect([a[2 * 895], a[2 * 895 + 1]]).toEqual([240, 240]);
  });
});

describe('decodeBlazeFace', () => {
  const anchors = Float32Array.from([8, 8, 24, 8]);
  const logit = (p: number) => Math.log(p / (1 - p));
  it('keeps rows at or above the score and decodes centre offsets and sizes', () => {
    const logits = Float32Array.from([logit(0.9), logit(0.2)]);
    const reg = new Float32Array(32);
    reg.set([2, -1, 10, 20], 0); // anchor (8,8) + (2,-1) → centre (10,7), 10×20
    reg.set([0, 0, 4, 4], 16);
    const out = decodeBlazeFace(logits, reg, anchors, 0.5);
    expect(out).toHaveLength(1);
    expect(out[0]!.score).toBeCloseTo(0.9, 6);
    expect(out[0]!.box).toEqual([5, -3, 15, 17]);
  });

  it('drops empty boxes and checks the shapes agree', () => {
    const reg = new Float32Array(32);
    expect(decodeBlazeFace(Float32Array.from([5, 5]), reg, anchors, 0.5)).toEqual([]);
    expect(() => decodeBlazeFace(Float32Array.from([5]), reg, anchors, 0.5)).toThrow(RangeError);
  });

  it('assembles the four graph outputs in anchor order whatever order they come in', () => {
    const mk = (rows: number, cols: number, v: number) => ({ shape: [1, rows, cols], data: new Float32Array(rows * cols).fill(v) });
    const { logits, regressors } = assembleBlazeFaceOutputs([mk(384, 16, 4), mk(512, 1, 1), mk(384, 1, 2), mk(512, 16, 3)]);
    expect(logits.length).toBe(896);
    expect([logits[0], logits[511], logits[512], logits[895]]).toEqual([1, 1, 2, 2]);
    expect([regressors[0], regressors[512 * 16 - 1], regressors[512 * 16], regressors[896 * 16 - 1]]).toEqual([3, 3, 4, 4]);
    expect(() => assembleBlazeFaceOutputs([mk(512, 1, 0)])).toThrow(/missing/);
  });
});

describe('expressions', () => {
  it('has the FER-2013 order and covers every expression', () => {
    expect(EMOTION_LABELS).toEqual(['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']);
    expect([...EMOTION_LABELS].sort()).toEqual([...EXPRESSIONS].sort());
  });

  it('takes the arg-max', () => {
    expect(expressionFromScores([0.01, 0, 0.02, 0.9, 0.03, 0.01, 0.03])).toEqual({ label: 'happy', score: 0.9 });
    expect(expressionFromScores([0.1, 0, 0, 0, 0, 0, 0.123456])).toEqual({ label: 'neutral', score: 0.1235 });
    expect(expressionFromScores([NaN, NaN, NaN, NaN, NaN, NaN, NaN])).toBeNull();
    expect(() => expressionFromScores([1, 0])).toThrow(RangeError);
  });
});
