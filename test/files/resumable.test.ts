import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { projectOfKey } from '../../src/server/auth.js';
import {
  harnessPerTest,
  filesUnder,
  harness,
  KEY_A,
  KEY_B,
  noisePng,
  removeDir,
  sha256Base64,
  smallJpeg,
  startResumable,
  tempDir,
  type Harness,
} from './helpers.js';

const { setup, onCleanup } = harnessPerTest();

const chunk = (h: Harness, pathAndQuery: string, command: string, offset: number | undefined, body: Buffer, headers: Record<string, string> = {}) =>
  h.app.inject({
    method: 'POST',
    url: pathAndQuery,
    headers: {
      'content-type': 'application/json',
      'x-goog-upload-command': command,
      ...(offset !== undefined ? { 'x-goog-upload-offset': String(offset) } : {}),
      ...headers,
    },
    payload: body,
  });

describe('resumable upload', () => {
  it('start → chunks at offsets → finalize, JS SDK style', async () => {
    const h = await setup();
    const png = await noisePng(64, 48);
    const start = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files',
      headers: {
        host: 'files.example.test:9999',
        'x-goog-api-key': KEY_A,
        'content-type': 'application/json',
        'x-goog-upload-protocol': 'resumable',
        'x-goog-upload-command': 'start',
        'x-goog-upload-header-content-length': String(png.length),
        'x-goog-upload-header-content-type': 'image/png',
      },
      payload: JSON.stringify({ file: { mimeType: 'image/png', displayName: 'noise', sizeBytes: String(png.length) } }),
    });
    expect(start.statusCode).toBe(200);
    expect(start.headers['x-goog-upload-status']).toBe('active');
    expect(start.headers['x-goog-upload-chunk-granularity']).toBe('8388608');
    const url = start.headers['x-goog-upload-url'] as string;
    expect(url).toMatch(/^http:\/\/files\.example\.test:9999\/upload\/v1beta\/files\?upload_id=[\w-]+&upload_protocol=resumable$/);
    expect(start.headers['x-goog-upload-control-url']).toBe(url);
    const u = new URL(url);
    const pq = u.pathname + u.search;

    const a = png.subarray(0, 1000);
    const b = png.subarray(1000, 3000);
    const c = png.subarray(3000);
    const r1 = await chunk(h, pq, 'upload', 0, a, { 'x-goog-api-key': KEY_A });
    expect(r1.statusCode).toBe(200);
    expect(r1.headers['x-goog-upload-status']).toBe('active');
    expect(r1.headers['x-goog-upload-size-received']).toBe('1000');
    expect(r1.body).toBe('');
    const r2 = await chunk(h, pq, 'upload', 1000, b);
    expect(r2.headers['x-goog-upload-size-received']).toBe('3000');
    const r3 = await chunk(h, pq, 'upload, finalize', 3000, c);
    expect(r3.statusCode).toBe(200);
    expect(r3.headers['x-goog-upload-status']).toBe('final');
    expect(r3.headers['content-type']).toMatch(/^application\/json/);
    const { file } = r3.json();
    expect(file).toMatchObject({
      displayName: 'noise',
      mimeType: 'image/png',
      sizeBytes: String(png.length),
      state: 'ACTIVE',
      source: 'UPLOADED',
      sha256Hash: await sha256Base64(png),
    });
    expect(file.name).toMatch(/^files\/[a-z0-9]{1,40}$/);
    // Built per request: this inject had no Host header.
    expect(file.uri).toBe(`http://localhost:80/v1beta/${file.name}`);
    expect(file.createTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(file.expirationTime) - Date.parse(file.createTime)).toBe(48 * 3600_000);
    expect(file.error).toBeUndefined();
    expect(Object.keys(file).every((k) => !k.includes('_'))).toBe(true);

    const got = await h.app.inject({ method: 'GET', url: `/v1beta/${file.name}`, headers: { 'x-goog-api-key': KEY_A } });
    expect(got.json()).toEqual(file);
    const proxied = await h.app.inject({
      method: 'GET',
      url: `/v1/${file.name}`,
      headers: { 'x-goog-api-key': KEY_A, host: 'files.example.test:9999' },
    });
    expect(proxied.json().uri).toBe(`http://files.example.test:9999/v1/${file.name}`);

    // Query after final, and a repeated finalize, both report final.
    const q = await chunk(h, pq, 'query', undefined, Buffer.alloc(0));
    expect(q.headers['x-goog-upload-status']).toBe('final');
    expect(q.headers['x-goog-upload-size-received']).toBe(String(png.length));
    const again = await chunk(h, pq, 'upload, finalize', 3000, c);
    expect(again.headers['x-goog-upload-status']).toBe('final');
    expect(again.json().file.name).toBe(file.name);
  });

  it('keeps the version the client used (v1) and honours X-Forwarded-* for the URL behind --trust-proxy', async () => {
    const h = await setup({ trustProxy: true });
    const res = await h.app.inject({
      method: 'POST',
      url: '/upload/v1/files',
      headers: {
        'x-goog-api-key': KEY_A,
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'gemini.example.test',
        'x-forwarded-prefix': '/ocellus',
        'x-goog-upload-protocol': 'resumable',
        'x-goog-upload-command': 'start',
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-goog-upload-url']).toMatch(
      /^https:\/\/gemini\.example\.test\/ocellus\/upload\/v1\/files\?upload_id=[\w-]+&upload_protocol=resumable$/,
    );
  });

  it('ignores X-Forwarded-* without --trust-proxy: a client cannot point upload URLs elsewhere', async () => {
    const h = await setup();
    const res = await h.app.inject({
      method: 'POST',
      url: '/upload/v1/files',
      headers: {
        'x-goog-api-key': KEY_A,
        host: '127.0.0.1:8080',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-prefix': '/x',
        'x-goog-upload-protocol': 'resumable',
        'x-goog-upload-command': 'start',
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-goog-upload-url']).toMatch(/^http:\/\/127\.0\.0\.1:8080\/upload\/v1\/files\?upload_id=/);
  });

  it("accepts the docs' curl flow: single-quoted start body, --data-binary as form-urlencoded, ?key=", async () => {
    const h = await setup();
    const jpg = await smallJpeg();
    const start = await h.app.inject({
      method: 'POST',
      url: `/upload/v1beta/files?key=${KEY_A}`,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-goog-upload-protocol': 'resumable',
        'x-goog-upload-command': 'start',
        'x-goog-upload-header-content-length': String(jpg.length),
        'x-goog-upload-header-content-type': 'image/jpeg',
      },
      payload: "{'file': {'display_name': 'IMAGE'}}",
    });
    expect(start.statusCode).toBe(200);
    const u = new URL(start.headers['x-goog-upload-url'] as string);
    const fin = await h.app.inject({
      method: 'POST',
      url: `${u.pathname}${u.search}&key=${KEY_A}`,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': String(jpg.length),
        'x-goog-upload-offset': '0',
        'x-goog-upload-command': 'upload, finalize',
      },
      payload: jpg,
    });
    expect(fin.statusCode).toBe(200);
    expect(fin.json().file).toMatchObject({ displayName: 'IMAGE', mimeType: 'image/jpeg', state: 'ACTIVE' });
  });

  it('python style: snake_case start body, chunk without any key', async () => {
    const h = await setup();
    const png = await noisePng(8, 8);
    const { pathAndQuery } = await startResumable(h.app, {
      body: JSON.stringify({ file: { display_name: 'tiny', mime_type: 'image/png', size_bytes: png.length } }),
      length: png.length,
      mimeType: 'image/png',
    });
    const res = await chunk(h, pathAndQuery, 'upload, finalize', 0, png, {
      'x-goog-upload-protocol': 'resumable',
      'user-agent': 'python-httpx/0.28.1',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().file).toMatchObject({ displayName: 'tiny', mimeType: 'image/png', sizeBytes: String(png.length) });
  });

  it('honours a client-chosen name, rejects duplicates (409) and invalid names (400)', async () => {
    const h = await setup();
    const png = await noisePng(8, 8);
    const { pathAndQuery } = await startResumable(h.app, {
      body: JSON.stringify({ file: { name: 'files/my-pic-1', mimeType: 'image/png' } }),
    });
    const fin = await chunk(h, pathAndQuery, 'upload, finalize', 0, png);
    expect(fin.json().file.name).toBe('files/my-pic-1');
    // The same name again (also while the first one only had an open session).
    const dup = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files',
      headers: { 'x-goog-api-key': KEY_A, 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start' },
      payload: JSON.stringify({ file: { name: 'my-pic-1' } }),
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.status).toBe('ALREADY_EXISTS');
    // Another project may use the same id.
    const other = await startResumable(h.app, { key: KEY_B, body: JSON.stringify({ file: { name: 'my-pic-1' } }) });
    expect(other.uploadId).toBeTruthy();
    const session = await startResumable(h.app, { body: JSON.stringify({ file: { name: 'pending' } }) });
    expect(session.uploadId).toBeTruthy();
    const dupSession = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files',
      headers: { 'x-goog-api-key': KEY_A, 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start' },
      payload: JSON.stringify({ file: { name: 'pending' } }),
    });
    expect(dupSession.statusCode).toBe(409);

    for (const name of ['Has-Caps', '-dash', 'dash-', 'a'.repeat(41), 'under_score', 'files/']) {
      const bad = await h.app.inject({
        method: 'POST',
        url: '/upload/v1beta/files',
        headers: { 'x-goog-api-key': KEY_A, 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start' },
        payload: JSON.stringify({ file: { name } }),
      });
      expect(bad.statusCode, name).toBe(400);
      expect(bad.json().error.status).toBe('INVALID_ARGUMENT');
      expect(bad.json().error.message).toContain('file.name');
    }
    const longDisplay = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files',
      headers: { 'x-goog-api-key': KEY_A, 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start' },
      payload: JSON.stringify({ file: { displayName: 'x'.repeat(513) } }),
    });
    expect(longDisplay.statusCode).toBe(400);
    expect(longDisplay.json().error.message).toContain('file.displayName');
  });

  it('rejects a garbage start body with 400 but takes an empty one', async () => {
    const h = await setup();
    const bad = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files',
      headers: { 'x-goog-api-key': KEY_A, 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start' },
      payload: 'this is {not json',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.status).toBe('INVALID_ARGUMENT');
    const empty = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files?uploadType=resumable',
      headers: { 'x-goog-api-key': KEY_A },
    });
    expect(empty.statusCode).toBe(200);
    expect(empty.headers['x-goog-upload-url']).toBeTruthy();
  });

  it('needs a key to start, but not on the upload URL; unknown upload ids are 404', async () => {
    const h = await setup();
    const noKey = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files',
      headers: { 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start' },
    });
    expect(noKey.statusCode).toBe(403);
    const unknown = await chunk(h, '/upload/v1beta/files?upload_id=nope&upload_protocol=resumable', 'upload', 0, Buffer.from('x'));
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['content-type']).toMatch(/application\/json/);
    expect(unknown.json().error.status).toBe('NOT_FOUND');
  });

  it('query and cancel', async () => {
    const h = await setup();
    const png = await noisePng(16, 16);
    const { pathAndQuery } = await startResumable(h.app, { length: png.length });
    await chunk(h, pathAndQuery, 'upload', 0, png.subarray(0, 100));
    const q = await chunk(h, pathAndQuery, 'query', undefined, Buffer.alloc(0));
    expect(q.statusCode).toBe(200);
    expect(q.headers['x-goog-upload-status']).toBe('active');
    expect(q.headers['x-goog-upload-size-received']).toBe('100');
    const c = await chunk(h, pathAndQuery, 'cancel', undefined, Buffer.alloc(0));
    expect(c.statusCode).toBe(200);
    expect(c.headers['x-goog-upload-status']).toBe('cancelled');
    expect(filesUnder(h.dataDir).filter((f) => !f.startsWith('ocellus.db'))).toEqual([]);
    const after = await chunk(h, pathAndQuery, 'upload', 100, png.subarray(100));
    expect(after.statusCode).toBe(404);
  });

  it('a wrong offset is 400 with X-Goog-Upload-Size-Received, and the session goes on', async () => {
    const h = await setup();
    const png = await noisePng(16, 16);
    const { pathAndQuery } = await startResumable(h.app, { length: png.length });
    await chunk(h, pathAndQuery, 'upload', 0, png.subarray(0, 100));
    const wrong = await chunk(h, pathAndQuery, 'upload', 50, png.subarray(50));
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.status).toBe('INVALID_ARGUMENT');
    expect(wrong.headers['x-goog-upload-size-received']).toBe('100');
    const ok = await chunk(h, pathAndQuery, 'upload, finalize', 100, png.subarray(100));
    expect(ok.statusCode).toBe(200);
    expect(ok.json().file.sha256Hash).toBe(await sha256Base64(png));
  });

  it('a total that differs from the declared length is 400 and stores nothing', async () => {
    const h = await setup();
    const png = await noisePng(16, 16);
    const short = await startResumable(h.app, { length: png.length + 10 });
    const r1 = await chunk(h, short.pathAndQuery, 'upload, finalize', 0, png);
    expect(r1.statusCode).toBe(400);
    expect(r1.json().error.message).toMatch(/declared/);
    const long = await startResumable(h.app, { length: 10 });
    const r2 = await chunk(h, long.pathAndQuery, 'upload', 0, png);
    expect(r2.statusCode).toBe(400);
    // A chunk past the declared length is refused on its own: the session stays (issue 11).
    expect(r2.headers['x-goog-upload-status']).toBe('active');
    expect(r2.headers['x-goog-upload-size-received']).toBe('0');
    await chunk(h, long.pathAndQuery, 'cancel', undefined, Buffer.alloc(0));
    expect(filesUnder(h.dataDir).filter((f) => !f.startsWith('ocellus.db'))).toEqual([]);
    const list = await h.app.inject({ method: 'GET', url: '/v1beta/files', headers: { 'x-goog-api-key': KEY_A } });
    expect(list.json()).toEqual({});
    expect(h.meta.usedBytes(projectOfKey(KEY_A), Date.now())).toBe(0);
  });

  it('a file over the per-file limit is 400 and leaves nothing stored', async () => {
    const h = await setup({ limits: { fileBytes: 1000 } });
    // Declared too large: refused at start.
    const declared = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files',
      headers: {
        'x-goog-api-key': KEY_A,
        'x-goog-upload-protocol': 'resumable',
        'x-goog-upload-command': 'start',
        'x-goog-upload-header-content-length': '1001',
      },
    });
    expect(declared.statusCode).toBe(400);
    expect(declared.json().error.message).toMatch(/exceeds the maximum of 1000 bytes/);
    // Undeclared: refused while the bytes arrive, over several chunks.
    const { pathAndQuery } = await startResumable(h.app);
    expect((await chunk(h, pathAndQuery, 'upload', 0, Buffer.alloc(600, 1))).statusCode).toBe(200);
    const over = await chunk(h, pathAndQuery, 'upload, finalize', 600, Buffer.alloc(600, 2));
    expect(over.statusCode).toBe(400);
    expect(over.json().error.status).toBe('INVALID_ARGUMENT');
    // Nothing left: no partial, no blob, no session, no file.
    expect(filesUnder(h.dataDir).filter((f) => !f.startsWith('ocellus.db'))).toEqual([]);
    expect((await chunk(h, pathAndQuery, 'query', undefined, Buffer.alloc(0))).statusCode).toBe(404);
    // Chunked transfer (no Content-Length) is caught while streaming as well.
    const second = await startResumable(h.app);
    const res = await h.app.inject({
      method: 'POST',
      url: second.pathAndQuery,
      headers: { 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0', 'transfer-encoding': 'chunked' },
      payload: Readable.from(
        (async function* () {
          for (let i = 0; i < 5; i++) yield Buffer.alloc(300, i);
        })(),
      ),
    });
    expect(res.statusCode).toBe(400);
    expect(filesUnder(h.dataDir).filter((f) => !f.startsWith('ocellus.db'))).toEqual([]);
  });

  it('the project quota counts live files and open sessions: 429 RESOURCE_EXHAUSTED, nothing stored', async () => {
    const h = await setup({ limits: { projectBytes: 5000 } });
    const png = await noisePng(20, 20); // ~1.3 kB
    const first = await startResumable(h.app, { length: png.length });
    expect((await chunk(h, first.pathAndQuery, 'upload, finalize', 0, png)).statusCode).toBe(200);
    // An open session reserves its declared size.
    await startResumable(h.app, { length: 3000 });
    const tooMuch = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files',
      headers: {
        'x-goog-api-key': KEY_A,
        'x-goog-upload-protocol': 'resumable',
        'x-goog-upload-command': 'start',
        'x-goog-upload-header-content-length': String(5000 - png.length - 3000 + 1),
      },
    });
    expect(tooMuch.statusCode).toBe(429);
    const err = tooMuch.json().error;
    expect(err.status).toBe('RESOURCE_EXHAUSTED');
    expect(err.details[0]).toMatchObject({
      '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
      violations: [{ quotaId: 'FileStorageBytesPerProject', quotaValue: '5000' }],
    });
    // Another project is not affected.
    const otherProject = await startResumable(h.app, { key: KEY_B, length: 4000 });
    expect(otherProject.uploadId).toBeTruthy();
    // An undeclared session is stopped while streaming, and leaves no bytes.
    const before = filesUnder(h.dataDir).length;
    const open = await startResumable(h.app);
    const res = await chunk(h, open.pathAndQuery, 'upload', 0, Buffer.alloc(1000, 7));
    expect(res.statusCode).toBe(429);
    expect(filesUnder(h.dataDir).length).toBe(before);
  });

  it('survives a restart: files stay, and an open session resumes with the right sha256', async () => {
    const dataDir = tempDir();
    onCleanup(() => removeDir(dataDir));
    const png = await noisePng(100, 80);
    let h = await harness({ dataDir });
    const done = await startResumable(h.app, { length: png.length, mimeType: 'image/png' });
    const kept = (await chunk(h, done.pathAndQuery, 'upload, finalize', 0, png)).json().file;
    const open = await startResumable(h.app, {
      length: png.length,
      body: JSON.stringify({ file: { displayName: 'resumed', mimeType: 'image/png' } }),
    });
    expect((await chunk(h, open.pathAndQuery, 'upload', 0, png.subarray(0, 5000))).statusCode).toBe(200);
    await h.close();

    h = await harness({ dataDir });
    onCleanup(() => h.close());
    const got = await h.app.inject({ method: 'GET', url: `/v1beta/${kept.name}`, headers: { 'x-goog-api-key': KEY_A } });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(kept);
    const q = await chunk(h, open.pathAndQuery, 'query', undefined, Buffer.alloc(0));
    expect(q.headers['x-goog-upload-size-received']).toBe('5000');
    expect((await chunk(h, open.pathAndQuery, 'upload', 5000, png.subarray(5000, 9000))).statusCode).toBe(200);
    const fin = await chunk(h, open.pathAndQuery, 'upload, finalize', 9000, png.subarray(9000));
    expect(fin.statusCode).toBe(200);
    expect(fin.json().file).toMatchObject({
      displayName: 'resumed',
      state: 'ACTIVE',
      sizeBytes: String(png.length),
      sha256Hash: createHash('sha256').update(png).digest('base64'),
    });
  });
});
