/**
 * The playground in real headless Chromium against the real server (offline vision engine,
 * API keys enforced). What the page draws is checked on screenshots against what the JSON
 * answer says: box edges carry the box's colour where box_2d puts them, mask pixels are
 * tinted by the mask's colour exactly where the mask PNG says and nowhere else in the box.
 * Streaming, the Files tab's resumable upload and delete, "copy as code" (run with bash
 * and node) and error messages are driven through the UI as a user would.
 *
 * OCELLUS_SCREENSHOTS=1 also writes docs/playground-detect.png and docs/playground-segment.png.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { box2dToPixels, itemsOfAnswer, type AnswerItem } from '../../src/overlay/answer-items.js';
import { expectDogFound } from '../e2e/helpers.js';
import { launchChromium } from '../support/chromium.js';
import { fixturePath, readFixture, REPO_ROOT } from '../support/fixtures.js';
import { startServer, type RunningServer } from '../support/server.js';
import { ensureWebBuild } from '../support/web-build.js';

const KEY = 'playground-browser-key';
const run = promisify(execFile);

let server: RunningServer;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  await ensureWebBuild();
  [server, browser] = await Promise.all([startServer({ apiKeys: [KEY] }), launchChromium()]);
  context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
  // The key field reads localStorage at start, as it does for a returning user.
  await context.addInitScript((key) => localStorage.setItem('ocellus.apiKey', key), KEY);
}, 180_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
});

/** A fresh page of the playground, failing the test on any page error. */
async function openPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  await page.goto(`${server.baseUrl}/`);
  await page.waitForSelector('#model option', { state: 'attached' });
  return page;
}

async function addImages(page: Page, ...names: Parameters<typeof fixturePath>[0][]): Promise<void> {
  await page.setInputFiles('#image-input', names.map(fixturePath));
  await page.waitForFunction((n) => document.querySelectorAll('.stage canvas').length === n && [...document.querySelectorAll<HTMLCanvasElement>('.stage canvas')].every((c) => c.width > 300), names.length);
}

/** Clicks a preset and Send, waits for the answer; returns its text as the page shows it. */
async function ask(page: Page, preset: string): Promise<string> {
  await page.click(`button[data-preset=${preset}]`);
  await page.click('#send');
  await page.waitForSelector('#status[data-state=done], #status[data-state=error]', { timeout: 120_000 });
  expect(await page.textContent('#error')).toBe('');
  expect(await page.getAttribute('#status', 'data-state')).toBe('done');
  return (await page.textContent('#answer')) ?? '';
}

interface Shot {
  width: number;
  height: number;
  px: Buffer;
}

/** The first image of the page as drawn (preview + overlay), as raw RGB. */
async function shootImage(page: Page, index = 0): Promise<Shot> {
  const box = await page.locator(`.stage[data-image="${index}"] img`).boundingBox();
  if (!box) throw new Error('no image on the page');
  const png = await page.screenshot({ clip: { x: Math.round(box.x), y: Math.round(box.y), width: Math.round(box.width), height: Math.round(box.height) } });
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, px: data };
}

const pixel = (s: Shot, x: number, y: number): [number, number, number] => {
  const i = (Math.min(s.height - 1, Math.max(0, y)) * s.width + Math.min(s.width - 1, Math.max(0, x))) * 3;
  return [s.px[i]!, s.px[i + 1]!, s.px[i + 2]!];
};
const rgbOf = (hex: string): [number, number, number] => {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
};
const dist = (a: readonly number[], b: readonly number[]) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

/** Share of points along a box's left, right and bottom edges (the top holds the label) whose pixel, within 1 px, has the colour. */
function edgeShare(s: Shot, item: AnswerItem, colour: string): number {
  const b = box2dToPixels(item.box_2d, s.width, s.height);
  const c = rgbOf(colour);
  const points: Array<[number, number]> = [];
  for (let t = 0.2; t <= 0.8; t += 0.05) {
    const y = Math.round(b.y0 + (b.y1 - b.y0) * t);
    const x = Math.round(b.x0 + (b.x1 - b.x0) * t);
    points.push([b.x0, y], [b.x1, y], [x, b.y1]);
  }
  const near = ([x, y]: [number, number]) => [-1, 0, 1].some((dx) => [-1, 0, 1].some((dy) => dist(pixel(s, x + dx, y + dy), c) < 60));
  return points.filter(near).length / points.length;
}

/** The colour the page gave each JSON entry, in order (li[data-colour]), and the entries' text. */
async function entries(page: Page): Promise<Array<{ colour: string; text: string }>> {
  return page.$$eval('#entries li', (lis) => lis.map((li) => ({ colour: (li as HTMLElement).dataset.colour ?? '', text: li.textContent ?? '' })));
}

async function savePageShot(page: Page, name: string): Promise<void> {
  if (process.env.OCELLUS_SCREENSHOTS !== '1') return;
  await page.mouse.move(0, 0);
  const png = await page.screenshot({ clip: { x: 0, y: 0, width: 1400, height: 940 } });
  // A palette PNG keeps the screenshot small enough to commit (~300 KB).
  const small = await sharp(png).resize(1120).png({ palette: true, quality: 90, effort: 10, compressionLevel: 9 }).toBuffer();
  writeFileSync(path.join(REPO_ROOT, 'docs', name), small);
}

describe('the playground in Chromium', () => {
  it('detects on a real photo and draws each box where its box_2d says, in its colour; hovering links boxes and entries', async () => {
    const page = await openPage();
    await addImages(page, 'dog.jpg');
    const text = await ask(page, 'detect');
    const items = itemsOfAnswer(text);
    expectDogFound(items);
    const listed = await entries(page);
    expect(listed).toHaveLength(items.length);

    const drawn = await shootImage(page);
    // The preview is the photo at its own size (768x576 fits the column).
    expect([drawn.width, drawn.height]).toEqual([768, 576]);
    await page.uncheck('#show-overlay');
    const plain = await shootImage(page);
    await page.check('#show-overlay');
    items.forEach((item, i) => {
      expect(listed[i]!.text).toContain(`"label":"${item.label}"`);
      expect(edgeShare(drawn, item, listed[i]!.colour), `${item.label} box edges in ${listed[i]!.colour}`).toBeGreaterThan(0.8);
      // The same check on the bare photo fails: the colour comes from the overlay.
      expect(edgeShare(plain, item, listed[i]!.colour), `${item.label} edges on the plain preview`).toBeLessThan(0.3);
    });

    // Hovering the dog's box highlights its entry (the smallest box under the pointer wins).
    const dogIndex = items.findIndex((i) => i.label === 'dog');
    const dog = box2dToPixels(items[dogIndex]!.box_2d, drawn.width, drawn.height);
    const img = (await page.locator('.stage[data-image="0"] canvas').boundingBox())!;
    const [px, py] = [Math.round((dog.x0 + dog.x1) / 2), Math.round(dog.y0 + (dog.y1 - dog.y0) * 0.85)];
    const under = items.filter((it) => {
      const b = box2dToPixels(it.box_2d, drawn.width, drawn.height);
      return px >= b.x0 && px <= b.x1 && py >= b.y0 && py <= b.y1;
    });
    const area = (it: AnswerItem) => (it.box_2d[2] - it.box_2d[0]) * (it.box_2d[3] - it.box_2d[1]);
    const expected = items.indexOf(under.sort((a, b) => area(a) - area(b))[0]!);
    await page.mouse.move(img.x + px, img.y + py);
    await expect.poll(() => page.$$eval('#entries li.active', (lis) => lis.map((l) => (l as HTMLElement).dataset.item))).toEqual([String(expected)]);

    // And the reverse: hovering another entry fades every other box (its edge pixel loses opacity on the canvas).
    // The probe is a pixel of the dog's left edge; the entry hovered is one whose box does not pass near
    // it (dog.jpg's bicycle box can start at the dog's x, and its own edge there stays opaque).
    const probe: [number, number] = [dog.x0, Math.round((dog.y0 + dog.y1) / 2)];
    const nearEdge = (it: AnswerItem) => {
      const b = box2dToPixels(it.box_2d, drawn.width, drawn.height);
      const within = (v: number, lo: number, hi: number) => v >= lo - 6 && v <= hi + 6;
      const onVertical = (Math.abs(probe[0] - b.x0) <= 6 || Math.abs(probe[0] - b.x1) <= 6) && within(probe[1], b.y0, b.y1);
      const onHorizontal = (Math.abs(probe[1] - b.y0) <= 6 || Math.abs(probe[1] - b.y1) <= 6) && within(probe[0], b.x0, b.x1);
      return onVertical || onHorizontal;
    };
    const other = items.findIndex((it, i) => i !== dogIndex && !nearEdge(it));
    expect(other).toBeGreaterThanOrEqual(0);
    const edgeAlpha = () =>
      page.$eval('.stage[data-image="0"] canvas', (c, [x, y]) => (c as HTMLCanvasElement).getContext('2d')!.getImageData(x!, y!, 1, 1).data[3], probe);
    await page.mouse.move(0, 0);
    expect(await edgeAlpha()).toBe(255);
    await page.hover(`#entries li[data-item="${other}"]`);
    expect(await page.getAttribute(`#entries li[data-item="${other}"]`, 'class')).toContain('active');
    expect(await edgeAlpha()).toBeLessThan(128);

    await savePageShot(page, 'playground-detect.png');
    await page.close();
  }, 180_000);

  it('segments and tints exactly the mask pixels of each item in its colour, leaving the rest of the box untouched', async () => {
    const page = await openPage();
    await addImages(page, 'dog.jpg');
    const text = await ask(page, 'segment');
    expect(text).toMatch(/^```json/);
    const items = itemsOfAnswer(text);
    expect(items.length).toBeGreaterThan(0);
    for (const it of items) expect(it.mask).toMatch(/^data:image\/png;base64,/);
    const listed = await entries(page);

    await page.mouse.move(0, 0);
    const drawn = await shootImage(page);
    await page.uncheck('#show-overlay');
    const plain = await shootImage(page);
    await page.check('#show-overlay');
    const { width: W, height: H } = drawn;

    // Each mask resized into its box (as the guide's code does), in screenshot pixels.
    const maps = await Promise.all(
      items.map(async (it) => {
        const b = box2dToPixels(it.box_2d, W, H);
        const w = b.x1 - b.x0;
        const h = b.y1 - b.y0;
        const m = await sharp(Buffer.from(it.mask!.split(',')[1]!, 'base64')).resize(w, h, { fit: 'fill', kernel: 'linear' }).extractChannel(0).raw().toBuffer();
        const full = new Uint8Array(W * H);
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) full[(b.y0 + y) * W + b.x0 + x] = m[y * w + x]!;
        return full;
      }),
    );
    // Pixels near any box edge or label are left out: strokes and labels are drawn there.
    const nearEdge = (x: number, y: number) =>
      items.some((it) => {
        const b = box2dToPixels(it.box_2d, W, H);
        const inX = x >= b.x0 - 4 && x <= b.x1 + 4;
        const inY = y >= b.y0 - 4 && y <= b.y1 + 4;
        return (inX && inY && (Math.abs(x - b.x0) <= 4 || Math.abs(x - b.x1) <= 4 || Math.abs(y - b.y1) <= 4)) || (inX && y >= b.y0 - 32 && y <= b.y0 + 32);
      });
    const maxAround = (map: Uint8Array, x: number, y: number, r: number) => {
      let m = 0;
      for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) m = Math.max(m, map[Math.min(H - 1, Math.max(0, y + dy)) * W + Math.min(W - 1, Math.max(0, x + dx))]!);
      return m;
    };

    const alpha = 110 / 255; // the page's mask fill opacity
    for (const [i, it] of items.entries()) {
      const colour = rgbOf(listed[i]!.colour);
      const b = box2dToPixels(it.box_2d, W, H);
      let inside = 0;
      let tinted = 0;
      let outside = 0;
      let untouched = 0;
      for (let y = b.y0; y < b.y1; y += 2)
        for (let x = b.x0; x < b.x1; x += 2) {
          if (nearEdge(x, y)) continue;
          const mine = maps[i]![y * W + x]!;
          const others = maps.some((m, j) => j !== i && maxAround(m, x, y, 3) > 30);
          const d = pixel(drawn, x, y);
          const p = pixel(plain, x, y);
          if (mine > 200 && maxAround(maps[i]!, x, y, 0) > 200 && !others) {
            inside++;
            const expected = p.map((v, k) => v * (1 - alpha) + colour[k]! * alpha);
            if (dist(d, expected) < 45 && dist(d, colour) < dist(p, colour)) tinted++;
          } else if (maxAround(maps[i]!, x, y, 3) < 10 && !maps.some((m) => maxAround(m, x, y, 3) >= 10)) {
            outside++;
            if (dist(d, p) < 15) untouched++;
          }
        }
      expect(inside, `${it.label}: mask pixels to check`).toBeGreaterThan(50);
      expect(tinted / inside, `${it.label}: mask pixels tinted ${listed[i]!.colour}`).toBeGreaterThan(0.85);
      if (outside > 50) expect(untouched / outside, `${it.label}: box pixels outside every mask left as they are`).toBeGreaterThan(0.9);
    }
    // dog.jpg's dog fills only part of its box: something outside its mask was checked.
    expect(items.some((it) => it.label === 'dog')).toBe(true);

    await savePageShot(page, 'playground-segment.png');
    await page.close();
  }, 180_000);

  it('shows the answer as it streams: the answer text is written at least twice, each time longer', async () => {
    const page = await openPage();
    await addImages(page, 'dog.jpg');
    // Every write to the answer element, recorded as it happens (text nodes keep the value they were created with).
    await page.evaluate(() => {
      const w = window as unknown as { writes: string[] };
      w.writes = [];
      new MutationObserver((records) => {
        for (const r of records) for (const n of r.addedNodes) w.writes.push(n.textContent ?? '');
      }).observe(document.getElementById('answer')!, { childList: true });
    });
    const text = await ask(page, 'caption');
    const writes = (await page.evaluate(() => (window as unknown as { writes: string[] }).writes)).filter(Boolean);
    const distinct = writes.filter((w, i) => w !== writes[i - 1]);
    expect(distinct.length, JSON.stringify(distinct)).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < distinct.length; i++) {
      expect(distinct[i]!.startsWith(distinct[i - 1]!)).toBe(true);
      expect(distinct[i]!.length).toBeGreaterThan(distinct[i - 1]!.length);
    }
    expect(distinct.at(-1)).toBe(text);
    expect(await page.textContent('#status')).toMatch(/done: [2-9]\d* chunks/);
    // Token count before, usageMetadata after, and they agree on the prompt.
    await page.waitForSelector('#token-count[data-tokens]', { state: 'attached' });
    const counted = Number(await page.getAttribute('#token-count', 'data-tokens'));
    expect(counted).toBeGreaterThan(258);
    expect(await page.textContent('#usage')).toContain(`prompt ${counted} `);
    await page.close();
  }, 180_000);

  it('compares two photos and highlights the changed regions on both', async () => {
    const page = await openPage();
    await addImages(page, 'dog.jpg', 'person.jpg');
    const text = await ask(page, 'compare');
    const diffs = JSON.parse(text) as Array<{ images: number[]; changed_regions: Array<{ box_2d: number[] }> }>;
    expect(diffs[0]!.images).toEqual([1, 2]);
    expect(diffs[0]!.changed_regions.length).toBeGreaterThan(0);
    const counts = await page.$$eval('.stage canvas', (cs) =>
      cs.map((c) => {
        const { data } = (c as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height);
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
        return n;
      }),
    );
    expect(counts).toHaveLength(2);
    for (const n of counts) expect(n).toBeGreaterThan(1000);
    expect((await entries(page)).length).toBe(2 * diffs.reduce((s, d) => s + d.changed_regions.length, 0));
    await page.close();
  }, 180_000);

  it('Files tab: uploads a 9 MB PNG in two resumable chunks with progress to 100%, uses it, lists its expiry, deletes it', async () => {
    const page = await openPage();
    await page.click('#tab-button-files');
    await page.evaluate(() => {
      const w = window as unknown as { progress: string[] };
      w.progress = [];
      new MutationObserver(() => {
        const p = document.querySelector('.upload .pct')?.textContent;
        if (p && p !== w.progress.at(-1)) w.progress.push(p);
      }).observe(document.getElementById('uploads')!, { subtree: true, childList: true, characterData: true });
    });
    await page.setInputFiles('#upload-input', fixturePath('big.png'));
    await page.waitForSelector('.upload[data-state]', { timeout: 120_000 });
    expect(await page.getAttribute('.upload', 'data-state')).toBe('ACTIVE');
    expect(await page.textContent('.upload .pct')).toBe('100%');
    expect(await page.$eval('.upload progress', (p) => (p as HTMLProgressElement).value)).toBe(100);
    const progress = await page.evaluate(() => (window as unknown as { progress: string[] }).progress);
    expect(progress.at(-1)).toBe('100%');
    expect(progress.some((p) => p !== '0%' && p !== '100%'), JSON.stringify(progress)).toBe(true);

    const name = /uploaded as (files\/[\w-]+)/.exec((await page.textContent('.upload')) ?? '')![1]!;
    const row = page.locator(`#files-table tr[data-name="${name}"]`);
    await row.waitFor();
    expect(await row.locator('.expires').textContent()).toMatch(/^in 4[78] h \d+ min/);
    const api = (p: string, init: RequestInit = {}) => fetch(`${server.baseUrl}/v1beta/${p}`, { ...init, headers: { 'x-goog-api-key': KEY } });
    const meta = (await (await api(name)).json()) as { sizeBytes: string; state: string };
    expect(meta).toMatchObject({ sizeBytes: String(readFixture('big.png').length), state: 'ACTIVE' });

    // "Use" puts it into the Ask tab as a fileData part, previewed by the server.
    await row.locator('button.use').click();
    await page.waitForSelector('#thumbs li');
    expect(await page.textContent('#thumbs li')).toContain(name);
    await page.waitForFunction(() => (document.querySelector<HTMLCanvasElement>('.stage canvas')?.width ?? 0) > 300);

    await page.click('#tab-button-files');
    await row.locator('button.delete').click();
    await row.waitFor({ state: 'detached' });
    expect((await api(name)).status).toBe(403);
    await page.close();
  }, 180_000);

  it('copy as code: the curl runs with bash and the JavaScript with node, and both print the answer the page shows', async () => {
    const page = await openPage();
    await addImages(page, 'dog.jpg');
    const text = await ask(page, 'detect');
    await page.click('.export button[data-lang=curl]');
    const curl = await page.inputValue('#code');
    expect(curl).toContain(`${server.baseUrl}/v1beta/models/gemini-2.5-flash:generateContent`);
    // As a file: a photo's base64 makes the command longer than one argument to bash -c may be.
    const script = path.join(mkdtempSync(path.join(os.tmpdir(), 'ocellus-curl-export-')), 'request.sh');
    writeFileSync(script, curl);
    const { stdout } = await run('bash', [script], { maxBuffer: 64 * 1024 * 1024 }).finally(() => rmSync(path.dirname(script), { recursive: true, force: true }));
    const body = JSON.parse(stdout) as { candidates: Array<{ content: { parts: Array<{ text: string }> } }> };
    expect(body.candidates[0]!.content.parts.map((p) => p.text).join('')).toBe(text);

    // The JavaScript, with `@google/genai` resolved to the SDK the e2e tests use (3.x).
    await page.click('.export button[data-lang=javascript]');
    const js = await page.inputValue('#code');
    expect(js).toContain("import { GoogleGenAI } from '@google/genai';");
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ocellus-js-export-'));
    try {
      mkdirSync(path.join(dir, 'node_modules', '@google'), { recursive: true });
      symlinkSync(path.join(REPO_ROOT, 'node_modules', 'genai3'), path.join(dir, 'node_modules', '@google', 'genai'));
      writeFileSync(path.join(dir, 'request.mjs'), js);
      const out = await run(process.execPath, ['request.mjs'], { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
      expect(out.stdout).toBe(`${text}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // Python names the same request (not run: google-genai is not installed here).
    await page.click('.export button[data-lang=python]');
    const py = await page.inputValue('#code');
    expect(py).toContain(`base_url="${server.baseUrl}"`);
    expect(py).toContain('response_mime_type="application/json"');
    expect(py).toContain(`api_key="${KEY}"`);
    await page.close();
  }, 180_000);

  it("shows the server's error messages: a missing key, a file that is not an image", async () => {
    const page = await context.newPage();
    await page.addInitScript(() => localStorage.setItem('ocellus.apiKey', ''));
    await page.goto(`${server.baseUrl}/`);
    await expect.poll(() => page.textContent('#global-error')).toMatch(/^Method doesn't allow unregistered callers/);

    await page.fill('#api-key', KEY);
    await page.waitForSelector('#model option', { state: 'attached' });
    await expect.poll(() => page.isHidden('#global-error')).toBe(true);
    await page.setInputFiles('#image-input', fixturePath('coco.names'));
    await expect.poll(() => page.textContent('#error')).toMatch(/^coco\.names: The image is not a supported image \(PNG, JPEG/);
    // Sending with nothing to send says so instead of failing silently.
    await page.click('#send');
    expect(await page.textContent('#error')).toBe('Add an image or type a prompt first.');
    await page.close();
  }, 120_000);
});
