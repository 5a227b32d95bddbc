/**
 * SAM on a real photo: dog.jpg (768×576, darknet's detection demo: a dog in front of a
 * bicycle, a truck behind). Boxes were read off the photo by hand (pixel grid overlay):
 *   dog     x 130..312, y 220..542
 *   bicycle x 125..568, y 135..420
 * The test also replays the seed's Python client (decode PNG → bilinear resize to the box's
 * pixel size → threshold → paste) in TypeScript and writes the overlay to
 * $TMPDIR/ocellus-segment-overlay.png for a human to look at.
 */
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMaskPng, encodeMaskPng } from '../../../src/vision/segment/mask-png.js';
import { foregroundFraction } from '../../../src/vision/segment/postprocess.js';
import { type BoxMask, type NormBox, type RgbImage, type SamEmbedding, SamSegmenter } from '../../../src/vision/segment/sam.js';
import { fixturePath } from '../../support/fixtures.js';

const W = 768;
const H = 576;
const px = (x0: number, y0: number, x1: number, y1: number): NormBox => [x0 / W, y0 / H, x1 / W, y1 / H];
const DOG = px(130, 220, 312, 542);
const BIKE = px(125, 135, 568, 420);

/** Points (image px) that are clearly the dog / clearly not the dog but inside its box. */
const DOG_POINTS: [number, number][] = [
  [200, 420], // black fur, flank
  [268, 335], // white chest
  [258, 262], // face
  [190, 505], // tail
];
const NOT_DOG_IN_DOG_BOX: [number, number][] = [
  [300, 530], // porch floor, bottom right
  [140, 232], // wall behind, top left
];

/** The seed's Python client, step by step: box_2d (y-first, 0..1000 ints) + PNG data URL → full-size 0/1 mask. */
async function clientMask(box2d: [number, number, number, number], png: string, width: number, height: number): Promise<Uint8Array> {
  const y0 = Math.trunc((box2d[0] / 1000) * height);
  const x0 = Math.trunc((box2d[1] / 1000) * width);
  const y1 = Math.trunc((box2d[2] / 1000) * height);
  const x1 = Math.trunc((box2d[3] / 1000) * width);
  const full = new Uint8Array(width * height);
  if (y0 >= y1 || x0 >= x1) return full;
  if (!png.startsWith('data:image/png;base64,')) return full;
  const { data, width: mw, height: mh } = await decodeMaskPng(png);
  // mask.resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR)
  const resized = await sharp(Buffer.from(data), { raw: { width: mw, height: mh, channels: 1 } })
    .resize(x1 - x0, y1 - y0, { fit: 'fill', kernel: 'linear' })
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  expect(resized.info.channels).toBe(1);
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) if ((resized.data[(y - y0) * (x1 - x0) + (x - x0)] as number) > 127) full[y * width + x] = 1;
  return full;
}

/** box_2d as the response would carry it: [ymin, xmin, ymax, xmax] in 0..1000 integers. */
const toBox2d = (b: NormBox): [number, number, number, number] => [
  Math.round(b[1] * 1000),
  Math.round(b[0] * 1000),
  Math.round(b[3] * 1000),
  Math.round(b[2] * 1000),
];

/** Probability at image pixel (x,y) from a BoxMask (nearest mask pixel), or 0 outside its box. */
function probAt(mask: BoxMask, x: number, y: number): number {
  const u = (x + 0.5) / W;
  const v = (y + 0.5) / H;
  const [bx0, by0, bx1, by1] = mask.box;
  if (u < bx0 || u >= bx1 || v < by0 || v >= by1) return 0;
  const mx = Math.min(mask.width - 1, Math.floor(((u - bx0) / (bx1 - bx0)) * mask.width));
  const my = Math.min(mask.height - 1, Math.floor(((v - by0) / (by1 - by0)) * mask.height));
  return mask.probs[my * mask.width + mx] as number;
}

/** Foreground centroid in normalised image coordinates. */
function centroid(mask: BoxMask): [number, number] {
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let y = 0; y < mask.height; y++)
    for (let x = 0; x < mask.width; x++)
      if ((mask.probs[y * mask.width + x] as number) >= 128) {
        sx += x + 0.5;
        sy += y + 0.5;
        n++;
      }
  const [x0, y0, x1, y1] = mask.box;
  return [x0 + (sx / n / mask.width) * (x1 - x0), y0 + (sy / n / mask.height) * (y1 - y0)];
}

function iou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && b[i]) inter++;
    if (a[i] || b[i]) union++;
  }
  return union === 0 ? 0 : inter / union;
}

describe('SamSegmenter on dog.jpg', () => {
  const sam = new SamSegmenter();
  let img: RgbImage;
  let emb: SamEmbedding;
  let dog: BoxMask;
  let bike: BoxMask;

  beforeAll(async () => {
    const { data, info } = await sharp(fixturePath('dog.jpg')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([W, H, 3]);
    img = { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
    await sam.load();
    emb = await sam.encode(img);
    dog = await sam.maskForBox(emb, DOG);
    bike = await sam.maskForBox(emb, BIKE);
  });
  afterAll(async () => {
    await sam.dispose();
  });

  it('runs the encoder once for the image and the decoder once per box', () => {
    expect(sam.stats.encodeCalls).toBe(1);
    expect(sam.stats.decodeCalls).toBe(2);
    expect(emb.dims).toEqual([1, 256, 64, 64]);
    expect(emb.data.length).toBe(256 * 64 * 64);
    expect(emb.geometry).toMatchObject({ width: W, height: H, frameWidth: 1024, frameHeight: 768 });
  });

  it('masks the dog: box unchanged, mask at box resolution capped to 256, foreground 30–90%, centroid inside', () => {
    dog.box.forEach((v, i) => expect(v).toBeCloseTo(DOG[i] as number, 12));
    expect([dog.width, dog.height]).toEqual([145, 256]); // 182×322 px box, long side capped at 256
    expect(dog.probs.length).toBe(dog.width * dog.height);
    expect(dog.score).toBeGreaterThan(0.8);
    const fg = foregroundFraction(dog);
    expect(fg).toBeGreaterThan(0.3);
    expect(fg).toBeLessThan(0.9);
    const [cx, cy] = centroid(dog);
    expect(cx).toBeGreaterThan(DOG[0]);
    expect(cx).toBeLessThan(DOG[2]);
    expect(cy).toBeGreaterThan(DOG[1]);
    expect(cy).toBeLessThan(DOG[3]);
    for (const [x, y] of DOG_POINTS) expect(probAt(dog, x, y), `dog at (${x},${y})`).toBeGreaterThanOrEqual(128);
    for (const [x, y] of NOT_DOG_IN_DOG_BOX) expect(probAt(dog, x, y), `not dog at (${x},${y})`).toBeLessThan(128);
    // a probability map, not just 0/255: soft edges exist
    expect(dog.probs.some((v) => v > 10 && v < 245)).toBe(true);
  });

  it('gives the bicycle a different mask that leaves the dog out', async () => {
    expect(bike.score).toBeGreaterThan(0.7);
    const fg = foregroundFraction(bike);
    expect(fg).toBeGreaterThan(0.05);
    expect(fg).toBeLessThan(0.6); // a bicycle is mostly holes
    const full = (m: BoxMask): Uint8Array => {
      const out = new Uint8Array(W * H);
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[y * W + x] = probAt(m, x, y) >= 128 ? 1 : 0;
      return out;
    };
    expect(iou(full(dog), full(bike))).toBeLessThan(0.2);
    expect(probAt(bike, 268, 335)).toBeLessThan(128); // the dog's chest is in front of the bike
    expect(probAt(bike, 200, 380)).toBeLessThan(128);
  });

  it('survives the seed client round trip (PNG → bilinear resize to box → threshold) and draws a sensible overlay', async () => {
    const colours: [number, number, number][] = [
      [0, 255, 255],
      [255, 0, 255],
    ];
    const overlay = new Uint8Array(W * H * 4);
    const boxes: string[] = [];
    for (const [i, mask] of [dog, bike].entries()) {
      const png = await encodeMaskPng(mask);
      const box2d = toBox2d(mask.box);
      const client = await clientMask(box2d, png, W, H);
      // The client's binary mask agrees with ours (up to the box's 1/1000 rounding and resampling).
      let agree = 0;
      let ours = 0;
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const o = probAt(mask, x, y) >= 128 ? 1 : 0;
          ours += o;
          if (o && client[y * W + x]) agree++;
        }
      let theirs = 0;
      for (const v of client) theirs += v;
      expect(theirs / ours).toBeGreaterThan(0.95);
      expect(theirs / ours).toBeLessThan(1.05);
      expect(agree / ours).toBeGreaterThan(0.95);
      const [r, g, b] = colours[i] as [number, number, number];
      for (let p = 0; p < W * H; p++) if (client[p]) overlay.set([r, g, b, 150], p * 4);
      const [y0, x0, y1, x1] = box2d.map((v, k) => (v / 1000) * (k % 2 ? W : H));
      boxes.push(`<rect x="${x0}" y="${y0}" width="${x1! - x0!}" height="${y1! - y0!}" fill="none" stroke="rgb(${r},${g},${b})" stroke-width="2"/>`);
    }
    const svg = `<svg width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">${boxes.join('')}</svg>`;
    const out = await sharp(fixturePath('dog.jpg'))
      .composite([{ input: Buffer.from(overlay), raw: { width: W, height: H, channels: 4 } }, { input: Buffer.from(svg) }])
      .png()
      .toBuffer();
    const file = path.join(tmpdir(), 'ocellus-segment-overlay.png');
    await writeFile(file, out);
    expect(out.length).toBeGreaterThan(1000);
  });

  it('tightens box and mask to the mask extent on request', async () => {
    const t = await sam.maskForBox(emb, DOG, { tighten: true });
    expect(t.box[0]).toBeGreaterThanOrEqual(DOG[0]);
    expect(t.box[1]).toBeGreaterThanOrEqual(DOG[1]);
    expect(t.box[2]).toBeLessThanOrEqual(DOG[2]);
    expect(t.box[3]).toBeLessThanOrEqual(DOG[3]);
    expect(t.width).toBeLessThanOrEqual(dog.width);
    expect(t.height).toBeLessThanOrEqual(dog.height);
    expect(foregroundFraction(t)).toBeGreaterThanOrEqual(foregroundFraction(dog));
    expect(t.score).toBe(dog.score);
  });

  it('segment() encodes once for many boxes; bad boxes are refused before the decoder', async () => {
    const before = { ...sam.stats };
    const masks = await sam.segment(img, [DOG, BIKE]);
    expect(masks).toHaveLength(2);
    expect(sam.stats.encodeCalls - before.encodeCalls).toBe(1);
    expect(sam.stats.decodeCalls - before.decodeCalls).toBe(2);
    // same image, same box → same mask
    expect(Buffer.from(masks[0]!.probs).equals(Buffer.from(dog.probs))).toBe(true);
    await expect(sam.maskForBox(emb, [0.5, 0.5, 0.5, 0.9])).rejects.toThrow(RangeError);
    expect(sam.stats.decodeCalls - before.decodeCalls).toBe(2);
  });

  it('handles portrait frames: the photo turned 90° gives the same dog, turned', async () => {
    // 90° clockwise: (x, y) → (H − y, x) in a 576×768 image
    const { data, info } = await sharp(fixturePath('dog.jpg')).rotate(90).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([H, W]);
    const turned: RgbImage = { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
    const e = await sam.encode(turned);
    expect(e.geometry).toMatchObject({ frameWidth: 768, frameHeight: 1024 });
    const box: NormBox = [1 - DOG[3], DOG[0], 1 - DOG[1], DOG[2]];
    const m = await sam.maskForBox(e, box);
    expect([m.width, m.height]).toEqual([256, 145]);
    expect(Math.abs(foregroundFraction(m) - foregroundFraction(dog))).toBeLessThan(0.08); // SAM is not rotation-invariant: ~0.03 apart
    // pixel by pixel: turned mask (x', y') corresponds to dog mask (y', height−1−x')
    let same = 0;
    for (let y = 0; y < m.height; y++)
      for (let x = 0; x < m.width; x++)
        if ((m.probs[y * m.width + x]! >= 128) === (dog.probs[(dog.height - 1 - x) * dog.width + y]! >= 128)) same++;
    expect(same / m.probs.length).toBeGreaterThan(0.9); // measured 0.954
  });

  it('serialises concurrent calls and keeps results per box', async () => {
    const [a, b] = await Promise.all([sam.maskForBox(emb, DOG), sam.maskForBox(emb, BIKE)]);
    expect(Buffer.from(a.probs).equals(Buffer.from(dog.probs))).toBe(true);
    expect(Buffer.from(b.probs).equals(Buffer.from(bike.probs))).toBe(true);
  });
});

describe('SamSegmenter lifecycle', () => {
  it('refuses to run before load() and after dispose()', async () => {
    const sam = new SamSegmenter({ intraOpNumThreads: 1 });
    const tiny: RgbImage = { width: 2, height: 2, rgb: new Uint8Array(12) };
    await expect(sam.encode(tiny)).rejects.toThrow(/load\(\)/);
    await Promise.all([sam.load(), sam.load()]); // concurrent loads share one
    expect(sam.loaded).toBe(true);
    expect(sam.stats.loadMs).toBeGreaterThan(0);
    await sam.dispose();
    expect(sam.loaded).toBe(false);
    await expect(sam.encode(tiny)).rejects.toThrow(/disposed/);
    await expect(sam.load()).rejects.toThrow(/disposed/);
    await sam.dispose(); // idempotent
  });
  it('reports a missing model directory clearly', async () => {
    const sam = new SamSegmenter({ modelDir: '/nonexistent-minisam' });
    await expect(sam.load()).rejects.toThrow();
    await sam.dispose();
  });
});
