/**
 * The shipped default detector on a real photo: dog.jpg (darknet's demo image) holds a dog,
 * a bicycle and a pickup truck. One model load for the whole file.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_ALTERNATIVE, createDetector, DEFAULT_DETECTOR, isUncertain, type Detection, type Detector, type RgbImage } from '../../../src/vision/detect/index.js';
import type { TruthBox } from '../../../src/vision/detect/evaluate.js';
import { iou } from '../../../src/vision/detect/nms.js';
import { evalPhotoPath, fixturePath } from '../../support/fixtures.js';
import groundTruth from './ground-truth.json' with { type: 'json' };

async function decode(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

describe(`default detector (${DEFAULT_DETECTOR}) on dog.jpg`, () => {
  let detector: Detector;
  let img: RgbImage;
  let dets: Detection[];

  beforeAll(async () => {
    detector = createDetector(DEFAULT_DETECTOR);
    img = await decode(fixturePath('dog.jpg'));
    await detector.load();
    dets = await detector.detect(img);
  });
  afterAll(() => detector?.dispose());

  it('is permissively licensed (every licence of an SPDX AND expression)', () => {
    for (const l of detector.licence.split(' AND ')) expect(['MIT', 'Apache-2.0']).toContain(l);
  });

  it('finds the dog, the bicycle and the truck (or car) where they are', () => {
    const truth = (groundTruth.images['dog.jpg'] as TruthBox[]).filter((t) => !t.difficult);
    expect(truth.map((t) => t.label).sort()).toEqual(['bicycle', 'dog', 'truck']);
    for (const t of truth) {
      const labels = [t.label, ...(t.also ?? [])];
      const hit = dets.find((d) => labels.includes(d.label) && iou(d.box, t.box) >= 0.5);
      expect(hit, `${t.label} in ${JSON.stringify(dets)}`).toBeDefined();
    }
  });

  it('returns COCO labels, scores above its threshold, best first, boxes inside the image', () => {
    expect(dets.length).toBeGreaterThanOrEqual(3);
    for (const d of dets) {
      expect(d.score).toBeGreaterThanOrEqual(0.1);
      expect(d.score).toBeLessThanOrEqual(1);
      const [x0, y0, x1, y1] = d.box;
      expect(0 <= x0 && x0 < x1 && x1 <= 1 && 0 <= y0 && y0 < y1 && y1 <= 1).toBe(true);
    }
    expect(dets.map((d) => d.score)).toEqual([...dets.map((d) => d.score)].sort((a, b) => b - a));
  });

  it('honours minScore and maxDetections', async () => {
    const one = await detector.detect(img, { maxDetections: 1 });
    expect(one).toHaveLength(1);
    expect(one[0]).toEqual(dets[0]);
    const low = await detector.detect(img, { minScore: 0.2 });
    expect(low.length).toBeGreaterThanOrEqual(dets.length);
    expect(await detector.detect(img, { minScore: 0.99 })).toEqual([]);
  });

  it('is fast enough on a warm model (p50 of 5 under 1 s even on a busy 2-core machine)', async () => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await detector.detect(img);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    expect(times[2]).toBeLessThan(1000);
  });
});

// The class confusions the issue reported, measured on the default detector: Chelsea the
// cat (skimage) was "a dog" with CenterNet; darknet's person.jpg has a horse SSD calls a
// sheep, which must come out as uncertain, with the horse among the box's alternatives.
describe(`default detector (${DEFAULT_DETECTOR}) on animals it may confuse`, () => {
  let detector: Detector;
  beforeAll(async () => {
    detector = createDetector(DEFAULT_DETECTOR);
    await detector.load();
  });
  afterAll(() => detector?.dispose());

  it('calls Chelsea a cat, at or above its threshold, and not a dog (not even as a close second)', async () => {
    const dets = await detector.detect(await decode(evalPhotoPath('chelsea.png', 'python3-skimage')));
    const animals = dets.filter((d) => ['cat', 'dog'].includes(d.label));
    expect(animals.map((d) => d.label), JSON.stringify(dets)).toEqual(['cat']);
    // Scores are on each detector's own scale: the fused one asserts from 0.4 (its "sure"
    // band starts at 0.76; Chelsea's cat is 0.67, which answers say as "probably a cat").
    expect(animals[0]!.score).toBeGreaterThanOrEqual((detector as { defaultMinScore?: number }).defaultMinScore ?? 0.5);
    const dog = animals[0]!.alternatives?.find((a) => a.label === 'dog');
    expect(dog === undefined || dog.score < CLOSE_ALTERNATIVE * animals[0]!.score, JSON.stringify(animals[0])).toBe(true);
  });

  it('reports the horse of person.jpg as a horse, or as an uncertain label with horse as an alternative', async () => {
    const truth = (groundTruth.images['person.jpg'] as TruthBox[]).find((t) => t.label === 'horse')!;
    const dets = await detector.detect(await decode(fixturePath('person.jpg')));
    const onHorse = dets.find((d) => iou(d.box, truth.box) >= 0.5);
    expect(onHorse, JSON.stringify(dets)).toBeDefined();
    if (onHorse!.label !== 'horse') {
      expect(onHorse!.alternatives?.map((a) => a.label)).toContain('horse');
      expect(isUncertain(onHorse!)).toBe(true);
    }
  });
});

describe('opt-in models', () => {
  it('warns about the AGPL licence when yolov5s is chosen, unless acknowledged', () => {
    const warnings: string[] = [];
    const d = createDetector('yolov5s', { warn: (m) => warnings.push(m) });
    expect(d.licence).toBe('AGPL-3.0');
    expect(warnings.join()).toMatch(/AGPL-3\.0/);
    createDetector('yolov5s', { acceptAgpl: true, warn: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
  });
  it('ships a permissive default', () => {
    expect(createDetector(DEFAULT_DETECTOR).licence).not.toMatch(/GPL/);
  });
  it('rejects unknown ids', () => {
    expect(() => createDetector('detr')).toThrow(/unknown detector/);
  });
});
