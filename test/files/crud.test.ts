import { describe, expect, it } from 'vitest';
import { projectOfKey } from '../../src/server/auth.js';
import { harnessPerTest, fakeInspect, filesUnder, harness, KEY_A, KEY_B, type Harness } from './helpers.js';

const { setup, onCleanup } = harnessPerTest({ inspect: fakeInspect });

async function upload(h: Harness, name?: string, key = KEY_A, bytes = Buffer.from('pretend png bytes')): Promise<any> {
  const res = await h.app.inject({
    method: 'POST',
    url: '/upload/v1beta/files',
    headers: { 'x-goog-api-key': key, 'content-type': 'multipart/related; boundary=B' },
    payload: Buffer.concat([
      Buffer.from(`--B\r\nContent-Type: application/json\r\n\r\n${JSON.stringify({ file: name ? { name } : {} })}\r\n`),
      Buffer.from('--B\r\nContent-Type: image/png\r\n\r\n'),
      bytes,
      Buffer.from('\r\n--B--\r\n'),
    ]),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().file;
}

const get = (h: Harness, url: string, key = KEY_A) =>
  h.app.inject({ method: 'GET', url, headers: { 'x-goog-api-key': key, 'content-type': 'application/json' } });

describe('get / list / delete', () => {
  it('lists newest first in pages; the last page has no nextPageToken; empty is {}', async () => {
    const h = await setup();
    expect((await get(h, '/v1beta/files')).json()).toEqual({});
    const names: string[] = [];
    for (let i = 0; i < 5; i++) names.push((await upload(h, `f${i}`)).name);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await get(h, `/v1beta/files?pageSize=2${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      pages++;
      expect(body.files.length).toBe(pages < 3 ? 2 : 1);
      seen.push(...body.files.map((f: { name: string }) => f.name));
      token = body.nextPageToken;
      if (pages === 3) expect('nextPageToken' in body).toBe(false);
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual([...names].reverse());
    // Default page size 10, capped at 100.
    expect((await get(h, '/v1/files')).json().files).toHaveLength(5);
    expect((await get(h, '/v1/files?pageSize=1000')).json().files).toHaveLength(5);
    expect((await get(h, '/v1/files?pageSize=abc')).statusCode).toBe(400);
    expect((await get(h, '/v1/files?pageToken=garbage')).statusCode).toBe(400);
    // Another project sees none of them.
    expect((await get(h, '/v1beta/files', KEY_B)).json()).toEqual({});
  });

  it('delete answers {} (JS sends {}, Python nothing); then get is 403', async () => {
    const h = await setup();
    const a = await upload(h, 'del-a');
    const b = await upload(h, 'del-b');
    const js = await h.app.inject({
      method: 'DELETE',
      url: `/v1beta/${a.name}`,
      headers: { 'x-goog-api-key': KEY_A, 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(js.statusCode).toBe(200);
    expect(js.json()).toEqual({});
    const py = await h.app.inject({ method: 'DELETE', url: `/v1/${b.name}`, headers: { 'x-goog-api-key': KEY_A } });
    expect(py.statusCode).toBe(200);
    expect(py.body).toBe('{}');
    const after = await get(h, `/v1beta/${a.name}`);
    expect(after.statusCode).toBe(403);
    expect(after.json().error).toMatchObject({
      code: 403,
      status: 'PERMISSION_DENIED',
      message: 'You do not have permission to access the File del-a or it may not exist.',
    });
    expect((await h.app.inject({ method: 'DELETE', url: `/v1beta/${a.name}`, headers: { 'x-goog-api-key': KEY_A } })).statusCode).toBe(403);
    expect(filesUnder(h.blobs.blobsDir)).toEqual([]);
  });

  it("another key gets 403 on get, delete and use of someone else's file", async () => {
    const h = await setup();
    const f = await upload(h, 'mine');
    expect((await get(h, `/v1beta/${f.name}`, KEY_B)).statusCode).toBe(403);
    const del = await h.app.inject({ method: 'DELETE', url: `/v1beta/${f.name}`, headers: { 'x-goog-api-key': KEY_B } });
    expect(del.statusCode).toBe(403);
    await expect(h.files.openForGeneration(projectOfKey(KEY_B), f.uri)).rejects.toMatchObject({ httpStatus: 403 });
    expect((await get(h, `/v1beta/${f.name}`)).statusCode).toBe(200);
  });

  it('openForGeneration takes files/{id}, our uri (any version, any host) and any URL ending in /files/{id}', async () => {
    const h = await setup();
    const f = await upload(h, 'gen-1');
    const project = projectOfKey(KEY_A);
    for (const ref of [
      'files/gen-1',
      f.uri,
      'https://generativelanguage.googleapis.com/v1beta/files/gen-1',
      'http://127.0.0.1:1/prefix/v1/files/gen-1',
    ]) {
      const opened = await h.files.openForGeneration(project, ref);
      expect(opened).toMatchObject({ name: 'files/gen-1', mimeType: 'image/png', sizeBytes: 17 });
      expect(opened.sha256Hex).toMatch(/^[0-9a-f]{64}$/);
      expect(Buffer.from(opened.sha256Hex, 'hex').toString('base64')).toBe(f.sha256Hash);
      expect(filesUnder(h.blobs.blobsDir).map((x) => `${h.blobs.blobsDir}/${x}`)).toContain(opened.path);
    }
    await expect(h.files.openForGeneration(project, 'files/missing')).rejects.toMatchObject({ httpStatus: 403 });
    await expect(h.files.openForGeneration(project, 'gs://bucket/cat.png')).rejects.toMatchObject({ httpStatus: 400 });
  });

  it('download of an uploaded file is refused like Gemini', async () => {
    const h = await setup();
    const f = await upload(h, 'dl');
    expect((await get(h, `/v1beta/${f.name}:download?alt=media`)).statusCode).toBe(400);
    expect((await get(h, '/v1beta/files/nope:download?alt=media')).statusCode).toBe(403);
  });
});

describe('restart', () => {
  it('files left PROCESSING by a crash are inspected again on start', async () => {
    const first = await setup();
    const f = await upload(first, 'crashed');
    const project = projectOfKey(KEY_A);
    first.meta.updateFile(project, 'crashed', { state: 'PROCESSING', mimeType: 'image/png' });
    await first.close();
    const second = await harness({ dataDir: first.dataDir, inspect: async () => ({ ok: true, mimeType: 'image/gif' }) });
    onCleanup(() => second.close());
    await expect(second.files.openForGeneration(project, f.uri)).resolves.toMatchObject({ mimeType: 'image/gif' });
    expect((await get(second, `/v1beta/${f.name}`)).json()).toMatchObject({ state: 'ACTIVE', mimeType: 'image/gif' });
  });
});

describe('expiry', () => {
  it('expired files are invisible at once; the sweeper removes bytes, rows and stale sessions', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const h = await setup({ clock: () => now });
    const old = await upload(h, 'old');
    expect(old.createTime).toBe('2026-01-01T00:00:00.000Z');
    expect(old.expirationTime).toBe('2026-01-03T00:00:00.000Z');
    // An unfinished resumable session with some bytes.
    const start = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files',
      headers: { 'x-goog-api-key': KEY_A, 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start' },
    });
    const u = new URL(start.headers['x-goog-upload-url'] as string);
    await h.app.inject({
      method: 'POST',
      url: u.pathname + u.search,
      headers: { 'x-goog-upload-command': 'upload', 'x-goog-upload-offset': '0' },
      payload: Buffer.alloc(100),
    });
    now += 47 * 3600_000;
    const fresh = await upload(h, 'fresh');
    expect(filesUnder(h.blobs.blobsDir)).toHaveLength(2);
    expect(filesUnder(h.blobs.uploadsDir)).toHaveLength(1);

    now += 1 * 3600_000 + 1; // 'old' and the session are past 48 h
    expect((await get(h, `/v1beta/${old.name}`)).statusCode).toBe(403);
    expect((await get(h, '/v1beta/files')).json().files.map((f: { name: string }) => f.name)).toEqual([fresh.name]);
    await expect(h.files.openForGeneration(projectOfKey(KEY_A), old.name)).rejects.toMatchObject({ httpStatus: 403 });
    const query = await h.app.inject({ method: 'POST', url: u.pathname + u.search, headers: { 'x-goog-upload-command': 'query' } });
    expect(query.statusCode).toBe(404);
    // The name can be used again before the sweep.
    expect(h.meta.getFile(projectOfKey(KEY_A), 'old')).toBeDefined();

    const report = await h.files.sweep();
    expect(report).toMatchObject({ files: 1, sessions: 1 });
    expect(h.meta.getFile(projectOfKey(KEY_A), 'old')).toBeUndefined();
    expect(filesUnder(h.blobs.blobsDir)).toHaveLength(1);
    expect(filesUnder(h.blobs.uploadsDir)).toEqual([]);
    expect((await get(h, `/v1beta/${fresh.name}`)).statusCode).toBe(200);
    const again = await upload(h, 'old');
    expect(again.name).toBe('files/old');
  });

  it('startSweeper runs on its interval; orphans left by a crash are removed', async () => {
    let now = 1_000_000;
    const h = await setup({ clock: () => now, limits: { sweepIntervalMs: 20 } });
    await upload(h, 'soon-gone');
    // Leftovers of a crash: a blob nobody references and a temp partial.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${h.blobs.blobsDir}/deadbeef`, 'x');
    writeFileSync(`${h.blobs.uploadsDir}/t-cafe.part`, 'x');
    now += 48 * 3600_000;
    h.files.startSweeper();
    for (let i = 0; i < 100 && filesUnder(h.dataDir).some((f) => !f.startsWith('ocellus.db')); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(filesUnder(h.dataDir).filter((f) => !f.startsWith('ocellus.db'))).toEqual([]);
    expect(h.meta.getFile(projectOfKey(KEY_A), 'soon-gone')).toBeUndefined();
    await h.files.stop();
  });
});
