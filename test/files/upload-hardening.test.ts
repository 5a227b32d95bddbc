/**
 * Upload protocol loose ends found by the issue 11 probe: unknown metadata fields, a chunk
 * past the declared length, chunks after finalize.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { harnessPerTest, KEY_A, noisePng, sha256Base64, startResumable, type Harness } from './helpers.js';

const { setup } = harnessPerTest();

const chunk = (h: Harness, pq: string, command: string, offset: number | undefined, body: Buffer | Readable) =>
  h.app.inject({
    method: 'POST',
    url: pq,
    headers: {
      'content-type': 'application/json',
      'x-goog-upload-command': command,
      ...(offset !== undefined ? { 'x-goog-upload-offset': String(offset) } : {}),
    },
    payload: body,
  });

const create = (h: Harness, body: unknown) =>
  h.app.inject({ method: 'POST', url: '/v1beta/files', headers: { 'x-goog-api-key': KEY_A, 'content-type': 'application/json' }, payload: JSON.stringify(body) });

describe('file metadata: unknown fields', () => {
  it("POST /v1beta/files answers Gemini's 400 Unknown name, echoing the key as sent", async () => {
    const h = await setup();
    const inner = await create(h, { file: { display_nam: 'x' } });
    expect(inner.statusCode).toBe(400);
    expect(inner.json().error).toMatchObject({
      code: 400,
      status: 'INVALID_ARGUMENT',
      message: `Invalid JSON payload received. Unknown name "display_nam" at 'file': Cannot find field.`,
    });
    const top = await create(h, { file: { displayName: 'x' }, extra: 1 });
    expect(top.statusCode).toBe(400);
    expect(top.json().error.message).toBe('Invalid JSON payload received. Unknown name "extra": Cannot find field.');
    // Every field of the File resource is known (a client may send a File back).
    const ok = await create(h, { file: { display_name: 'x', mimeType: 'image/png', state: 'ACTIVE', uri: 'u', sizeBytes: '3' } });
    expect(ok.statusCode).toBe(200);
  });

  it('the resumable start body is checked the same way', async () => {
    const h = await setup();
    const res = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files',
      headers: { 'x-goog-api-key': KEY_A, 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start' },
      payload: JSON.stringify({ file: { displayName: 'a', colour: 'red' } }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/Unknown name "colour" at 'file'/);
  });
});

describe('resumable chunks', () => {
  it('a chunk past the declared length is 400 and keeps the session and its earlier bytes', async () => {
    const h = await setup();
    const png = await noisePng(24, 24);
    const { pathAndQuery } = await startResumable(h.app, { length: png.length });
    expect((await chunk(h, pathAndQuery, 'upload', 0, png.subarray(0, 100))).statusCode).toBe(200);
    // Known length: refused before reading.
    const over = await chunk(h, pathAndQuery, 'upload, finalize', 100, Buffer.concat([png.subarray(100), Buffer.alloc(50)]));
    expect(over.statusCode).toBe(400);
    expect(over.json().error.message).toMatch(/past the declared X-Goog-Upload-Header-Content-Length/);
    expect(over.headers['x-goog-upload-status']).toBe('active');
    expect(over.headers['x-goog-upload-size-received']).toBe('100');
    // Unknown length (streamed): the bytes already written are cut off again.
    const streamed = await chunk(h, pathAndQuery, 'upload', 100, Readable.from([png.subarray(100, 300), png.subarray(300), Buffer.alloc(50)]));
    expect(streamed.statusCode).toBe(400);
    expect(streamed.headers['x-goog-upload-size-received']).toBe('100');
    const q = await chunk(h, pathAndQuery, 'query', undefined, Buffer.alloc(0));
    expect(q.headers['x-goog-upload-size-received']).toBe('100');
    const fin = await chunk(h, pathAndQuery, 'upload, finalize', 100, png.subarray(100));
    expect(fin.statusCode).toBe(200);
    expect(fin.json().file).toMatchObject({ sizeBytes: String(png.length), sha256Hash: await sha256Base64(png), state: 'ACTIVE' });
  });

  it('a chunk after finalize is an error (bytes are not silently dropped); a retried final chunk still answers the file', async () => {
    const h = await setup();
    const png = await noisePng(16, 16);
    const { pathAndQuery } = await startResumable(h.app, { length: png.length });
    const fin = await chunk(h, pathAndQuery, 'upload, finalize', 0, png);
    expect(fin.statusCode).toBe(200);
    const more = await chunk(h, pathAndQuery, 'upload', png.length, Buffer.from('more bytes'));
    expect(more.statusCode).toBe(400);
    expect(more.json().error).toMatchObject({ status: 'FAILED_PRECONDITION' });
    expect(more.json().error.message).toMatch(/already finalized/);
    expect(more.headers['x-goog-upload-status']).toBe('final');
    const moreFinal = await chunk(h, pathAndQuery, 'upload, finalize', png.length, Buffer.from('x'));
    expect(moreFinal.statusCode).toBe(400);
    const retry = await chunk(h, pathAndQuery, 'upload, finalize', 0, png);
    expect(retry.statusCode).toBe(200);
    expect(retry.json().file.name).toBe(fin.json().file.name);
  });
});
