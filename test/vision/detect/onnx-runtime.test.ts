/**
 * SSD-MobileNetV2 converted to ONNX against the TF.js graph it came from, on two real
 * photos: the same 8-bit input gives the same scores and boxes to 1e-3, the graph's own resize
 * gives TF's bilinear values to within 8-bit rounding, and the detections of the two
 * detectors (the whole pipeline, each with its own resize) agree.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDetector, createTfjsDetector, type LoadedDetector, type RgbImage } from '../../../src/vision/detect/index.js';
import { iou } from '../../../src/vision/detect/nms.js';
import { SSD_INPUT, type SsdMobileNetDetector } from '../../../src/vision/detect/ssd-mobilenet.js';
import { convertTfGraph } from '../../../src/vision/detect/onnx/convert.js';
import { encodeModel } from '../../../src/vision/detect/onnx/proto.js';
import { parseTfGraph } from '../../../src/vision/detect/onnx/tf-graph.js';
import { OnnxSsdDetector } from '../../../src/vision/detect/ssd-onnx.js';
import { stretchTensor } from '../../../src/vision/detect/preprocess.js';
import { tf } from '../../../src/vision/detect/tfjs-model.js';
import { fixturePath } from '../../support/fixtures.js';
import { resizeBilinearTf } from '../../support/tf-resize.js';
import * as ort from 'onnxruntime-node';

async function decode(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

const PHOTOS = ['dog.jpg', 'horses.jpg'] as const;

describe('SSD-MobileNetV2: onnxruntime vs TF.js', () => {
  let onnx: OnnxSsdDetector;
  let tfjs: SsdMobileNetDetector;
  const images = new Map<string, RgbImage>();

  beforeAll(async () => {
    onnx = createDetector('ssd-mobilenet') as OnnxSsdDetector;
    tfjs = createTfjsDetector('ssd-mobilenet') as SsdMobileNetDetector;
    await Promise.all([onnx.load(), tfjs.load()]);
    for (const p of PHOTOS) images.set(p, await decode(fixturePath(p)));
  }, 120_000);
  afterAll(() => {
    onnx?.dispose();
    tfjs?.dispose();
  });

  it('is the default runtime of the default detector', () => {
    expect(onnx).toBeInstanceOf(OnnxSsdDetector);
  });

  for (const photo of PHOTOS) {
    it(`${photo}: the same input gives the same scores and boxes (to 1e-3)`, async () => {
      const input = await resizeBilinearTf(images.get(photo)!, SSD_INPUT);
      const mine = await onnx.infer(input);
      const x = tf.tidy(() => tf.sub(tf.div(tf.tensor4d(Float32Array.from(input), [1, SSD_INPUT, SSD_INPUT, 3]), 127.5), 1));
      const theirs = await tfjs.infer(tfjs.graphModel!, x);
      tf.dispose(x);
      // TF.js's scores drop the background column; ORT's keep it as column 0.
      const n = theirs.boxes.length / 4;
      expect(mine.boxes.length).toBe(theirs.boxes.length);
      let maxBox = 0;
      let maxScore = 0;
      for (let i = 0; i < theirs.boxes.length; i++) maxBox = Math.max(maxBox, Math.abs(mine.boxes[i]! - theirs.boxes[i]!));
      for (let a = 0; a < n; a++)
        for (let c = 0; c < 90; c++) maxScore = Math.max(maxScore, Math.abs(mine.scores[a * 91 + c + 1]! - theirs.scores[a * 90 + c]!));
      expect(maxBox).toBeLessThan(1e-3);
      expect(maxScore).toBeLessThan(1e-3);
    });

    it(`${photo}: the graph's own resize (what the detector runs) equals TF's bilinear resize to 8-bit rounding`, async () => {
      const img = images.get(photo)!;
      // The converter's input stage alone: the image at its size in, the 300² resize out.
      const identity = parseTfGraph({ modelTopology: { node: [{ name: 'img', op: 'Placeholder' }] }, weightsManifest: [{ paths: [], weights: [] }] }, new Uint8Array());
      const spec = { inputNode: 'img', inputShape: [1, SSD_INPUT, SSD_INPUT, 3] as [1, number, number, number], uint8Input: { scale: 1, offset: 0 }, resizeInput: true, outputs: ['img'] };
      const session = await ort.InferenceSession.create(encodeModel(convertTfGraph(identity, spec)));
      const mine = (await session.run({ input: new ort.Tensor('uint8', img.rgb, [1, img.height, img.width, 3]) })).img!.data as Float32Array;
      await session.release();
      const t = stretchTensor(img, SSD_INPUT, SSD_INPUT);
      const theirs = await t.data();
      t.dispose();
      let max = 0;
      for (let i = 0; i < theirs.length; i++) max = Math.max(max, Math.abs(mine[i]! - theirs[i]!));
      // 8-bit output with onnxruntime's fixed-point weights: measured 1.07–1.13 of 0..255 (sharp's
      // affine, which it replaced and which no longer runs, was within 0.75).
      expect(max).toBeLessThanOrEqual(1.25);
    });

    it(`${photo}: the detections agree (labels, scores within 0.03, boxes IoU ≥ 0.95)`, async () => {
      const img = images.get(photo)!;
      const [a, b] = [await (onnx as LoadedDetector).detect(img), await tfjs.detect(img)];
      expect(a.length).toBe(b.length);
      for (const d of b) {
        const match = a.find((e) => e.label === d.label && iou(e.box, d.box) >= 0.95);
        expect(match, `${d.label} ${d.score} in ${JSON.stringify(a)}`).toBeDefined();
        expect(Math.abs(match!.score - d.score)).toBeLessThan(0.03);
      }
    });
  }

  it('mirrored second look runs on ORT too', async () => {
    const twice = new OnnxSsdDetector({ secondLook: true });
    try {
      const dets = await twice.detect(images.get('dog.jpg')!);
      expect(dets.map((d) => d.label)).toContain('bicycle');
    } finally {
      twice.dispose();
    }
  });
});
