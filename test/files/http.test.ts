/**
 * Over a real socket: limits answered with a JSON error the client actually receives, a
 * client that disconnects mid-chunk (the bytes that arrived stay; query and resume), and
 * no temp files left behind by an abandoned single-request upload.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { harnessPerTest, filesUnder, harness, KEY_A, noisePng, startResumable, type Harness } from './helpers.js';

const { setup } = harnessPerTest();

async function listening(opts: Parameters<typeof harness>[0] = {}): Promise<{ h: Harness; port: number }> {
  const h = await setup(opts);
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = h.app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return { h, port: addr.port };
}

const waitFor = async (cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** Sends `headers` and the first `sent` bytes of a body announced as `total` bytes, then drops the connection. */
function sendPartial(port: number, path: string, headers: Record<string, string>, body: Buffer, sent: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers: { ...headers, 'content-length': String(body.length) } });
    req.on('error', () => resolve());
    req.write(body.subarray(0, sent), () => {
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 100);
    });
  });
}

describe('over real HTTP', () => {
  it('a raw upload over the limit gets a 400 JSON error, with or without Content-Length', async () => {
    const { h, port } = await listening({ limits: { fileBytes: 64 * 1024 } });
    const body = Buffer.alloc(1024 * 1024, 1);
    const withLength = await fetch(`http://127.0.0.1:${port}/upload/v1beta/files?uploadType=media`, {
      method: 'POST',
      headers: { 'x-goog-api-key': KEY_A, 'content-type': 'image/png' },
      body,
    });
    expect(withLength.status).toBe(400);
    expect((await withLength.json()).error.status).toBe('INVALID_ARGUMENT');
    const chunked = await fetch(`http://127.0.0.1:${port}/upload/v1beta/files?uploadType=media`, {
      method: 'POST',
      headers: { 'x-goog-api-key': KEY_A, 'content-type': 'image/png' },
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 16; i++) c.enqueue(new Uint8Array(64 * 1024));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(400);
    expect((await chunked.json()).error.message).toMatch(/exceeds the maximum/);
    expect(filesUnder(h.dataDir).filter((f) => !f.startsWith('ocellus.db'))).toEqual([]);
  });

  it('a client that disconnects mid-chunk can query Size-Received and resume', async () => {
    const { h, port } = await listening();
    const png = await noisePng(300, 300); // ~270 kB
    const { pathAndQuery } = await startResumable(h.app, { length: png.length, mimeType: 'image/png' });
    const headers = { 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0', 'content-type': 'application/json' };
    await sendPartial(port, pathAndQuery, headers, png, 100_000);
    const query = async () => {
      const r = await fetch(`http://127.0.0.1:${port}${pathAndQuery}`, {
        method: 'POST',
        headers: { 'x-goog-upload-command': 'query' },
      });
      return { status: r.headers.get('x-goog-upload-status'), received: Number(r.headers.get('x-goog-upload-size-received')) };
    };
    await waitFor(async () => (await query()).received === 100_000);
    expect(await query()).toEqual({ status: 'active', received: 100_000 });
    const res = await fetch(`http://127.0.0.1:${port}${pathAndQuery}`, {
      method: 'POST',
      headers: { ...headers, 'x-goog-upload-offset': '100000' },
      body: new Uint8Array(png.subarray(100_000)),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-goog-upload-status')).toBe('final');
    expect((await res.json()).file).toMatchObject({
      state: 'ACTIVE',
      sizeBytes: String(png.length),
      sha256Hash: createHash('sha256').update(png).digest('base64'),
    });
    expect(filesUnder(h.blobs.uploadsDir)).toEqual([]);
  });

  it('an abandoned multipart or raw upload leaves no temp file', async () => {
    const { h, port } = await listening();
    const body = Buffer.alloc(300_000, 5);
    await sendPartial(port, '/upload/v1beta/files?uploadType=media', { 'x-goog-api-key': KEY_A, 'content-type': 'image/png' }, body, 50_000);
    const multipart = Buffer.concat([
      Buffer.from('--B\r\nContent-Type: application/json\r\n\r\n{}\r\n--B\r\nContent-Type: image/png\r\n\r\n'),
      body,
      Buffer.from('\r\n--B--\r\n'),
    ]);
    await sendPartial(port, '/upload/v1beta/files', { 'x-goog-api-key': KEY_A, 'content-type': 'multipart/related; boundary=B' }, multipart, 60_000);
    await waitFor(() => filesUnder(h.blobs.uploadsDir).length === 0);
    expect(filesUnder(h.dataDir).filter((f) => !f.startsWith('ocellus.db'))).toEqual([]);
    expect(h.meta.listFiles('x', 0, 10).files).toEqual([]);
  });
});
