/**
 * A generateContent that the model queue would refuse is refused before its body is parsed:
 * in a burst most requests get 429, and decoding and parsing each ~150 KB body only to
 * refuse it held the event loop (bench suite "burst"). The route asks `refuseIfFull` when
 * the headers arrive and again when the body is in; a body the queue refuses is never parsed
 * (invalid JSON gets the 429, not a 400), the answer is the queue's own 429 with
 * Retry-After, and the connection stays usable. Other methods and other errors keep
 * their order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/config.js';
import { createGenerateRoutes } from '../../src/server/routes/generate.js';
import type { GenerateService } from '../../src/generate/service.js';
import { notFound, resourceExhausted } from '../../src/errors.js';
import { RawConnection, type Outcome, type RawResponse } from '../fuzz/raw-http.js';
import net from 'node:net';
import { createUploadRoutes } from '../../src/server/routes/upload.js';
import type { FilesService } from '../../src/files/service.js';
import { uploadBusy } from '../../src/files/upload-errors.js';
import { lingerOnClose } from '../../src/server/unread-body.js';

interface Calls {
  refuseChecks: string[];
  prepared: unknown[];
  counted: number;
}

/** A service that records what reaches it; only the model name `gemini-2.5-flash` exists. */
function fakeService(calls: Calls): GenerateService {
  const service = {
    resolveModel: (name: string) => {
      if (name !== 'gemini-2.5-flash') throw notFound(`models/${name} is not found.`);
      return { id: 'gemini-2.5-flash', inputTokenLimit: 1_000_000 };
    },
    countTokens: async () => {
      calls.counted++;
      return { totalTokens: 1 };
    },
    prepare: async (_project: string, _model: unknown, body: unknown) => {
      calls.prepared.push(body);
      return { body };
    },
    generate: async () => ({ candidates: [{ content: { role: 'model', parts: [{ text: 'an answer' }] } }] }),
  };
  return service as unknown as GenerateService;
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** `full(n)` says whether the queue is full at the n-th check of a request (1: headers, 2: body in). */
async function start(full: (check: number) => boolean, flags: { maxRequestBytes?: number } = {}): Promise<{ port: number; calls: Calls }> {
  const calls: Calls = { refuseChecks: [], prepared: [], counted: 0 };
  let checks = 0;
  app = await buildApp({
    config: loadConfig({ port: 0, dataDir: '/nonexistent', apiKey: [], ...flags }, {}),
    logger: pino({ level: 'silent' }),
    apiRoutes: [
      createGenerateRoutes(fakeService(calls), {
        refuseIfFull: (modelId) => {
          calls.refuseChecks.push(modelId);
          if (full(++checks)) throw resourceExhausted('The vision engine is busy: 34 requests are running or waiting, the most it takes. Retry shortly.', 3);
        },
      }),
    ],
    uploadRoutes: [],
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address !== 'object') throw new Error('no address');
  return { port: address.port, calls };
}

function responseOf(o: Outcome): RawResponse {
  if (o.kind !== 'response') throw new Error(`no response: ${o.reason}`);
  return o.response;
}

const post = (target: string, body: string) => ({
  method: 'POST',
  target,
  headers: [['content-type', 'application/json']] as Array<[string, string]>,
  body: Buffer.from(body),
});

const header = (res: RawResponse, name: string): string | undefined => res.headers[name];

const errorOf = (res: RawResponse) => (JSON.parse(res.body.toString('utf8')) as { error: { code: number; status: string; message: string } }).error;

describe('generateContent refused by a full model queue', () => {
  it('is answered 429 with Retry-After when the headers arrive: the body (here not even JSON) is never parsed, and the connection stays usable', async () => {
    const { port, calls } = await start(() => true);
    const conn = new RawConnection('127.0.0.1', port, 10_000);
    try {
      const res = responseOf(await conn.send(post('/v1beta/models/gemini-2.5-flash:generateContent', `{"contents": [${'x'.repeat(200_000)}`)));
      expect(res.status).toBe(429);
      expect(header(res, 'retry-after')).toBe('3');
      expect(errorOf(res)).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED', message: expect.stringMatching(/busy/) });
      expect(calls.refuseChecks).toEqual(['gemini-2.5-flash']);
      expect(calls.prepared).toEqual([]);
      // The unread body was discarded, not left to be read as the next request.
      const again = responseOf(await conn.send(post('/v1beta/models/gemini-2.5-flash:streamGenerateContent', '{}')));
      expect(again.status).toBe(429);
      expect(conn.opened).toBe(1);
    } finally {
      conn.close();
    }
  });

  it('is answered 429 when the queue filled while the body arrived: checked again before parsing', async () => {
    const { port, calls } = await start((check) => check === 2);
    const conn = new RawConnection('127.0.0.1', port, 10_000);
    try {
      const res = responseOf(await conn.send(post('/v1beta/models/gemini-2.5-flash:generateContent', '{"contents": [not json')));
      expect(res.status).toBe(429);
      expect(header(res, 'retry-after')).toBe('3');
      expect(calls.refuseChecks).toHaveLength(2);
      expect(calls.prepared).toEqual([]);
    } finally {
      conn.close();
    }
  });

  it('with room in the queue, parses as before: bad JSON is a 400 naming the problem, good JSON reaches the service', async () => {
    const { port, calls } = await start(() => false);
    const conn = new RawConnection('127.0.0.1', port, 10_000);
    try {
      const bad = responseOf(await conn.send(post('/v1beta/models/gemini-2.5-flash:generateContent', '{"contents": [not json')));
      expect(bad.status).toBe(400);
      expect(errorOf(bad).message).toMatch(/Invalid JSON payload/);
      const good = responseOf(await conn.send(post('/v1beta/models/gemini-2.5-flash:generateContent', '{"contents":[{"parts":[{"text":"hi"}]}]}')));
      expect(good.status).toBe(200);
      expect(calls.prepared).toEqual([{ contents: [{ parts: [{ text: 'hi' }] }] }]);
    } finally {
      conn.close();
    }
  });

  it('leaves countTokens and unknown models alone: they never take a place, so a full queue does not refuse them', async () => {
    const { port, calls } = await start(() => true);
    const conn = new RawConnection('127.0.0.1', port, 10_000);
    try {
      const counted = responseOf(await conn.send(post('/v1beta/models/gemini-2.5-flash:countTokens', '{"contents":[{"parts":[{"text":"hi"}]}]}')));
      expect(counted.status).toBe(200);
      expect(calls.counted).toBe(1);
      const unknown = responseOf(await conn.send(post('/v1beta/models/no-such-model:generateContent', '{}')));
      expect(unknown.status).toBe(404);
      expect(calls.refuseChecks).toEqual([]);
    } finally {
      conn.close();
    }
  });
});

/**
 * What a client that is still writing its body sees when the answer comes first. A body
 * of `total` bytes is written on a raw socket in `piece`-byte pieces every `everyMs`, as a
 * naive client would: it goes on writing after the response (TCP lets it: a FIN from the
 * server only ends the server's side), then ends its side and waits for the close.
 */
interface SlowOutcome {
  status?: number;
  headers: Record<string, string>;
  body: string;
  /** A socket error while writing or reading (EPIPE, ECONNRESET), if any. */
  error?: string;
  /** Body bytes written before the socket closed or failed. */
  sent: number;
}

function slowPost(port: number, target: string, headers: Record<string, string>, total: number, piece = 64 * 1024, everyMs = 5): Promise<SlowOutcome> {
  return new Promise((resolve) => {
    const out: SlowOutcome = { headers: {}, body: '', sent: 0 };
    const received: Buffer[] = [];
    // allowHalfOpen: the server's FIN does not end our side; we go on writing, as a client busy sending would.
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const head = [`POST ${target} HTTP/1.1`, 'Host: 127.0.0.1', `Content-Length: ${total}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
    const chunk = Buffer.alloc(piece, 0x61);
    let timer: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (socket.destroyed) return void clearInterval(timer);
        const n = Math.min(piece, total - out.sent);
        socket.write(chunk.subarray(0, n));
        out.sent += n;
        if (out.sent < total) return;
        clearInterval(timer);
        // All sent: a keep-alive server leaves the connection open, so end our side.
        setTimeout(() => socket.end(), 300);
      }, everyMs);
    });
    socket.on('data', (d) => received.push(d));
    socket.on('error', (err: NodeJS.ErrnoException) => (out.error ??= err.code ?? err.message));
    socket.on('close', () => {
      clearInterval(timer);
      const text = Buffer.concat(received).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const lines = text.slice(0, split < 0 ? text.length : split).split('\r\n');
      out.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1]) || undefined;
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) out.headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      out.body = split < 0 ? '' : text.slice(split + 4);
      resolve(out);
    });
    setTimeout(() => socket.destroy(), 20_000).unref();
  });
}

describe('an early refusal reaches a client still writing its body (no reset)', () => {
  it('a full queue’s 429 while a 4 MiB caption body is still arriving: the client reads the status and the envelope, and the connection is not reset', async () => {
    const { port, calls } = await start(() => true);
    const out = await slowPost(port, '/v1beta/models/gemini-2.5-flash:generateContent', { 'content-type': 'application/json' }, 4 * 1024 * 1024);
    expect(out.error).toBeUndefined();
    expect(out.status).toBe(429);
    expect(out.headers['retry-after']).toBe('3');
    expect(JSON.parse(out.body).error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED' });
    expect(out.sent).toBe(4 * 1024 * 1024);
    expect(calls.prepared).toEqual([]);
  });

  it('a 429 for a body declared over the route’s limit: Connection: close, and the server reads at most the limit more before it closes, long after the client has the answer', async () => {
    const { port } = await start(() => true, { maxRequestBytes: 1024 * 1024 });
    const out = await slowPost(port, '/v1beta/models/gemini-2.5-flash:generateContent', { 'content-type': 'application/json' }, 8 * 1024 * 1024);
    expect(out.status).toBe(429);
    expect(out.headers.connection).toBe('close');
    expect(JSON.parse(out.body).error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED' });
    // The client that would not stop is cut off once it sent about the limit more.
    expect(out.error).toMatch(/EPIPE|ECONNRESET/);
    expect(out.sent).toBeLessThan(4 * 1024 * 1024);
  });

  it('an upload chunk’s 503 (another replica holds the writer lease) while 8 MiB are still arriving: Connection: close, and the client reads the 503 before the close', async () => {
    const { port, chunks } = await startUploads();
    const out = await slowPost(
      port,
      '/upload/v1beta/files?upload_id=u1&upload_protocol=resumable',
      { 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0', 'content-type': 'application/octet-stream' },
      8 * 1024 * 1024,
    );
    expect(out.error).toBeUndefined();
    expect(out.status).toBe(503);
    expect(out.headers.connection).toBe('close');
    expect(out.headers['x-goog-upload-status']).toBe('active');
    expect(JSON.parse(out.body).error).toMatchObject({ code: 503, status: 'UNAVAILABLE', message: expect.stringMatching(/Another request is writing/) });
    expect(chunks).toEqual(['u1']);
  });
});

describe('the staged close (lingerOnClose) is bounded', () => {
  /**
   * A server socket in staged close, and a client that keeps its side open: `client` runs
   * against it; resolves with how long after the staged close began the server's socket closed.
   */
  async function lingering(opts: { idleMs: number; maxBytes: number; maxMs: number }, client: (socket: net.Socket) => void): Promise<number> {
    const server = net.createServer();
    let began = 0;
    const closed = new Promise<number>((resolve) =>
      server.on('connection', (socket) => {
        socket.on('data', () => undefined); // the HTTP parser's part: read and discard
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(Date.now() - began));
        lingerOnClose(socket, opts);
        began = Date.now();
        socket.destroySoon(); // what Node's HTTP server calls after a Connection: close response
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => undefined);
    socket.on('connect', () => client(socket));
    try {
      return await closed;
    } finally {
      socket.destroy();
      server.close();
    }
  }

  it('closes once the client has been quiet for idleMs, not before, and not at once', async () => {
    const ms = await lingering({ idleMs: 300, maxBytes: 1 << 20, maxMs: 10_000 }, (socket) => {
      setTimeout(() => socket.write('still sending'), 150);
    });
    expect(ms).toBeGreaterThanOrEqual(400); // 150 ms + 300 ms quiet, less timer slack
    expect(ms).toBeLessThan(5_000);
  });

  it('closes as soon as the client ends its side, or sends more than maxBytes, or maxMs passes', async () => {
    expect(await lingering({ idleMs: 5_000, maxBytes: 1 << 20, maxMs: 10_000 }, (socket) => socket.end('bye'))).toBeLessThan(2_000);
    expect(await lingering({ idleMs: 5_000, maxBytes: 1_000, maxMs: 10_000 }, (socket) => socket.write(Buffer.alloc(4_000)))).toBeLessThan(2_000);
    const capped = await lingering({ idleMs: 5_000, maxBytes: 1 << 20, maxMs: 400 }, (socket) => {
      const t = setInterval(() => (socket.destroyed ? clearInterval(t) : socket.write('x')), 50);
    });
    expect(capped).toBeGreaterThanOrEqual(350);
    expect(capped).toBeLessThan(3_000);
  });
});

/** An app with the upload routes only; every chunk is refused as another replica's, before its body is read. */
async function startUploads(): Promise<{ port: number; chunks: string[] }> {
  const chunks: string[] = [];
  const files = {
    limits: { fileBytes: 2 * 1024 * 1024 * 1024 },
    uploadChunk: async (uploadId: string) => {
      chunks.push(uploadId);
      throw uploadBusy(0);
    },
  } as unknown as FilesService;
  app = await buildApp({
    config: loadConfig({ port: 0, dataDir: '/nonexistent', apiKey: [] }, {}),
    logger: pino({ level: 'silent' }),
    apiRoutes: [],
    uploadRoutes: [createUploadRoutes(files)],
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address !== 'object') throw new Error('no address');
  return { port: address.port, chunks };
}
