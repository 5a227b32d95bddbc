/**
 * The playground's server side, without a browser: the built page and its assets at `/`
 * need no API key while the API keeps needing one; the preview route turns any supported
 * image into an upright JPEG of what the model sees (EXIF orientation, HEIF irot, HEIC);
 * bad input gets Gemini's error envelope; and a server without dist/web says how to build it.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildApp } from '../../src/server/app.js';
import { createPlaygroundRoutes } from '../../src/server/routes/playground.js';
import { expectEnvelope } from '../e2e/helpers.js';
import { readFixture, type FixtureName } from '../support/fixtures.js';
import { startServer, type RunningServer } from '../support/server.js';
import { ensureWebBuild, WEB_DIST } from '../support/web-build.js';

const KEY = 'playground-key-1';
let server: RunningServer;

beforeAll(async () => {
  await ensureWebBuild();
  // Pixel measurements only: these tests look at decoding, not at the models.
  server = await startServer({ apiKeys: [KEY], flags: { engine: 'measurements' } });
});
afterAll(async () => server?.stop());

const url = (p: string) => `${server.baseUrl}${p}`;
const preview = (body: Buffer | string, key: string | null = KEY) =>
  fetch(url('/playground/preview'), { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers: key ? { 'x-goog-api-key': key } : {} });

/** Mean absolute difference per channel of two same-sized images (after resizing b to a). */
async function meanDiff(a: Buffer, b: Buffer): Promise<number> {
  const { data: pa, info } = await sharp(a).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const pb = await sharp(b).resize(info.width, info.height, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  let sum = 0;
  for (let i = 0; i < pa.length; i++) sum += Math.abs(pa[i]! - pb[i]!);
  return sum / pa.length;
}

describe('the page', () => {
  it('serves index.html and every built asset at / without an API key, while the API still wants one', async () => {
    const page = await fetch(url('/'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    expect(html).toContain('<title>Ocellus playground</title>');
    // Relative asset URLs (base './'), all of them served, none from another host.
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((a) => !a.startsWith('data:'));
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const a of assets) {
      expect(a).toMatch(/^\.\/assets\//);
      const res = await fetch(new URL(a, url('/')));
      expect(res.status, a).toBe(200);
      expect(res.headers.get('cache-control')).toContain('immutable');
    }
    expect(readdirSync(path.join(WEB_DIST, 'assets')).some((f) => f.endsWith('.js'))).toBe(true);

    expectEnvelope(await (await fetch(url('/v1beta/models'))).json(), 403, 'PERMISSION_DENIED');
    // Unknown paths are still the API's 404, not a static-file page.
    expectEnvelope(await (await fetch(url('/no-such-page.html'), { headers: { 'x-goog-api-key': KEY } })).json(), 404, 'NOT_FOUND');
  });

  it('without dist/web, / says that npm run build builds it', async () => {
    const config = loadConfig({ port: 0, dataDir: '/nonexistent', apiKey: [] }, {});
    const app = await buildApp({
      config,
      logger: pino({ level: 'silent' }),
      apiRoutes: [],
      uploadRoutes: [],
      rootRoutes: [
        createPlaygroundRoutes({
          images: { info: async () => Promise.reject(new Error('unused')), decode: async () => Promise.reject(new Error('unused')), cached: () => undefined },
          files: { openForGeneration: async () => Promise.reject(new Error('unused')) },
          maxPixels: 1e8,
          maxBytes: 1e6,
          webDir: path.join(WEB_DIST, 'does-not-exist'),
        }),
      ],
    });
    const res = await app.inject({ method: 'GET', url: '/' });
    await app.close();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain('npm run build');
  });
});

describe('POST /playground/preview', () => {
  it.each<[FixtureName, number, number, string]>([
    ['dog.jpg', 768, 576, 'image/jpeg'],
    ['dog-exif6.jpg', 576, 768, 'image/jpeg'], // EXIF orientation 6 applied
    ['dog-phone.jpg', 768, 576, 'image/jpeg'], // stored turned, EXIF turns it back
    ['dog.heic', 768, 576, 'image/heic'], // HEVC: browsers cannot show it
    ['dog-irot.heic', 576, 768, 'image/heic'], // HEIF irot applied
    ['dog.tiff', 768, 576, 'image/tiff'],
    ['dog-transparent.png', 768, 576, 'image/png'], // alpha flattened onto white, as the model sees it
  ])('%s → upright %ix%i JPEG, declared as %s', async (name, width, height, mimeType) => {
    const res = await preview(readFixture(name));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('x-ocellus-image-width')).toBe(String(width));
    expect(res.headers.get('x-ocellus-image-height')).toBe(String(height));
    expect(res.headers.get('x-ocellus-image-mime-type')).toBe(mimeType);
    const jpeg = Buffer.from(await res.arrayBuffer());
    const meta = await sharp(jpeg).metadata();
    expect([meta.format, meta.width, meta.height, meta.orientation ?? 1]).toEqual(['jpeg', width, height, 1]);
    if (name === 'dog-transparent.png') {
      const { dominant } = await sharp(jpeg).stats();
      expect(Math.min(dominant.r, dominant.g, dominant.b)).toBeGreaterThan(240);
    }
  });

  it('shows the photo the right way up: the turned files match dog.jpg turned, not as stored', async () => {
    const upright = Buffer.from(await (await preview(readFixture('dog-exif6.jpg'))).arrayBuffer());
    const turned = await sharp(readFixture('dog.jpg')).rotate(90).png().toBuffer();
    const asStored = await sharp(readFixture('dog.jpg')).rotate(270).png().toBuffer();
    const good = await meanDiff(upright, turned);
    expect(good).toBeLessThan(8);
    expect(await meanDiff(upright, asStored)).toBeGreaterThan(good * 3);
    const phone = Buffer.from(await (await preview(readFixture('dog-phone.jpg'))).arrayBuffer());
    expect(await meanDiff(phone, readFixture('dog.jpg'))).toBeLessThan(8);
  });

  it('scales large images down to 2048 px on the long side, and reports the size the model sees', async () => {
    const res = await preview(readFixture('photo-12mp.jpg'));
    expect(res.status).toBe(200);
    expect([res.headers.get('x-ocellus-image-width'), res.headers.get('x-ocellus-image-height')]).toEqual(['4000', '3000']);
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([2048, 1536]);
  });

  it('answers bad input with the Gemini error envelope', async () => {
    const notImage = await preview(readFixture('coco.names'));
    expect(notImage.status).toBe(400);
    const env = expectEnvelope(await notImage.json(), 400, 'INVALID_ARGUMENT');
    expect(env.error.message).toMatch(/^The image is not a supported image \(PNG, JPEG/);

    const truncated = expectEnvelope(await (await preview(readFixture('dog-truncated.jpg'))).json(), 400, 'INVALID_ARGUMENT');
    expect(truncated.error.message).toMatch(/truncated or corrupt JPEG/);

    const empty = expectEnvelope(await (await preview('')).json(), 400, 'INVALID_ARGUMENT');
    expect(empty.error.message).toMatch(/must be the bytes of an image/);

    const bomb = expectEnvelope(await (await preview(readFixture('bomb.png'))).json(), 400, 'INVALID_ARGUMENT');
    expect(bomb.error.message).toMatch(/more than the limit of/);

    expectEnvelope(await (await preview(readFixture('dog.jpg'), null)).json(), 403, 'PERMISSION_DENIED');
    expectEnvelope(await (await preview(readFixture('dog.jpg'), 'wrong-key')).json(), 400, 'INVALID_ARGUMENT');
  });

  it('refuses a body over the request limit with the envelope', async () => {
    const small = await startServer({ flags: { engine: 'measurements', maxRequestBytes: 100_000 } });
    try {
      const res = await fetch(`${small.baseUrl}/playground/preview`, { method: 'POST', body: new Uint8Array(readFixture('dog.jpg')) });
      expect(res.status).toBe(400);
      const env = expectEnvelope(await res.json(), 400, 'INVALID_ARGUMENT');
      expect(env.error.message).toContain('100000 bytes');
    } finally {
      await small.stop();
    }
  });
});

describe('GET /playground/preview/files/:id', () => {
  it('previews an uploaded HEIC upright, for its owner only', async () => {
    const bytes = readFixture('dog-irot.heic');
    const up = await fetch(url('/upload/v1beta/files?uploadType=media'), {
      method: 'POST',
      headers: { 'x-goog-api-key': KEY, 'content-type': 'image/heic' },
      body: new Uint8Array(bytes),
    });
    expect(up.status).toBe(200);
    const { file } = (await up.json()) as { file: { name: string; state: string } };
    expect(file.state).toBe('ACTIVE');

    const res = await fetch(url(`/playground/preview/${file.name}`), { headers: { 'x-goog-api-key': KEY } });
    expect(res.status).toBe(200);
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 576, 768]);

    const missing = await fetch(url('/playground/preview/files/nosuchfile'), { headers: { 'x-goog-api-key': KEY } });
    expectEnvelope(await missing.json(), 403, 'PERMISSION_DENIED');
  });
});
