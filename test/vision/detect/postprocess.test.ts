/**
 * Pre- and post-processing of each detector on synthetic tensors and arrays: no weights.
 * The TF.js tests run on the real wasm backend (initialised once per file).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { COCO_CLASSES } from '../../../src/vision/detect/coco.js';
import { CENTERNET_INPUT, CenterNetDetector, decodeCenterNet } from '../../../src/vision/detect/centernet.js';
import { decodeNanoDet, distributionMean, NANODET_INPUT, NanoDetDetector, type NanoDetLevel } from '../../../src/vision/detect/nanodet.js';
import { cxcywhToCorners, fromLetterbox, fromStretch, letterbox, letterboxTensor, stretchTensor } from '../../../src/vision/detect/preprocess.js';
import { decodeSsd, SSD_INPUT, SsdMobileNetDetector } from '../../../src/vision/detect/ssd-mobilenet.js';
import { initWasmBackend, tf } from '../../../src/vision/detect/tfjs-model.js';
import { decodeYolo, YOLOV5_INPUT, YoloV5Detector } from '../../../src/vision/detect/yolov5.js';
import type { Box, RgbImage } from '../../../src/vision/detect/types.js';

const cls = (name: string) => COCO_CLASSES.indexOf(name as (typeof COCO_CLASSES)[number]);
const close = (actual: Box, expected: Box, digits = 4) => actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, digits));

function solid(width: number, height: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { width, height, rgb: data };
}

describe('letterbox geometry', () => {
  it('fits a landscape photo into the square, centred vertically', () => {
    const lb = letterbox(768, 576, 640);
    expect(lb).toMatchObject({ size: 640, width: 640, height: 480, padX: 0, padY: 80 });
    expect(lb.scale).toBeCloseTo(640 / 768);
  });
  it('fits a portrait photo, centred horizontally, odd padding going right', () => {
    const lb = letterbox(352, 449, 640);
    expect(lb.height).toBe(640);
    expect(lb.width).toBe(502);
    expect(lb.padX).toBe(69); // 138 / 2
    expect(lb.padY).toBe(0);
  });
  it('maps input pixels back to the source image, normalised and clamped', () => {
    const lb = letterbox(768, 576, 640);
    close(fromLetterbox([0, 80, 640, 560], lb), [0, 0, 1, 1]);
    close(fromLetterbox([320, 320, 480, 400], lb), [0.5, 0.5, 0.75, 2 / 3]);
    close(fromLetterbox([-20, 0, 700, 640], lb), [0, 0, 1, 1]); // boxes in the padding are clamped
  });
  it('rejects empty sizes', () => {
    expect(() => letterbox(0, 10, 640)).toThrow(RangeError);
  });
  it('maps stretched input pixels back', () => {
    close(fromStretch([128, 256, 384, 512], 512, 512), [0.25, 0.5, 0.75, 1]);
    close(cxcywhToCorners(0.5, 0.5, 0.2, 0.4), [0.4, 0.3, 0.6, 0.7]);
  });
});

describe('CenterNet decoding', () => {
  it('normalises [x0,y0,x1,y1,score,class] rows by the input size and applies the threshold', () => {
    const rows = new Float32Array([
      ...[51.2, 102.4, 256, 512, 0.9, cls('dog')],
      ...[0, 0, 10, 10, 0.1, cls('cat')], // below threshold
      ...[0, 0, 10, 10, 0.8, Number.NaN], // no class
      ...[0, 0, 10, 10, 0.8, 80], // out of range
    ]);
    const out = decodeCenterNet(rows, CENTERNET_INPUT, 0.3);
    expect(out).toHaveLength(1);
    expect(out[0]!.classIndex).toBe(cls('dog'));
    expect(out[0]!.score).toBeCloseTo(0.9);
    close(out[0]!.box, [0.1, 0.2, 0.5, 1]);
  });
});

describe('SSD decoding', () => {
  it('takes the best COCO-91 column per anchor, skips unused ids, and swaps y/x', () => {
    const n = 3;
    const scores = new Float32Array(n * 90);
    const boxes = new Float32Array([0.1, 0.2, 0.5, 0.6, 0, 0, 1, 1, 0, 0, 0.5, 0.5]);
    scores[0 * 90 + 17] = 0.8; // id 18 = dog
    scores[0 * 90 + 0] = 0.3; // id 1 = person, lower
    scores[1 * 90 + 11] = 0.99; // id 12 is unused: ignored
    scores[1 * 90 + 2] = 0.5; // id 3 = car
    scores[2 * 90 + 0] = 0.2; // below threshold
    const out = decodeSsd(scores, boxes, 0.4);
    expect(out.map((c) => [COCO_CLASSES[c.classIndex], c.score])).toEqual([
      ['dog', expect.closeTo(0.8, 5)],
      ['car', 0.5],
    ]);
    close(out[0]!.box, [0.2, 0.1, 0.6, 0.5]);
  });
});

describe('YOLOv5 decoding', () => {
  it('scores objectness × class, converts centre/size from the letterboxed input', () => {
    const rows = new Float32Array(85 * 2);
    rows.set([0.5, 0.5, 0.25, 0.25, 0.9], 0);
    rows[5 + cls('dog')] = 0.8;
    rows[5 + cls('cat')] = 0.1;
    rows.set([0.5, 0.5, 0.1, 0.1, 0.2], 85); // objectness below threshold
    rows[85 + 5 + cls('car')] = 1;
    const lb = letterbox(768, 576, YOLOV5_INPUT);
    const out = decodeYolo(rows, lb, 0.3);
    expect(out).toHaveLength(1);
    expect(out[0]!.classIndex).toBe(cls('dog'));
    expect(out[0]!.score).toBeCloseTo(0.72);
    // centre (320, 320), 160×160 in the 640 input; the photo starts 80 px down
    close(out[0]!.box, [240 / 640, 160 / 480, 400 / 640, 320 / 480]);
  });
});

describe('NanoDet decoding', () => {
  it('takes the expectation of the softmax over distance bins', () => {
    expect(distributionMean(new Float32Array(11), 0)).toBeCloseTo(5);
    const oneHot = new Float32Array(11).fill(-50);
    oneHot[3] = 50;
    expect(distributionMean(oneHot, 0)).toBeCloseTo(3);
  });
  it('places boxes around row-major cell centres, distances in strides', () => {
    const level = (stride: number): NanoDetLevel => {
      const cells = (NANODET_INPUT / stride) ** 2;
      return { stride, scores: new Float32Array(cells * 80), regs: new Float32Array(cells * 44).fill(-50) };
    };
    const levels = [level(8), level(16), level(32)];
    const l8 = levels[0]!;
    const cell = 52 * 10 + 20; // row 10, column 20 → centre (164, 84)
    l8.scores[cell * 80 + cls('horse')] = 0.7;
    // distances left, top, right, bottom = 2, 1, 2, 3 strides
    [2, 1, 2, 3].forEach((bin, side) => (l8.regs[cell * 44 + side * 11 + bin] = 50));
    const out = decodeNanoDet(levels, NANODET_INPUT, 0.3);
    expect(out).toHaveLength(1);
    expect(out[0]!.classIndex).toBe(cls('horse'));
    close(out[0]!.box, [(164 - 16) / 416, (84 - 8) / 416, (164 + 16) / 416, (84 + 24) / 416]);
  });
});

describe('TF.js preprocessing (wasm backend, no weights)', () => {
  beforeAll(async () => {
    await initWasmBackend();
  });

  it('runs on the wasm backend', () => {
    expect(tf.getBackend()).toBe('wasm');
  });

  it('stretches an image to the input size, values 0..255', async () => {
    const t = stretchTensor(solid(7, 3, [10, 20, 30]), 4, 4);
    expect(t.shape).toEqual([1, 4, 4, 3]);
    const v = await t.data();
    expect(Array.from(v.slice(0, 3))).toEqual([10, 20, 30]);
    t.dispose();
  });

  it('letterboxes with grey bars top and bottom', async () => {
    const img = solid(4, 2, [200, 0, 0]);
    const lb = letterbox(4, 2, 8);
    const t = letterboxTensor(img, lb, 114);
    expect(t.shape).toEqual([1, 8, 8, 3]);
    const px = (await t.array())[0]!;
    expect(px[0]![0]).toEqual([114, 114, 114]);
    expect(px[1]![7]).toEqual([114, 114, 114]);
    expect(px[2]![0]).toEqual([200, 0, 0]);
    expect(px[5]![7]).toEqual([200, 0, 0]);
    expect(px[6]![3]).toEqual([114, 114, 114]);
    t.dispose();
  });

  it('builds each model’s input tensor with the right shape and value range', async () => {
    const img = solid(64, 48, [255, 128, 0]);
    const cases = [
      { det: new CenterNetDetector(), shape: [1, CENTERNET_INPUT, CENTERNET_INPUT, 3], first: [255, 128, 0] },
      { det: new SsdMobileNetDetector(), shape: [1, SSD_INPUT, SSD_INPUT, 3], first: [1, 128 / 127.5 - 1, -1] },
      { det: new YoloV5Detector(), shape: [1, YOLOV5_INPUT, YOLOV5_INPUT, 3], first: [114 / 255, 114 / 255, 114 / 255] },
      // NCHW: the first three values are red of the first three pixels
      { det: new NanoDetDetector(), shape: [1, 3, NANODET_INPUT, NANODET_INPUT], first: [1, 1, 1] },
    ];
    for (const { det, shape, first } of cases) {
      const { input } = det.preprocess(img);
      expect(input.shape, det.id).toEqual(shape);
      const v = await input.data();
      first.forEach((x, i) => expect(v[i], det.id).toBeCloseTo(x, 4));
      input.dispose();
    }
  });

  it('leaks no tensors in preprocessing', () => {
    const before = tf.memory().numTensors;
    const det = new YoloV5Detector();
    const { input } = det.preprocess(solid(10, 20, [1, 2, 3]));
    input.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects images whose buffer does not match their size', () => {
    expect(() => new CenterNetDetector().preprocess({ width: 10, height: 10, rgb: new Uint8Array(10) })).toThrow(RangeError);
  });
});
