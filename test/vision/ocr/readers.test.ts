/**
 * The two OCR readers on real models: clean renders made here with sharp (SVG text through
 * librsvg/pango, fonts from Debian, installed if missing), a rendered sign composited onto a
 * darknet photo, and a text-free painting.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaddleReader, TesseractReader, paddleModelPaths, readText, tesseractPaths } from '../../../src/vision/ocr/index.js';
import type { Box, RgbImage, TextLine } from '../../../src/vision/ocr/types.js';
import { REPO_ROOT, fixturePath } from '../../support/fixtures.js';
import { characterAccuracy as accuracyOf } from '../../../eval/metrics.js';

const exec = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));

// ---- fonts ----------------------------------------------------------------------------------

const LATIN_FONT = 'DejaVu Sans';
const CJK_FONT = 'WenQuanYi Zen Hei';

async function fontInstalled(family: string): Promise<boolean> {
  try {
    const { stdout } = await exec('fc-list', [family, 'family']);
    return stdout.trim() !== '';
  } catch {
    return false; // no fontconfig tools yet
  }
}

/** Installs the Debian packages when a font is missing (the test machine is Debian, as root). */
async function ensureFonts(): Promise<void> {
  const missing: string[] = [];
  if (!(await fontInstalled(LATIN_FONT))) missing.push('fonts-dejavu-core');
  if (!(await fontInstalled(CJK_FONT))) missing.push('fonts-wqy-zenhei');
  if (missing.length === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    exec('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '--no-install-recommends', 'fontconfig', ...missing], {
      env,
      timeout: 600_000,
    });
  try {
    await install();
  } catch {
    await exec('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update'], { env, timeout: 600_000 });
    await install();
  }
  for (const family of [LATIN_FONT, CJK_FONT])
    if (!(await fontInstalled(family))) throw new Error(`font ${family} still missing after apt-get install ${missing.join(' ')}`);
}

// ---- rendering ----------------------------------------------------------------------------

interface Rendered {
  img: RgbImage;
  /** Per line: its text and the normalised bounding box of its ink. */
  lines: { text: string; ink: Box }[];
}

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

async function toRgb(input: ReturnType<typeof sharp>): Promise<RgbImage> {
  const { data, info } = await input.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Black text on white, one `<text>` per line; `body` may hold tspans (already escaped). */
async function render(width: number, height: number, lines: { text: string; body?: string; y: number; size: number; font: string }[]): Promise<Rendered> {
  const x = 32;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>${lines
    .map((l) => `<text x="${x}" y="${l.y}" font-family="${l.font}" font-size="${l.size}" fill="black">${l.body ?? escapeXml(l.text)}</text>`)
    .join('')}</svg>`;
  const img = await toRgb(sharp(Buffer.from(svg)));
  // Ink box of each line: dark pixels in the band from one em above the baseline to half an em below.
  const inked = lines.map((l) => {
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (let y = Math.max(0, Math.floor(l.y - l.size)); y < Math.min(height, Math.ceil(l.y + l.size / 2)); y++)
      for (let px = 0; px < width; px++) {
        const i = (y * width + px) * 3;
        if (img.rgb[i]! + img.rgb[i + 1]! + img.rgb[i + 2]! < 3 * 128) {
          x0 = Math.min(x0, px);
          x1 = Math.max(x1, px + 1);
          y0 = Math.min(y0, y);
          y1 = Math.max(y1, y + 1);
        }
      }
    if (!Number.isFinite(x0)) throw new Error(`line "${l.text}" rendered no ink: is the font installed?`);
    return { text: l.text, ink: [x0 / width, y0 / height, x1 / width, y1 / height] as Box };
  });
  return { img, lines: inked };
}

// ---- measures -----------------------------------------------------------------------------

/** 1 − edit distance / expected length: the eval's own measure, expected text first. */
const characterAccuracy = (expected: string, actual: string): number => accuracyOf(actual, expected);

const noSpace = (s: string): string => s.replace(/\s+/gu, '');

function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const area = (r: Box): number => (r[2] - r[0]) * (r[3] - r[1]);
  return inter / (area(a) + area(b) - inter);
}

/** The read box surrounds the ink (1% slack) without being much larger (IoU ≥ 0.6). */
function expectBoxAroundInk(box: Box, ink: Box): void {
  const slack = 0.01;
  expect(box[0]).toBeLessThanOrEqual(ink[0] + slack);
  expect(box[1]).toBeLessThanOrEqual(ink[1] + slack);
  expect(box[2]).toBeGreaterThanOrEqual(ink[2] - slack);
  expect(box[3]).toBeGreaterThanOrEqual(ink[3] - slack);
  expect(iou(box, ink)).toBeGreaterThanOrEqual(0.6);
  for (const v of box) {
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThanOrEqual(1);
  }
}

function expectWellFormed(lines: TextLine[]): void {
  for (const l of lines) {
    expect(l.text).toBe(l.text.trim());
    expect(l.confidence).toBeGreaterThan(0);
    expect(l.confidence).toBeLessThanOrEqual(1);
    expect(l.box[0]).toBeLessThanOrEqual(l.box[2]);
    expect(l.box[1]).toBeLessThanOrEqual(l.box[3]);
  }
}

// ---- fixtures -----------------------------------------------------------------------------

const EN = ['OCELLUS 2026 image understanding', 'Self-hosted, offline, private.'];
const ZH = ['你好世界 影像理解', '文字识别 OCR 2026'];
/** The sign: where it is pasted onto the photo, and its size. */
const SIGN = { left: 300, top: 60, width: 300, height: 90, text: 'EXIT 12' };

let english: Rendered;
let chinese: Rendered;
let sign: { img: RgbImage; box: Box };
let scream: RgbImage;
const tesseract = new TesseractReader();
const paddle = new PaddleReader();

beforeAll(async () => {
  await ensureFonts();
  english = await render(640, 480, [
    { text: EN[0]!, y: 120, size: 30, font: LATIN_FONT },
    { text: EN[1]!, y: 300, size: 30, font: LATIN_FONT },
  ]);
  chinese = await render(640, 480, [
    { text: ZH[0]!, y: 140, size: 48, font: CJK_FONT },
    {
      text: ZH[1]!,
      // WenQuanYi's narrow Latin "O" reads as "0"; real signs set Latin in a Latin face.
      body: `<tspan font-family="${CJK_FONT}">文字识别</tspan> <tspan font-family="${LATIN_FONT}">OCR 2026</tspan>`,
      y: 320,
      size: 40,
      font: CJK_FONT,
    },
  ]);
  const label = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SIGN.width}" height="${SIGN.height}"><rect x="2" y="2" width="296" height="86" rx="10" fill="#1d5f2f" stroke="white" stroke-width="4"/>` +
      `<text x="150" y="60" text-anchor="middle" font-family="${LATIN_FONT}" font-weight="bold" font-size="40" fill="white">${SIGN.text}</text></svg>`,
  );
  const photo = sharp(fixturePath('kite.jpg')).resize(640).composite([{ input: label, left: SIGN.left, top: SIGN.top }]);
  const signImg = await toRgb(sharp(await photo.png().toBuffer()));
  sign = {
    img: signImg,
    box: [SIGN.left / signImg.width, SIGN.top / signImg.height, (SIGN.left + SIGN.width) / signImg.width, (SIGN.top + SIGN.height) / signImg.height],
  };
  scream = await toRgb(sharp(fixturePath('scream.jpg')));
  await Promise.all([tesseract.load(), paddle.load()]);
});

afterAll(async () => {
  await Promise.all([tesseract.dispose(), paddle.dispose()]);
});

// ---- tests --------------------------------------------------------------------------------

describe('TesseractReader', () => {
  it('reads the English render exactly, lines in order, boxes around the ink', async () => {
    const lines = await tesseract.read(english.img);
    expectWellFormed(lines);
    expect(lines.map((l) => l.text)).toEqual(EN);
    lines.forEach((l, i) => {
      expect(characterAccuracy(EN[i]!, l.text)).toBeGreaterThanOrEqual(0.95);
      expect(l.confidence).toBeGreaterThanOrEqual(0.9);
      expectBoxAroundInk(l.box, english.lines[i]!.ink);
    });
  });

  it('reads the sign on a photo and drops the texture around it', async () => {
    const lines = await tesseract.read(sign.img);
    expect(lines.map((l) => l.text)).toEqual([SIGN.text]);
    const box = lines[0]!.box;
    expect(box[0]).toBeGreaterThanOrEqual(sign.box[0]);
    expect(box[1]).toBeGreaterThanOrEqual(sign.box[1]);
    expect(box[2]).toBeLessThanOrEqual(sign.box[2]);
    expect(box[3]).toBeLessThanOrEqual(sign.box[3]);
  });

  it('finds no text in a painting, and reports what it could not read', async () => {
    const detail = await tesseract.readDetailed(scream);
    expect(detail.lines).toEqual([]);
    for (const r of detail.rejected) expect(r.confidence).toBeLessThan(tesseract.confidenceFloor);
  });

  it('keeps no Chinese-as-English garbage, and rejects it instead', async () => {
    const detail = await tesseract.readDetailed(chinese.img);
    expect(detail.lines.some((l) => l.text.includes('OCR'))).toBe(true); // the Latin part is readable
    expect(detail.rejected.length).toBeGreaterThan(0);
  });
});

describe('PaddleReader', () => {
  it('reads the Chinese render exactly (PP-OCR leaves out spaces), boxes around the ink', async () => {
    const lines = await paddle.read(chinese.img);
    expectWellFormed(lines);
    expect(lines.map((l) => noSpace(l.text))).toEqual(ZH.map(noSpace));
    lines.forEach((l, i) => {
      expect(characterAccuracy(noSpace(ZH[i]!), noSpace(l.text))).toBeGreaterThanOrEqual(0.95);
      expect(l.confidence).toBeGreaterThanOrEqual(0.9);
      expectBoxAroundInk(l.box, chinese.lines[i]!.ink);
    });
  });

  it('reads the English render exactly, boxes around the ink', async () => {
    const lines = await paddle.read(english.img);
    expectWellFormed(lines);
    expect(lines.map((l) => l.text)).toEqual(EN);
    lines.forEach((l, i) => expectBoxAroundInk(l.box, english.lines[i]!.ink));
  });

  it('reads the sign on a photo, its box on the sign', async () => {
    const lines = await paddle.read(sign.img);
    expect(lines.map((l) => l.text)).toEqual([SIGN.text]);
    const box = lines[0]!.box;
    expect(iou(box, sign.box)).toBeGreaterThan(0.2);
    expect(box[0]).toBeGreaterThanOrEqual(sign.box[0]);
    expect(box[2]).toBeLessThanOrEqual(sign.box[2]);
  });

  it('finds no text in a painting', async () => {
    expect(await paddle.read(scream)).toEqual([]);
  });

  it('scales boxes back from the detector size (a non-multiple-of-32, large image)', async () => {
    const big = await render(1500, 700, [{ text: 'Ocellus reads text', y: 400, size: 90, font: LATIN_FONT }]);
    const lines = await paddle.read(big.img);
    expect(lines.map((l) => l.text)).toEqual(['Ocellus reads text']);
    expectBoxAroundInk(lines[0]!.box, big.lines[0]!.ink);
  });
});

describe('readText', () => {
  const readers = { tesseract, paddle };

  it('uses tesseract alone for English text', async () => {
    const r = await readText(english.img, readers, { prompt: 'What does it say?' });
    expect(r.ran).toEqual(['tesseract']);
    expect(r.reader).toBe('tesseract');
    expect(r.lines.map((l) => l.text)).toEqual(EN);
  });

  it('falls back to paddle when tesseract cannot read unannounced Chinese', async () => {
    const r = await readText(chinese.img, readers, { prompt: 'What does it say?' });
    expect(r.ran).toEqual(['tesseract', 'paddle']);
    expect(r.reader).toBe('paddle');
    expect(r.lines.map((l) => noSpace(l.text))).toEqual(ZH.map(noSpace));
  });

  it('goes straight to paddle for a Chinese prompt', async () => {
    const r = await readText(chinese.img, readers, { prompt: '图片上写了什么？' });
    expect(r.ran).toEqual(['paddle']);
    expect(r.lines.map((l) => noSpace(l.text))).toEqual(ZH.map(noSpace));
  });

  it('returns nothing for a painting, whichever reader ran', async () => {
    const r = await readText(scream, readers);
    expect(r.lines).toEqual([]);
  });

  it('works with one reader only', async () => {
    expect((await readText(english.img, { paddle })).reader).toBe('paddle');
    expect((await readText(chinese.img, { tesseract }, { prompt: '图片上写了什么？' })).reader).toBe('tesseract');
    await expect(readText(english.img, {})).rejects.toThrow(/no OCR reader/);
  });
});

describe('lifecycle and offline loading', () => {
  it('loads again after dispose', async () => {
    const t = new TesseractReader();
    const p = new PaddleReader();
    expect((await t.read(english.img)).map((l) => l.text)).toEqual(EN);
    expect((await p.read(english.img)).map((l) => l.text)).toEqual(EN);
    await Promise.all([t.dispose(), p.dispose()]);
    expect((await t.read(english.img)).map((l) => l.text)).toEqual(EN);
    expect((await p.read(english.img)).map((l) => l.text)).toEqual(EN);
    await Promise.all([t.dispose(), p.dispose()]);
  });

  it('takes every model file from node_modules', () => {
    const nodeModules = path.join(REPO_ROOT, 'node_modules') + path.sep;
    for (const p of [...Object.values(tesseractPaths()), ...Object.values(paddleModelPaths())]) expect(p.startsWith(nodeModules)).toBe(true);
  });

  it('loads and reads with no network at all (unshare -n), writing nothing to its working directory', async () => {
    // A network namespace with only a down loopback: any fetch from a CDN fails.
    let prefix: string[] | undefined;
    for (const args of [['-n'], ['-rn']]) {
      try {
        await exec('unshare', [...args, 'true']);
        prefix = ['unshare', ...args];
        break;
      } catch {
        // try the next form
      }
    }
    if (!prefix) throw new Error('unshare cannot create a network namespace here: the offline check needs util-linux and CAP_SYS_ADMIN or user namespaces');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ocellus-ocr-offline-'));
    try {
      const png = path.join(os.tmpdir(), `ocellus-ocr-offline-${process.pid}.png`);
      await writeFile(png, await sharp(Buffer.from(english.img.rgb), { raw: { width: english.img.width, height: english.img.height, channels: 3 } }).png().toBuffer());
      const tsx = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
      const { stdout } = await exec(prefix[0]!, [...prefix.slice(1), tsx, path.join(HERE, 'offline-child.ts'), png], {
        cwd: dir,
        timeout: 120_000,
      });
      await rm(png, { force: true });
      const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { tesseract: string[]; paddle: string[] };
      expect(out).toEqual({ tesseract: EN, paddle: EN });
      expect(await readdir(dir)).toEqual([]); // cacheMethod 'none': no eng.traineddata copy
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
