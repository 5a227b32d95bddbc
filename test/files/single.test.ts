import { describe, expect, it } from 'vitest';
import { projectOfKey } from '../../src/server/auth.js';
import { harnessPerTest, filesUnder, KEY_A, noisePng, sha256Base64, smallJpeg, startResumable, type Harness } from './helpers.js';

const { setup } = harnessPerTest();

const onlyDb = (h: Harness) => filesUnder(h.dataDir).filter((f) => !f.startsWith('ocellus.db'));

function related(boundary: string, metadata: string | undefined, media: Buffer, mediaType = 'image/png'): Buffer {
  const parts: Buffer[] = [];
  if (metadata !== undefined)
    parts.push(Buffer.from(`--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${metadata}\r\n`));
  parts.push(Buffer.from(`--${boundary}\r\nContent-Type: ${mediaType}\r\n\r\n`), media, Buffer.from(`\r\n--${boundary}--\r\n`));
  return Buffer.concat(parts);
}

describe('multipart upload', () => {
  it('multipart/related: JSON metadata part, then the media part', async () => {
    const h = await setup();
    const png = await noisePng(40, 30);
    const res = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files?uploadType=multipart',
      headers: { 'x-goog-api-key': KEY_A, 'content-type': 'multipart/related; boundary=XyZ123' },
      payload: related('XyZ123', JSON.stringify({ file: { display_name: 'rel', mime_type: 'image/png' } }), png),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().file).toMatchObject({
      displayName: 'rel',
      mimeType: 'image/png',
      sizeBytes: String(png.length),
      sha256Hash: await sha256Base64(png),
      state: 'ACTIVE',
    });
  });

  it('multipart/related via X-Goog-Upload-Protocol, media type from the part, no key header but ?key=', async () => {
    const h = await setup();
    const jpg = await smallJpeg();
    const res = await h.app.inject({
      method: 'POST',
      url: `/upload/v1/files?key=${KEY_A}`,
      headers: { 'x-goog-upload-protocol': 'multipart', 'content-type': 'multipart/related; boundary="b 1"' },
      payload: related('b 1', "{'file': {'displayName': 'quoted'}}", jpg, 'image/jpeg'),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().file).toMatchObject({ displayName: 'quoted', mimeType: 'image/jpeg', state: 'ACTIVE' });
    expect(res.json().file.uri).toMatch(/\/v1\/files\//);
  });

  it('multipart/form-data with metadata and file fields', async () => {
    const h = await setup();
    const png = await noisePng(10, 10);
    const form = new FormData();
    form.append('metadata', new Blob([JSON.stringify({ file: { displayName: 'form', name: 'form-pic' } })], { type: 'application/json' }));
    form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'pic.png');
    const req = new Request('http://x/', { method: 'POST', body: form });
    const body = Buffer.from(await req.arrayBuffer());
    const res = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files',
      headers: { 'x-goog-api-key': KEY_A, 'content-type': req.headers.get('content-type')! },
      payload: body,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().file).toMatchObject({ name: 'files/form-pic', displayName: 'form', mimeType: 'image/png', state: 'ACTIVE' });
  });

  it('rejects a multipart body without media, with a bad boundary, or cut short; nothing stored', async () => {
    const h = await setup();
    const cases: Array<[string, Buffer]> = [
      ['multipart/related; boundary=B', Buffer.from('--B\r\nContent-Type: application/json\r\n\r\n{"file":{}}\r\n--B--\r\n')],
      ['multipart/related', Buffer.from('--B\r\n\r\nx\r\n--B--')],
      ['multipart/related; boundary=B', Buffer.from('--B\r\nContent-Type: application/json\r\n\r\n{}\r\n--B\r\nContent-Type: image/png\r\n\r\nabc')],
      ['multipart/related; boundary=B', related('B', '{not json', Buffer.from('x'))],
    ];
    for (const [ct, payload] of cases) {
      const res = await h.app.inject({
        method: 'POST',
        url: '/upload/v1beta/files',
        headers: { 'x-goog-api-key': KEY_A, 'content-type': ct },
        payload,
      });
      expect(res.statusCode, `${ct} ${payload.toString()}`).toBe(400);
      expect(res.json().error.status).toBe('INVALID_ARGUMENT');
    }
    expect(onlyDb(h)).toEqual([]);
  });

  it('over the file limit: 400, nothing stored', async () => {
    const h = await setup({ limits: { fileBytes: 500 } });
    const res = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files?uploadType=multipart',
      headers: { 'x-goog-api-key': KEY_A, 'content-type': 'multipart/related; boundary=B' },
      payload: related('B', '{}', Buffer.alloc(800, 3)),
    });
    expect(res.statusCode).toBe(400);
    expect(onlyDb(h)).toEqual([]);
    expect(h.meta.listFiles('open', 0, 10).files).toEqual([]);
  });
});

describe('raw upload', () => {
  it('uploadType=media: body is the file, type from Content-Type', async () => {
    const h = await setup();
    const jpg = await smallJpeg();
    const res = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files?uploadType=media',
      headers: { 'x-goog-api-key': KEY_A, 'content-type': 'image/jpeg' },
      payload: jpg,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().file).toMatchObject({ mimeType: 'image/jpeg', sizeBytes: String(jpg.length), state: 'ACTIVE' });
    expect(res.json().file.displayName).toBeUndefined();
  });

  it('X-Goog-Upload-Protocol: raw, and curl --data-binary (form-urlencoded makes no type claim)', async () => {
    const h = await setup();
    const png = await noisePng(12, 12);
    for (const headers of [
      { 'x-goog-upload-protocol': 'raw', 'content-type': 'image/png' },
      { 'content-type': 'application/x-www-form-urlencoded' },
    ]) {
      const res = await h.app.inject({
        method: 'POST',
        url: '/upload/v1beta/files',
        headers: { 'x-goog-api-key': KEY_A, ...headers },
        payload: png,
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().file).toMatchObject({ mimeType: 'image/png', state: 'ACTIVE' });
    }
  });

  it('over the file limit or the project quota: error, nothing stored', async () => {
    const h = await setup({ limits: { fileBytes: 1000, projectBytes: 1500 } });
    const big = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files?uploadType=media',
      headers: { 'x-goog-api-key': KEY_A, 'content-type': 'image/png' },
      payload: Buffer.alloc(1001),
    });
    expect(big.statusCode).toBe(400);
    const first = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files?uploadType=media',
      headers: { 'x-goog-api-key': KEY_A, 'content-type': 'image/png' },
      payload: Buffer.alloc(900),
    });
    expect(first.statusCode).toBe(200); // stored, though FAILED (not an image)
    const before = onlyDb(h);
    const second = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files?uploadType=media',
      headers: { 'x-goog-api-key': KEY_A, 'content-type': 'image/png' },
      payload: Buffer.alloc(900),
    });
    expect(second.statusCode).toBe(429);
    expect(second.json().error.status).toBe('RESOURCE_EXHAUSTED');
    expect(onlyDb(h)).toEqual(before);
  });
});

describe('file processing', () => {
  it('garbage, a truncated PNG, a PDF and a mislabelled image end FAILED with error {code: 3}', async () => {
    const h = await setup();
    const png = await noisePng(64, 64);
    const cases: Array<[string, Buffer, RegExp]> = [
      ['image/png', Buffer.from('definitely not an image'), /not a supported image/],
      ['image/png', png.subarray(0, Math.floor(png.length / 2)), /could not be decoded/],
      ['application/pdf', Buffer.from('%PDF-1.7\n'), /images only/],
      ['image/jpeg', png, /declared image\/jpeg/],
    ];
    for (const [mime, bytes, message] of cases) {
      const res = await h.app.inject({
        method: 'POST',
        url: '/upload/v1beta/files?uploadType=media',
        headers: { 'x-goog-api-key': KEY_A, 'content-type': mime },
        payload: bytes,
      });
      expect(res.statusCode).toBe(200);
      const file = res.json().file;
      expect(file.state, mime).toBe('FAILED');
      expect(file.error.code).toBe(3);
      expect(file.error.message).toMatch(message);
      await expect(h.files.openForGeneration(projectOfKey(KEY_A), file.name)).rejects.toMatchObject({
        httpStatus: 400,
        status: 'FAILED_PRECONDITION',
        message: `The File ${file.name.slice(6)} is not in an ACTIVE state and usage is not allowed.`,
      });
    }
  });

  it('finalize waits for processing; a concurrent user of a PROCESSING file awaits the result', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const h = await setup({
      inspect: async () => {
        await gate;
        return { ok: true, mimeType: 'image/webp' };
      },
    });
    const { pathAndQuery } = await startResumable(h.app, { body: JSON.stringify({ file: { name: 'slow' } }) });
    const pending = h.app.inject({
      method: 'POST',
      url: pathAndQuery,
      headers: { 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0' },
      payload: Buffer.from('RIFF....WEBP'),
    });
    // Wait until the record exists in PROCESSING.
    for (let i = 0; i < 100 && !h.meta.getFile(projectOfKey(KEY_A), 'slow'); i++) await new Promise((r) => setTimeout(r, 10));
    const processing = await h.app.inject({ method: 'GET', url: '/v1beta/files/slow', headers: { 'x-goog-api-key': KEY_A } });
    expect(processing.json().state).toBe('PROCESSING');
    const opened = h.files.openForGeneration(projectOfKey(KEY_A), 'http://elsewhere:1/v1/files/slow');
    release();
    expect((await pending).json().file).toMatchObject({ state: 'ACTIVE', mimeType: 'image/webp' });
    await expect(opened).resolves.toMatchObject({ name: 'files/slow', mimeType: 'image/webp', sizeBytes: 12 });
  });
});

describe('metadata-only create', () => {
  it('POST /{v}/files makes a FAILED record without content, with a clear error', async () => {
    const h = await setup();
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1beta/files',
      headers: { 'x-goog-api-key': KEY_A, 'content-type': 'application/json' },
      payload: JSON.stringify({ file: { name: 'files/empty-one', display_name: 'nothing', mime_type: 'image/png' } }),
    });
    expect(res.statusCode).toBe(200);
    const file = res.json().file;
    expect(file).toMatchObject({
      name: 'files/empty-one',
      displayName: 'nothing',
      mimeType: 'image/png',
      sizeBytes: '0',
      state: 'FAILED',
      source: 'UPLOADED',
      error: { code: 3 },
    });
    expect(file.error.message).toMatch(/no content.*\/upload\/v1beta\/files/);
    const dup = await h.app.inject({
      method: 'POST',
      url: '/v1beta/files',
      headers: { 'x-goog-api-key': KEY_A },
      payload: { file: { name: 'empty-one' } },
    });
    expect(dup.statusCode).toBe(409);
    const generated = await h.app.inject({ method: 'POST', url: '/v1/files', headers: { 'x-goog-api-key': KEY_A }, payload: {} });
    expect(generated.json().file.name).toMatch(/^files\/[a-z0-9]+$/);
    expect(generated.json().file.mimeType).toBe('application/octet-stream');
  });
});
