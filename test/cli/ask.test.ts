/**
 * `ocellus ask` as a user runs it: a child process (node + tsx on src/main.ts) talking to
 * the real server with the offline vision engine, or starting its own in-process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { box2dToPixels, itemsOfAnswer, OVERLAY_COLOURS, type PixelBox } from '../../src/overlay/answer-items.js';
import { fixturePath, REPO_ROOT } from '../support/fixtures.js';
import { startServer, storedBlobs, type RunningServer } from '../support/server.js';

const DETECT = 'Detect all of the prominent items in the image. The box_2d should be [ymin, xmin, ymax, xmax] normalized to 0-1000.';
const SEGMENT =
  'Give the segmentation masks for the dog and the bicycle. Output a JSON list of segmentation masks where each entry contains the 2D bounding box in the key "box_2d", the segmentation mask in key "mask", and the text label in the key "label".';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The child's environment: ours without anything that would point ask elsewhere or key it. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('OCELLUS_') || k === 'GEMINI_API_KEY' || k === 'GOOGLE_API_KEY') delete env[k];
  return env;
}

function ask(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'ask', ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function rgbOf(file: string) {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, px: (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)) };
}

const rgbOfHex = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
const near = (a: number[], b: number[], tol: number) => a.every((v, i) => Math.abs(v - (b[i] ?? 0)) <= tol);
/** Inside `b` grown by `m` pixels (strokes lie inside boxes; labels sit up to 18 px above). */
const within = (x: number, y: number, b: PixelBox, m = 0, top = 0) => x >= b.x0 - m && x < b.x1 + m && y >= b.y0 - m - top && y < b.y1 + m;

let server: RunningServer;
let work: string;

beforeAll(async () => {
  // The label check off: dog-exif6.jpg's upright view is a sideways dog, which the detector calls a cat and the
  // check rightly drops, leaving nothing to draw; these tests are about drawing what the server answered.
  server = await startServer({ flags: { verifyLabels: false } });
  work = mkdtempSync(path.join(os.tmpdir(), 'ocellus-ask-test-'));
});
afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('ocellus ask --url', () => {
  it('--json prints a GenerateContentResponse with a non-empty text', async () => {
    const r = await ask(['--url', server.baseUrl, '--json', fixturePath('dog.jpg'), 'Caption this image.']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const response = JSON.parse(r.stdout) as { candidates: Array<{ content: { role: string; parts: Array<{ text: string }> }; finishReason: string }>; usageMetadata: { totalTokenCount: number } };
    expect(response.candidates[0]?.content.role).toBe('model');
    expect(response.candidates[0]?.content.parts[0]?.text.length).toBeGreaterThan(0);
    expect(response.candidates[0]?.finishReason).toBe('STOP');
    expect(response.usageMetadata.totalTokenCount).toBeGreaterThan(258);
  }, 120_000);

  it('--out draws each detected box in its colour on the upright photo and leaves the rest alone', async () => {
    const out = path.join(work, 'detect.png');
    const r = await ask(['--url', server.baseUrl, '--json', '--out', out, fixturePath('dog.jpg'), DETECT]);
    expect(r.code).toBe(0);
    const text = (JSON.parse(r.stdout) as { candidates: Array<{ content: { parts: Array<{ text: string }> } }> }).candidates[0]!.content.parts[0]!.text;
    const items = itemsOfAnswer(text);
    expect(items.map((i) => i.label)).toContain('dog');
    expect(r.stderr).toContain(`${items.length} boxes`);

    const drawn = await rgbOf(out);
    const photo = await rgbOf(fixturePath('dog.jpg'));
    expect([drawn.width, drawn.height]).toEqual([photo.width, photo.height]);
    const boxes = items.map((i) => box2dToPixels(i.box_2d, photo.width, photo.height));

    // Each box's left edge, at a height where no other box (nor its label) is drawn.
    let checkedEdges = 0;
    boxes.forEach((b, i) => {
      const colour = rgbOfHex(OVERLAY_COLOURS[i % OVERLAY_COLOURS.length]!);
      for (let y = b.y0 + 20; y < b.y1 - 3; y += 7) {
        if (boxes.some((o, j) => j !== i && within(b.x0 + 1, y, o, 4, 18))) continue;
        expect(drawn.px(b.x0 + 1, y), `box ${i} (${items[i]?.label}) at ${b.x0 + 1},${y}`).toEqual(colour);
        checkedEdges++;
      }
    });
    expect(checkedEdges).toBeGreaterThan(3);

    // Pixels at least 6 px from every box edge and label, outside the boxes and inside them
    // (a detection answer has no masks), are the photo's own.
    const inner = (b: PixelBox): PixelBox => ({ x0: b.x0 + 6, y0: b.y0 + 24, x1: b.x1 - 6, y1: b.y1 - 6 });
    let unchanged = 0;
    let insideBoxes = 0;
    for (let y = 0; y < photo.height; y += 13)
      for (let x = 0; x < photo.width; x += 13) {
        if (boxes.some((b) => within(x, y, b, 6, 20) && !within(x, y, inner(b)))) continue;
        expect(drawn.px(x, y), `${x},${y}`).toEqual(photo.px(x, y));
        unchanged++;
        if (boxes.some((b) => within(x, y, b))) insideBoxes++;
      }
    expect(unchanged).toBeGreaterThan(100);
    expect(insideBoxes).toBeGreaterThan(50);
  }, 120_000);

  it('--out on a streamed segmentation answer tints the pixels inside each mask and no others in its box', async () => {
    const out = path.join(work, 'segment.png');
    const r = await ask(['--url', server.baseUrl, '--out', out, fixturePath('dog.jpg'), SEGMENT]);
    expect(r.code).toBe(0);
    const items = itemsOfAnswer(r.stdout).filter((i) => i.mask);
    expect(items.length).toBeGreaterThan(0);
    expect(r.stderr).toMatch(new RegExp(`${items.length} masks?`));
    const drawn = await rgbOf(out);
    const photo = await rgbOf(fixturePath('dog.jpg'));
    const all = itemsOfAnswer(r.stdout);
    const boxes = all.map((i) => box2dToPixels(i.box_2d, photo.width, photo.height));

    const dogIndex = all.findIndex((i) => i.label === 'dog' && i.mask);
    expect(dogIndex).toBeGreaterThanOrEqual(0);
    const dog = all[dogIndex]!;
    const box = boxes[dogIndex]!;
    const w = box.x1 - box.x0;
    const h = box.y1 - box.y0;
    // The mask resized into the box independently of the drawing code; only pixels whose whole
    // 5x5 neighbourhood is clearly in (or out) are checked, so interpolation differences do not matter.
    const mask = await sharp(Buffer.from(dog.mask!.split(',')[1]!, 'base64')).extractChannel(0).resize(w, h, { fit: 'fill' }).raw().toBuffer();
    const m = (x: number, y: number) => mask[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))] ?? 0;
    const all5 = (x: number, y: number, pred: (v: number) => boolean) => {
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) if (!pred(m(x + dx, y + dy))) return false;
      return true;
    };
    const colour = rgbOfHex(OVERLAY_COLOURS[dogIndex % OVERLAY_COLOURS.length]!);
    const elsewhere = (x: number, y: number) => boxes.some((o, j) => j !== dogIndex && within(x, y, o, 4, 20));
    let tinted = 0;
    let untouched = 0;
    for (let y = 8; y < h - 8; y += 5)
      for (let x = 8; x < w - 8; x += 5) {
        const [ix, iy] = [box.x0 + x, box.y0 + y];
        if (elsewhere(ix, iy)) continue;
        const before = photo.px(ix, iy);
        const after = drawn.px(ix, iy);
        if (all5(x, y, (v) => v > 200)) {
          // Alpha-blended towards the mask colour: between the photo and the colour, closer than 0.6 of the way.
          const expected = before.map((v, c) => v + (colour[c]! - v) * 0.45);
          expect(near(after, expected, 6), `inside the mask at ${ix},${iy}: ${after} vs ${expected}`).toBe(true);
          tinted++;
        } else if (all5(x, y, (v) => v < 40)) {
          expect(after, `outside the mask at ${ix},${iy}`).toEqual(before);
          untouched++;
        }
      }
    expect(tinted).toBeGreaterThan(50);
    expect(untouched).toBeGreaterThan(10);
  }, 120_000);

  it('--out draws on the image upright as the server saw it: EXIF orientation 6 and HEIC', async () => {
    for (const [fixture, size] of [
      ['dog-exif6.jpg', [576, 768]],
      ['dog.heic', [768, 576]],
    ] as const) {
      const out = path.join(work, `${fixture}.png`);
      const r = await ask(['--url', server.baseUrl, '--mime', 'application/json', '--out', out, fixturePath(fixture), DETECT]);
      expect(r.code, r.stderr).toBe(0);
      const items = itemsOfAnswer(r.stdout);
      expect(items.length, r.stdout).toBeGreaterThan(0);
      const drawn = await rgbOf(out);
      expect([drawn.width, drawn.height]).toEqual(size);
      const b = box2dToPixels(items[0]!.box_2d, drawn.width, drawn.height);
      expect(drawn.px(b.x1 - 2, Math.round((b.y0 + b.y1) / 2))).toEqual(rgbOfHex(OVERLAY_COLOURS[0]));
    }
  }, 120_000);

  it('sends an image over 15 MB through the resumable Files API with a progress line', async () => {
    const big = path.join(work, 'dog-16mb.png');
    // Uncompressed, so 2400x2400 RGB is ~17 MB on disk.
    await sharp(fixturePath('dog.jpg')).resize(2400, 2400, { fit: 'fill' }).png({ compressionLevel: 0 }).toFile(big);
    const r = await ask(['--url', server.baseUrl, '--json', big, 'Caption this image.']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^upload dog-16mb\.png: done, 1[67]\.\d MiB \/ 1[67]\.\d MiB \(100%\)/m);
    expect(storedBlobs(server.dataDir).some((f) => f.startsWith(`blobs${path.sep}`))).toBe(true);
    const response = JSON.parse(r.stdout) as { candidates: Array<{ content: { parts: Array<{ text: string }> } }> };
    expect(response.candidates[0]?.content.parts[0]?.text).toMatch(/dog|bicycle/);
  }, 120_000);

  it('a missing image is exit code 1 with a message naming it, before any request', async () => {
    const r = await ask(['--url', 'http://127.0.0.1:9', path.join(work, 'no-such-photo.jpg'), 'Caption this image.']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(`ocellus: image not found: ${path.join(work, 'no-such-photo.jpg')}`);
  });

  it("a server error is printed as the server's Gemini error message, exit code 1", async () => {
    const r = await ask(['--url', server.baseUrl, fixturePath('dog-truncated.jpg'), 'Caption this image.']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ocellus: contents\[0\]\.parts\[0\]\.inlineData is a truncated or corrupt JPEG image.*\(400 INVALID_ARGUMENT\)\n$/);
  });

  it('an unreachable server is said in words, exit code 1', async () => {
    const r = await ask(['--url', 'http://127.0.0.1:9', fixturePath('dog.jpg'), 'Caption this image.']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot reach http://127.0.0.1:9');
  });
});

describe('ocellus ask without --url', () => {
  it('starts the server in-process, says so while the models load, answers, and removes its data dir', async () => {
    const ours = () => new Set(readdirSync(os.tmpdir()).filter((n) => n.startsWith('ocellus-ask-') && !n.startsWith('ocellus-ask-test-')));
    const before = ours();
    const r = await ask([fixturePath('dog.jpg'), 'Caption this image.']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^models: loading the offline models…\nmodels: ready in \d+\.\d s\n$/);
    expect(r.stdout).toMatch(/dog/);
    expect([...ours()].filter((n) => !before.has(n))).toEqual([]);
  }, 180_000);
});
