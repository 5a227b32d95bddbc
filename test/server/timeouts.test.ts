/**
 * Slow and greedy clients against the real server: trickled bodies, bodies shorter than
 * their Content-Length, slow headers, idle keep-alive connections and too many connections.
 * Timeouts are set small here; what is checked is that the server closes the connection
 * with the right answer, not how fast it is (the margins are wide for a loaded machine).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigFlags } from '../../src/config.js';
import { startServer, storedBlobs, type RunningServer } from '../support/server.js';
import { closedWithin, openIdle, slowRequest } from './slow-client.js';

const IDLE_MS = 600;
const REQUEST_MS = 2500;
const HEADERS_MS = 800;
const KEEP_ALIVE_MS = 500;

const GENERATE = '/v1beta/models/gemini-2.5-flash:generateContent';
/** No Gemma tokenizer: building it holds the event loop for seconds on a loaded machine. */
const textTokens = { count: (t: string) => Math.ceil(t.length / 4) };

function head(path: string, headers: Record<string, string | number>): string {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

const pieces = (count: number, size: number, fill = 0x20): Buffer[] => Array.from({ length: count }, () => Buffer.alloc(size, fill));

function expectTimeoutEnvelope(res: { status: number | undefined; headers: Record<string, string>; body: string }): void {
  expect(res.status).toBe(408);
  expect(res.headers.connection).toBe('close');
  const body = JSON.parse(res.body) as { error: { code: number; status: string; message: string } };
  expect(body.error.code).toBe(408);
  expect(body.error.status).toBe('DEADLINE_EXCEEDED');
  expect(body.error.message).toMatch(/request/i);
}

describe('timeouts and the connection cap', () => {
  let s: RunningServer;
  let port: number;
  beforeAll(async () => {
    const flags: ConfigFlags = {
      engine: 'measurements',
      bodyIdleTimeoutMs: IDLE_MS,
      requestTimeoutMs: REQUEST_MS,
      headersTimeoutMs: HEADERS_MS,
      keepAliveTimeoutMs: KEEP_ALIVE_MS,
    };
    s = await startServer({ flags, textTokens });
    port = Number(new URL(s.baseUrl).port);
  });
  afterAll(() => s.stop());

  it('closes a body trickled at 10 B per step with 408 in the envelope, within the idle timeout', async () => {
    const res = await slowRequest({
      port,
      head: head(GENERATE, { 'content-type': 'application/json', 'content-length': 400 }),
      pieces: pieces(40, 10),
      intervalMs: 200,
    });
    expectTimeoutEnvelope(res);
    expect(res.body).toMatch(/stalled/);
    expect(res.closedAfterMs).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(res.closedAfterMs).toBeLessThan(IDLE_MS + 3000);
    expect(res.sent).toBeLessThan(400);
  });

  it('closes a request whose Content-Length is larger than the body it sends', async () => {
    const res = await slowRequest({
      port,
      head: head(GENERATE, { 'content-type': 'application/json', 'content-length': 100 }) + '{"contents": [',
    });
    expectTimeoutEnvelope(res);
  });

  it('ends an ordinary request that keeps moving but is not whole by the request timeout', async () => {
    const res = await slowRequest({
      port,
      head: head(GENERATE, { 'content-type': 'application/json', 'content-length': 400_000 }),
      pieces: pieces(200, 2048),
      intervalMs: 100,
      giveUpMs: REQUEST_MS + 10_000,
    });
    expectTimeoutEnvelope(res);
    expect(res.body).toMatch(/whole request/);
    expect(res.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_MS - 100);
  });

  it('judges an upload by progress, not total time: a slow but steady upload completes', async () => {
    const total = 36 * 2048;
    const res = await slowRequest({
      port,
      head: head('/upload/v1beta/files?uploadType=media', { 'content-type': 'image/png', 'content-length': total, connection: 'close' }),
      pieces: pieces(36, 2048, 0x41),
      intervalMs: 100,
      giveUpMs: 20_000,
    });
    expect(res.closedAfterMs).toBeGreaterThan(REQUEST_MS);
    expect(res.status).toBe(200);
    const file = JSON.parse(res.body).file as { sizeBytes: string };
    expect(file.sizeBytes).toBe(String(total));
  });

  it('a stalled single-request upload gets 408 and leaves no temp file', async () => {
    const res = await slowRequest({
      port,
      head: head('/upload/v1beta/files?uploadType=media', { 'content-type': 'image/png', 'content-length': 100_000 }),
      pieces: pieces(2, 2048),
      intervalMs: 50,
    });
    expectTimeoutEnvelope(res);
    await sleep(100);
    expect(storedBlobs(s.dataDir).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('a single-request upload whose client goes away mid-body leaves no temp file', async () => {
    const socket = await openIdle(port);
    socket.write(head('/upload/v1beta/files?uploadType=media', { 'content-type': 'image/png', 'content-length': 1_000_000 }));
    socket.write(Buffer.alloc(64 * 1024, 1));
    await sleep(150);
    expect(storedBlobs(s.dataDir).filter((f) => f.endsWith('.part')).length).toBe(1);
    socket.destroy();
    for (let i = 0; i < 40 && storedBlobs(s.dataDir).some((f) => f.endsWith('.part')); i++) await sleep(50);
    expect(storedBlobs(s.dataDir).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('a stalled resumable chunk gets 408; the bytes it brought stay and the upload resumes from them', async () => {
    const start = await fetch(`${s.baseUrl}/upload/v1beta/files`, {
      method: 'POST',
      headers: { 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start', 'x-goog-upload-header-content-length': '10240' },
      body: '{}',
    });
    const url = new URL(start.headers.get('x-goog-upload-url')!);
    const res = await slowRequest({
      port,
      head: head(`${url.pathname}${url.search}`, { 'x-goog-upload-command': 'upload', 'x-goog-upload-offset': 0, 'content-length': 10240 }),
      pieces: pieces(2, 1024),
      intervalMs: 50,
    });
    expectTimeoutEnvelope(res);
    const q = await fetch(url, { method: 'POST', headers: { 'x-goog-upload-command': 'query' } });
    expect(q.headers.get('x-goog-upload-status')).toBe('active');
    expect(q.headers.get('x-goog-upload-size-received')).toBe('2048');
  });

  it('closes a connection whose headers do not arrive within the headers timeout', async () => {
    const res = await slowRequest({ port, head: 'POST /v1beta/files HTTP/1.1\r\nHost: 127.0.0.1\r\n', giveUpMs: HEADERS_MS + 5000 });
    expect(res.status).toBe(408);
    expect(res.closedAfterMs).toBeGreaterThanOrEqual(HEADERS_MS - 50);
  });

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const socket = await openIdle(port);
    const answered = new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await answered;
    const openMs = await closedWithin(socket, KEEP_ALIVE_MS + 5000);
    expect(openMs).toBeGreaterThanOrEqual(KEEP_ALIVE_MS - 100);
  });
});

describe('connection cap', () => {
  it('refuses connections beyond --max-connections and takes new ones once others close', async () => {
    const flags: ConfigFlags = { engine: 'measurements', maxConnections: 3 };
    const s = await startServer({ flags, textTokens });
    const port = Number(new URL(s.baseUrl).port);
    try {
      const held = await Promise.all([openIdle(port), openIdle(port), openIdle(port)]);
      await sleep(50);
      const extra = await openIdle(port).catch(() => undefined);
      // Accepted by the kernel, then closed by the server at once: no answer.
      if (extra) {
        const answered: Buffer[] = [];
        extra.on('data', (d) => answered.push(d));
        extra.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        await closedWithin(extra, 3000);
        expect(Buffer.concat(answered).length).toBe(0);
      }
      for (const h of held) h.destroy();
      await sleep(100);
      const ok = await fetch(`${s.baseUrl}/healthz`);
      expect(ok.status).toBe(200);
    } finally {
      await s.stop();
    }
  });
});
