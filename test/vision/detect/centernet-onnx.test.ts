/**
 * CenterNet converted to ONNX against the TF.js graph it came from, on two real photos: the
 * same 8-bit input gives the same heat-map and box sizes (to 1e-4), and the whole pipeline
 * (each with its own decode: the graph's tail on TF.js, decodeCenterNetMaps on ORT) gives
 * the same detections. Plus the decoder's peak test and box arithmetic on made-up maps.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CENTERNET_INPUT, type CenterNetDetector } from '../../../src/vision/detect/centernet.js';
import { centerNetOnnxSpec, decodeCenterNetMaps, OnnxCenterNetDetector } from '../../../src/vision/detect/centernet-onnx.js';
import { createDetector, createTfjsDetector, type RgbImage } from '../../../src/vision/detect/index.js';
import { iou } from '../../../src/vision/detect/nms.js';
import { resizeBilinearTf } from '../../support/tf-resize.js';
import { tf } from '../../../src/vision/detect/tfjs-model.js';
import { fixturePath } from '../../support/fixtures.js';

async function decode(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

describe('decodeCenterNetMaps', () => {
  const side = 4;
  const maps = () => ({ heat: new Float32Array(side * side * 80), sizes: new Float32Array(side * side * 4) });
  const at = (x: number, y: number, c = 0) => (y * side + x) * 80 + c;

  it('keeps 3×3 peaks of each class and builds boxes from the cell and the four sizes', () => {
    const { heat, sizes } = maps();
    heat[at(1, 1, 16)] = 0.9; // a dog peak
    heat[at(2, 1, 16)] = 0.5; // its neighbour, not a peak
    heat[at(2, 1, 17)] = 0.6; // another class at the neighbour's cell: a peak of its own
    heat[at(1, 1, 17)] = 0.3; // the dog cell's runner-up class
    sizes.set([2, 3, 4, 5], (1 * side + 1) * 4);
    const c = decodeCenterNetMaps(heat, sizes, side, 0.2, 100, 16);
    expect(c.map((k) => [k.classIndex, k.score])).toEqual([
      [16, expect.closeTo(0.9, 6)],
      [17, expect.closeTo(0.6, 6)],
    ]);
    // cell (1, 1) at stride 4 is pixel (4, 4): box (4−2, 4−3, 4+4, 4+5) of a 16-px input.
    expect(c[0]!.box.map((v) => +v.toFixed(4))).toEqual([2 / 16, 1 / 16, 8 / 16, 9 / 16]);
    // Every class's heat at the peak's cell rides along, for the fused detector.
    expect(c[0]!.classScores![17]).toBeCloseTo(0.3, 6);
  });

  it("keeps ties (as the graph's Equal does), stops the window at the border, and caps the count", () => {
    const { heat, sizes } = maps();
    heat[at(0, 0)] = 0.5;
    heat[at(1, 0)] = 0.5;
    heat[at(3, 3)] = 0.4;
    expect(decodeCenterNetMaps(heat, sizes, side, 0.1).length).toBe(3);
    expect(decodeCenterNetMaps(heat, sizes, side, 0.1, 2).map((k) => k.score)).toEqual([0.5, 0.5]);
    expect(decodeCenterNetMaps(heat, sizes, side, 0.45).length).toBe(2);
  });

  it('refuses maps of the wrong size', () => {
    expect(() => decodeCenterNetMaps(new Float32Array(10), new Float32Array(64), side, 0.1)).toThrow(RangeError);
  });
});

const PHOTOS = ['dog.jpg', 'horses.jpg'] as const;

describe('CenterNet: onnxruntime vs TF.js', () => {
  let onnx: OnnxCenterNetDetector;
  let tfjs: CenterNetDetector;
  const images = new Map<string, RgbImage>();

  beforeAll(async () => {
    onnx = createDetector('centernet') as OnnxCenterNetDetector;
    tfjs = createTfjsDetector('centernet') as CenterNetDetector;
    await Promise.all([onnx.load(), tfjs.load()]);
    for (const p of PHOTOS) images.set(p, await decode(fixturePath(p)));
  }, 120_000);
  afterAll(() => {
    onnx?.dispose();
    tfjs?.dispose();
  });

  it('runs on onnxruntime by default', () => {
    expect(onnx).toBeInstanceOf(OnnxCenterNetDetector);
  });

  for (const photo of PHOTOS) {
    it(`${photo}: the same input gives the same heat-map and box sizes (to 1e-4)`, async () => {
      const input = await resizeBilinearTf(images.get(photo)!, CENTERNET_INPUT);
      const mine = await onnx.infer(input);
      const x = tf.tensor4d(Float32Array.from(input), [1, CENTERNET_INPUT, CENTERNET_INPUT, 3]);
      const outs = tfjs.graphModel!.execute(x, ['tower_0/keypoints', 'tower_0/wh']) as tf.Tensor[];
      const [heat, sizes] = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
      tf.dispose([x, ...outs]);
      expect(mine.heat.length).toBe(heat!.length);
      expect(mine.sizes.length).toBe(sizes!.length);
      let maxHeat = 0;
      let maxSize = 0;
      for (let i = 0; i < heat!.length; i++) maxHeat = Math.max(maxHeat, Math.abs(mine.heat[i]! - heat![i]!));
      // Sizes are in input pixels (up to ~500): compared as a share of the input side.
      for (let i = 0; i < sizes!.length; i++) maxSize = Math.max(maxSize, Math.abs(mine.sizes[i]! - sizes![i]!) / CENTERNET_INPUT);
      // Measured ~1e-6 (heat) and ~1e-5 (sizes) with the hard activations rewritten (hard-activations.ts).
      expect(maxHeat).toBeLessThan(1e-4);
      expect(maxSize).toBeLessThan(1e-4);
    });

    it(`${photo}: the detections agree (labels, scores within 0.03, boxes IoU ≥ 0.95)`, async () => {
      const img = images.get(photo)!;
      const [a, b] = [await onnx.detect(img), await tfjs.detect(img)];
      expect(b.length).toBeGreaterThan(0);
      expect(a.length).toBe(b.length);
      for (const d of b) {
        const match = a.find((e) => e.label === d.label && iou(e.box, d.box) >= 0.95);
        expect(match, `${d.label} ${d.score} in ${JSON.stringify(a)}`).toBeDefined();
        expect(Math.abs(match!.score - d.score)).toBeLessThan(0.03);
      }
    });
  }
});

describe('CenterNet at another input side', () => {
  it('converts for multiples of 32 only, with the upsamplings as ×2', () => {
    expect(centerNetOnnxSpec().resizeFactor).toBeUndefined();
    expect(centerNetOnnxSpec(448)).toMatchObject({ inputShape: [1, 448, 448, 3], resizeFactor: 2 });
    expect(() => centerNetOnnxSpec(450)).toThrow(RangeError);
  });

  it("at 448 still finds dog.jpg's dog and bicycle, with boxes within the photo", async () => {
    const det = new OnnxCenterNetDetector({ inputSize: 448 });
    try {
      const dets = await det.detect(await decode(fixturePath('dog.jpg')), { minScore: 0.3 });
      expect(dets.map((d) => d.label)).toEqual(expect.arrayContaining(['dog', 'bicycle']));
      for (const d of dets) for (const v of d.box) expect(v >= 0 && v <= 1).toBe(true);
    } finally {
      det.dispose();
    }
  }, 60_000);
});
