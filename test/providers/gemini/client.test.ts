/**
 * The shared Gemini client (src/providers/gemini/client/) on its own: the protocol steps it
 * takes and the facts it hands to the caller's error mapping. The CLI's and the upstream
 * provider's use of it are tested in test/cli/gemini-client.test.ts and provider.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createGeminiClient, type ClientErrors } from '../../../src/providers/gemini/client/client.js';
import { errorBodyOf, parseErrorText } from '../../../src/providers/gemini/client/envelope.js';
import { sseEvents } from '../../../src/providers/gemini/client/sse.js';
import type { HttpAnswer, HttpRequest } from '../../../src/providers/gemini/client/transport.js';
import { modelPath, onApiOrigin } from '../../../src/providers/gemini/client/urls.js';

const enc = new TextEncoder();
async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield enc.encode(p);
}
const collect = async <T>(it: AsyncIterable<T>) => {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
};

/** A transport answering from a script, recording every request. */
interface Scripted {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
}
function scripted(answer: (req: HttpRequest, n: number) => Scripted) {
  const requests: HttpRequest[] = [];
  const transport = async (req: HttpRequest): Promise<HttpAnswer> => {
    requests.push(req);
    const a = answer(req, requests.length - 1);
    const headers = new Headers(a.headers ?? {});
    return { status: a.status ?? 200, headers, body: () => chunks(a.body ?? ''), text: async () => a.body ?? '' };
  };
  return { transport, requests };
}

class Mapped extends Error {
  constructor(
    readonly kind: string,
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
  }
}
const errors: ClientErrors = {
  answer: (status, error, { text }) => new Mapped('answer', error?.message ?? text, { status, error }),
  protocol: (m) => new Mapped('protocol', m),
  fileFailed: (f) => new Mapped('failed', f.name),
  processingTimedOut: (f, ms) => new Mapped('timeout', `${f.name} ${ms}`),
};

describe('sseEvents', () => {
  it('yields each event at its blank line, across chunk boundaries, CRLF or LF, and a last event without one', async () => {
    expect(await collect(sseEvents(chunks('data: {"a":1}\r\n\r\nda', 'ta: {"b":2}\r', '\n\r\ndata: {"c":3}\n\n', 'data: {"d":4}')))).toEqual([
      '{"a":1}',
      '{"b":2}',
      '{"c":3}',
      '{"d":4}',
    ]);
  });
  it('joins multi-line data, ignores comments and other fields, and decodes UTF-8 split across chunks', async () => {
    const bytes = enc.encode('data: é\n\n');
    async function* split() {
      yield bytes.subarray(0, 7); // inside the two bytes of é
      yield bytes.subarray(7);
    }
    expect(await collect(sseEvents(split()))).toEqual(['é']);
    expect(await collect(sseEvents(chunks('event: x\nid: 1\ndata: [1,\ndata: 2]\n\n: comment\n\n')))).toEqual(['[1,\n2]']);
  });
});

describe('envelope', () => {
  it('reads the envelope from an object, a streamed array, or a string error; not from other JSON or HTML', () => {
    expect(errorBodyOf({ error: { code: 429, message: 'slow down', status: 'RESOURCE_EXHAUSTED', details: [{ a: 1 }] } })).toEqual({
      code: 429,
      message: 'slow down',
      status: 'RESOURCE_EXHAUSTED',
      details: [{ a: 1 }],
    });
    expect(parseErrorText('[{"error":{"code":500,"message":"x"}}]')).toEqual({ code: 500, message: 'x' });
    expect(parseErrorText('{"error":"plain"}')).toEqual({ message: 'plain' });
    expect(parseErrorText('{"candidates":[]}')).toBeUndefined();
    expect(parseErrorText('<h1>Bad gateway</h1>')).toBeUndefined();
  });
});

describe('urls', () => {
  it('keeps models/ and tunedModels/ prefixes and escapes the name', () => {
    expect(modelPath(' gemini-2.5-flash ')).toBe('models/gemini-2.5-flash');
    expect(modelPath('tunedModels/mine')).toBe('tunedModels/mine');
    expect(modelPath('a b')).toBe('models/a%20b');
  });
  it('moves an upload URL onto the API origin, keeping path and query', () => {
    expect(onApiOrigin('http://inner:9/upload/v1beta/files?upload_id=x', 'https://api.example:8443/base')).toBe('https://api.example:8443/upload/v1beta/files?upload_id=x');
    expect(onApiOrigin('/relative', 'https://api.example')).toBeUndefined();
  });
});

describe('createGeminiClient', () => {
  it('streams chunks and hands an error event to the caller mapping with the envelope code', async () => {
    const ok = JSON.stringify({ candidates: [{ content: { parts: [{ text: 'Hi' }] } }] });
    const bad = JSON.stringify({ error: { code: 503, message: 'overloaded', status: 'UNAVAILABLE' } });
    const { transport, requests } = scripted(() => ({ body: `data: ${ok}\r\n\r\ndata: ${bad}\r\n\r\n` }));
    const client = createGeminiClient({ baseUrl: 'http://s/', apiKey: 'k', transport, errors });
    const seen: unknown[] = [];
    const err = await (async () => {
      for await (const c of client.streamGenerateContent('models/gemini-2.5-flash', { contents: [] })) seen.push(c);
    })().catch((e: unknown) => e);
    expect(seen).toHaveLength(1);
    expect(err).toMatchObject({ kind: 'answer', message: 'overloaded', detail: { status: 503 } });
    expect(requests[0]).toMatchObject({ method: 'POST', url: 'http://s/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse' });
    expect(requests[0]!.headers['x-goog-api-key']).toBe('k');
  });

  it('an event that is not JSON is a protocol error, a non-2xx answer an answer error with its status', async () => {
    const garbled = createGeminiClient({ baseUrl: 'http://s', transport: scripted(() => ({ body: 'data: {oops\n\n' })).transport, errors });
    await expect(collect(garbled.streamGenerateContent('m', {}))).rejects.toMatchObject({ kind: 'protocol', message: expect.stringMatching(/not JSON: \{oops/) });
    const refused = createGeminiClient({ baseUrl: 'http://s', transport: scripted(() => ({ status: 502, body: '<h1>Bad gateway</h1>' })).transport, errors });
    await expect(refused.generateContent('m', {})).rejects.toMatchObject({ kind: 'answer', message: '<h1>Bad gateway</h1>', detail: { status: 502, error: undefined } });
  });

  it('uploads in one request when asked, to the rewritten upload URL, and waits while the file is PROCESSING', async () => {
    const { transport, requests } = scripted((req, n): Scripted => {
      if (req.headers['x-goog-upload-command'] === 'start') return { headers: { 'x-goog-upload-url': 'http://inner:9/up?id=1' } };
      if (req.headers['x-goog-upload-command'] === 'upload, finalize')
        return { headers: { 'x-goog-upload-status': 'final' }, body: JSON.stringify({ file: { name: 'files/f', uri: 'http://s/v1beta/files/f', mimeType: 'image/png', state: 'PROCESSING' } }) };
      return { body: JSON.stringify({ name: 'files/f', uri: 'http://s/v1beta/files/f', mimeType: 'image/png', state: n < 4 ? 'PROCESSING' : 'ACTIVE' }) };
    });
    const client = createGeminiClient({ baseUrl: 'http://s', apiKey: 'k', transport, errors, pollMs: 1, uploadUrl: (u) => onApiOrigin(u, 'http://s')! });
    const data = new Uint8Array(20).fill(1);
    const file = await client.uploadFile({ size: 20, read: async (o, l) => data.subarray(o, o + l) }, { mimeType: 'image/png', displayName: 'd', chunkBytes: Infinity });
    expect(file.state).toBe('ACTIVE');
    expect(requests.map((r) => [r.method, r.url, r.headers['x-goog-upload-command'], r.headers['x-goog-upload-offset'], r.uploadBytes])).toEqual([
      ['POST', 'http://s/upload/v1beta/files', 'start', undefined, undefined],
      ['POST', 'http://s/up?id=1', 'upload, finalize', '0', 20],
      ['GET', 'http://s/v1beta/files/f', undefined, undefined, undefined],
      ['GET', 'http://s/v1beta/files/f', undefined, undefined, undefined],
      ['GET', 'http://s/v1beta/files/f', undefined, undefined, undefined],
    ]);
    expect(JSON.parse(requests[0]!.body as string)).toEqual({ file: { mimeType: 'image/png', displayName: 'd' } });
    expect(requests[0]!.headers).toMatchObject({ 'x-goog-upload-header-content-length': '20', 'x-goog-upload-header-content-type': 'image/png' });
  });

  it('refuses an upload that did not finish, and a file that stays PROCESSING past the wait', async () => {
    const unfinished = scripted((req): Scripted =>
      req.headers['x-goog-upload-command'] === 'start'
        ? { headers: { 'x-goog-upload-url': 'http://s/up' } }
        : { headers: { 'x-goog-upload-status': 'active' }, body: '{}' },
    );
    const a = createGeminiClient({ baseUrl: 'http://s', transport: unfinished.transport, errors });
    await expect(a.uploadFile({ size: 1, read: async () => new Uint8Array(1) }, { mimeType: 'image/png' })).rejects.toMatchObject({
      kind: 'protocol',
      message: expect.stringMatching(/X-Goog-Upload-Status: active/),
    });
    const stuck = scripted((req): Scripted =>
      req.headers['x-goog-upload-command'] === 'start'
        ? { headers: { 'x-goog-upload-url': 'http://s/up' } }
        : { body: JSON.stringify(req.method === 'GET' ? { state: 'PROCESSING' } : { file: { name: 'files/p', uri: 'u', mimeType: 'image/png', state: 'PROCESSING' } }) },
    );
    const b = createGeminiClient({ baseUrl: 'http://s', transport: stuck.transport, errors, pollMs: 5, maxProcessingMs: 30 });
    await expect(b.uploadFile({ size: 1, read: async () => new Uint8Array(1) }, { mimeType: 'image/png' })).rejects.toMatchObject({ kind: 'timeout', message: 'files/p 30' });
  });

  it('sends no type when the file has none, so the server tells it from the bytes', async () => {
    const { transport, requests } = scripted((req): Scripted =>
      req.headers['x-goog-upload-command'] === 'start'
        ? { headers: { 'x-goog-upload-url': 'http://s/up' } }
        : { body: JSON.stringify({ file: { name: 'files/t', uri: 'http://s/v1beta/files/t', mimeType: 'image/png', state: 'ACTIVE' } }) },
    );
    await createGeminiClient({ baseUrl: 'http://s', transport, errors }).uploadFile({ size: 1, read: async () => new Uint8Array(1) }, { mimeType: '', displayName: 'x' });
    expect(requests[0]!.headers).not.toHaveProperty('x-goog-upload-header-content-type');
    expect(JSON.parse(requests[0]!.body as string)).toEqual({ file: { displayName: 'x' } });
  });

  it('lists models with the page size in the query', async () => {
    const { transport, requests } = scripted(() => ({ body: '{"models":[]}' }));
    await createGeminiClient({ baseUrl: 'http://s', apiVersion: 'v1', transport, errors }).listModels({ pageSize: 1 });
    expect(requests[0]?.url).toBe('http://s/v1/models?pageSize=1');
  });
});
