/**
 * Pages and photographed text on the real readers, read from the first character of every
 * line: skimage's page.png (a book page in shadow on the left, which lost the start of every
 * line: "-based segmentation"), OpenCV's street-sign photo and its page photographed at a
 * tilt, and a rendered Chinese page in the same kind of shadow. Photos come from Debian
 * packages (scripts/fetch-fixtures.sh puts them in .fixtures/text/).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaddleReader, readText, TesseractReader } from '../../../src/vision/ocr/index.js';
import type { RgbImage, TextLine } from '../../../src/vision/ocr/types.js';
import { FIXTURES_DIR } from '../../support/fixtures.js';
import { characterAccuracy as accuracyOf } from '../../../eval/metrics.js';

const exec = promisify(execFile);

const PAGE = [
  'Region-based segmentation',
  'Let us first determine markers of the coins and the',
  'background. These markers are pixels that we can label',
  'unambiguously as either object or background. Here,',
  'the markers are found at the two extreme parts of the',
  'histogram of grey values:',
];
const SIGN = ['NOTICE', 'DOUBLE', 'PARKING', 'PROHIBITED', 'AT ALL TIMES'];
const TILTED = [
  'technical details are too complex to cover in the book itself.',
  'In teaching our courses, we have found it useful for the students to attempt a number of',
  'small implementation projects, which often build on one another, in order to get them used to',
  'working with real-world images and the challenges that these present. The students are then',
  'asked to choose an individual topic for each of their small-group, final projects. (Sometimes',
  'these projects even turn into conference papers!) The exercises at the end of each chapter',
  'contain numerous suggestions for smaller mid-term projects, as well as more open-ended',
  'problems whose solutions are still active research topics. Wherever possible, I encourage',
  'students to try their algorithms on their own personal photographs, since this better motivates',
  'them, often leads to creative variants on the problems, and better acquaints them with the',
  'variety and complexity of real-world imagery.',
  'In formulating and solving computer vision problems, I have often found it useful to draw',
  'inspiration from three high-level approaches:',
];
const ZH = ['第一章 图像理解', '我们首先确定硬币的标记和背景。', '这些标记是可以明确标注为物体', '或背景的像素。在这里，标记位于', '灰度直方图的两个极端部分。'];

// ---- measures -----------------------------------------------------------------------------

/** 1 − edit distance / expected length: the eval's own measure, expected text first. */
const characterAccuracy = (expected: string, actual: string): number => accuracyOf(actual, expected);

/** Spaces are not compared: PP-OCR drops some between Latin words, and none exist in Chinese. */
const squeeze = (s: string): string => s.replace(/\s+/gu, '');

/**
 * The read lines, one per expected line and in the same order, each at least `minAccuracy`
 * and starting with the expected line's first `startChars` characters (spaces aside).
 */
function expectReadFromFirstCharacter(read: readonly TextLine[], expected: readonly string[], minAccuracy: number, startChars = 3): void {
  const got = read.map((l) => squeeze(l.text));
  expect(got.length, `lines read: ${JSON.stringify(got)}`).toBeGreaterThanOrEqual(expected.length);
  // Expected lines appear in order; other lines (a code line, a newspaper box) may sit between.
  let from = 0;
  for (const line of expected) {
    const want = squeeze(line);
    const i = got.findIndex((g, k) => k >= from && characterAccuracy(want, g) >= minAccuracy);
    expect(i, `"${line}" not read (accuracy ≥ ${minAccuracy}) in order among ${JSON.stringify(got.slice(from))}`).toBeGreaterThanOrEqual(0);
    expect(got[i]!.slice(0, startChars), `start of "${line}"`).toBe(want.slice(0, startChars));
    from = i + 1;
  }
}

// ---- images -------------------------------------------------------------------------------

async function toRgb(input: ReturnType<typeof sharp>): Promise<RgbImage> {
  const { data, info } = await input.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

const textFixture = (name: string): string => path.join(FIXTURES_DIR, 'text', name);

/** A Chinese page on off-white paper with the left side in shadow, as page.png is. */
async function chinesePageInShadow(): Promise<RgbImage> {
  const { stdout } = await exec('fc-list', [':lang=zh', 'family']).catch(() => ({ stdout: '' }));
  if (!stdout.includes('WenQuanYi Zen Hei')) throw new Error('font WenQuanYi Zen Hei is missing: run scripts/fetch-fixtures.sh (it installs fonts-wqy-zenhei)');
  const page = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360"><rect width="100%" height="100%" fill="#f4f1ea"/>${ZH.map(
    (l, i) => `<text x="40" y="${70 + i * 56}" font-family="WenQuanYi Zen Hei" font-size="${i === 0 ? 36 : 30}" fill="#222">${l}</text>`,
  ).join('')}</svg>`;
  const shade =
    '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360"><defs><linearGradient id="g" x1="0" x2="1" y1="0" y2="0.3">' +
    '<stop offset="0" stop-color="#303030"/><stop offset="0.45" stop-color="#c0c0c0"/><stop offset="1" stop-color="#ffffff"/></linearGradient></defs>' +
    '<rect width="100%" height="100%" fill="url(#g)"/></svg>';
  const rendered = await sharp(Buffer.from(page)).png().toBuffer();
  return toRgb(sharp(await sharp(rendered).composite([{ input: Buffer.from(shade), blend: 'multiply' }]).png().toBuffer()));
}

let page: RgbImage;
let sign: RgbImage;
let tilted: RgbImage;
let chinese: RgbImage;
const tesseract = new TesseractReader();
const paddle = new PaddleReader();
const readers = { tesseract, paddle };

beforeAll(async () => {
  [page, sign, tilted, chinese] = await Promise.all([
    toRgb(sharp(textFixture('page.png'))),
    toRgb(sharp(textFixture('scenetext01.jpg'))),
    toRgb(sharp(textFixture('imageTextR.png'))),
    chinesePageInShadow(),
  ]);
  await Promise.all([tesseract.load(), paddle.load()]);
});

afterAll(async () => {
  await Promise.all([tesseract.dispose(), paddle.dispose()]);
});

// ---- tests --------------------------------------------------------------------------------

describe('a scanned page in uneven light (skimage page.png)', () => {
  it('tesseract reads every line from its first character once the lighting is evened out', async () => {
    expectReadFromFirstCharacter(await tesseract.read(page), PAGE, 0.9);
  });

  it('the cause: tesseract on the raw pixels loses the start of the lines in shadow', async () => {
    const raw = new TesseractReader({ flatten: false });
    try {
      const got = (await raw.read(page)).map((l) => squeeze(l.text));
      const startsRight = PAGE.filter((line) => got.some((g) => g.startsWith(squeeze(line).slice(0, 3)))).length;
      expect(startsRight).toBeLessThanOrEqual(2);
    } finally {
      await raw.dispose();
    }
  });

  it('readText reads it from the first character and summarises it as a page headed by its first line', async () => {
    const r = await readText(page, readers, { prompt: 'What does it say?' });
    expectReadFromFirstCharacter(r.lines, PAGE, 0.9);
    // Every prose line exactly, spaces included (PP-OCR alone reads "themarkers are found").
    for (const line of PAGE) expect(r.lines.map((l) => l.text)).toContain(line);
    expect(r.summary.firstLine).toBe(PAGE[0]);
    expect(r.summary.lineCount).toBeGreaterThanOrEqual(6);
    expect(r.summary.blockArea).toBeGreaterThan(0.6); // text from edge to edge
    expect(r.summary.area).toBeGreaterThan(0.4);
  });
});

describe('photographed text', () => {
  it('reads a street sign in a photo, line by line in order; the text is a small part of the photo', async () => {
    const r = await readText(sign, readers, { prompt: 'What does the sign say?' });
    expect(r.ran).toEqual(['tesseract', 'paddle']); // tesseract's layout analysis finds no text in the photo
    expectReadFromFirstCharacter(r.lines, SIGN, 0.8, 2);
    expect(r.summary.firstLine).toBe('NOTICE');
    expect(r.summary.area).toBeLessThan(0.15);
  });

  it('reads a page photographed at a tilt line by line, not as one scrambled line', async () => {
    const r = await readText(tilted, readers, { prompt: 'Transcribe the page.' });
    expectReadFromFirstCharacter(r.lines, TILTED, 0.9);
    expect(r.summary.firstLine).toBe(r.lines[0]!.text);
    expect(squeeze(r.summary.firstLine!)).toBe(squeeze(TILTED[0]!));
  });
});

describe('a Chinese page in uneven light', () => {
  it('is read from the first character of every line when the prompt is Chinese (paddle)', async () => {
    const r = await readText(chinese, readers, { prompt: '图片上写了什么？' });
    expect(r.ran).toEqual(['paddle']);
    expectReadFromFirstCharacter(r.lines, ZH, 0.9, 2);
    expect(squeeze(r.summary.firstLine!)).toBe(squeeze(ZH[0]!));
  });

  it('is read the same when nobody said it is Chinese (tesseract falls back to paddle)', async () => {
    const r = await readText(chinese, readers, { prompt: 'What does it say?' });
    expect(r.reader).toBe('paddle');
    expectReadFromFirstCharacter(r.lines, ZH, 0.9, 2);
  });
});
