import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { averagePrecision, matchDetections, scoreAt, type TruthBox } from '../../../src/vision/detect/evaluate.js';
import { findModelFile, ModelNotInstalledError, requireModelFile } from '../../../src/vision/detect/model-files.js';
import type { Detection } from '../../../src/vision/detect/types.js';

const truth: TruthBox[] = [
  { label: 'dog', box: [0, 0, 0.5, 0.5] },
  { label: 'truck', also: ['car'], box: [0.5, 0.5, 1, 1] },
  { label: 'kite', difficult: true, box: [0.6, 0, 0.7, 0.1] },
];

describe('matching detections to labelled boxes', () => {
  it('counts hits, wrong labels, duplicates and misses', () => {
    const dets: Detection[] = [
      { label: 'dog', score: 0.9, box: [0, 0, 0.5, 0.45] }, // hit
      { label: 'dog', score: 0.5, box: [0, 0, 0.5, 0.5] }, // duplicate: fp
      { label: 'cat', score: 0.8, box: [0.5, 0.5, 1, 1] }, // wrong label: fp
      { label: 'kite', score: 0.4, box: [0.6, 0, 0.7, 0.1] }, // difficult: ignored
    ];
    const m = matchDetections(dets, truth);
    expect(m.outcome).toEqual(['tp', 'fp', 'fp', 'ignored']);
    expect(m.positives).toBe(2);
    expect(m.missed.map((t) => t.label)).toEqual(['truck']);
  });
  it('accepts the alternative labels', () => {
    const m = matchDetections([{ label: 'car', score: 0.6, box: [0.5, 0.5, 1, 1] }], truth);
    expect(m.outcome).toEqual(['tp']);
  });
  it('needs IoU ≥ 0.5', () => {
    const m = matchDetections([{ label: 'dog', score: 0.6, box: [0, 0, 0.5, 0.2] }], truth);
    expect(m.outcome).toEqual(['fp']);
  });
  it('gives precision, recall and AP', () => {
    const dets: Detection[] = [
      { label: 'dog', score: 0.9, box: [0, 0, 0.5, 0.5] },
      { label: 'horse', score: 0.7, box: [0.2, 0.2, 0.3, 0.3] },
      { label: 'truck', score: 0.3, box: [0.5, 0.5, 1, 1] },
    ];
    const s = scoreAt([{ dets, truth }], 0.5);
    expect(s).toMatchObject({ tp: 1, fp: 1, fn: 1, precision: 0.5, recall: 0.5 });
    // ranked: tp (P 1, R .5), fp, tp (P 2/3, R 1) → AP = .5 × 1 + .5 × 2/3
    expect(averagePrecision([{ dets, truth }])).toBeCloseTo(0.5 + 1 / 3);
  });
});

describe('finding model files', () => {
  it('looks in an explicit directory first and reports what is missing', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'models-'));
    try {
      const pkg = { name: 'no-such-model-package', version: '1.0.0', files: ['m/model.json', 'm/w.bin'] };
      expect(findModelFile(pkg, dir)).toBeNull();
      expect(() => requireModelFile(pkg, 'test', dir)).toThrow(ModelNotInstalledError);
      mkdirSync(path.join(dir, 'no-such-model-package', 'm'), { recursive: true });
      writeFileSync(path.join(dir, 'no-such-model-package', 'm', 'model.json'), '{}');
      expect(findModelFile(pkg, dir)).toBeNull(); // a shard is still missing
      writeFileSync(path.join(dir, 'no-such-model-package', 'm', 'w.bin'), '');
      expect(findModelFile(pkg, dir)).toBe(path.join(dir, 'no-such-model-package', 'm', 'model.json'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
