import { describe, expect, it } from 'vitest';
import { GeminiApiError, createGeminiClient, sseEvents } from '../../src/cli/gemini-client.js';
import { planParts } from '../../src/cli/image-inputs.js';

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield new TextEncoder().encode(p);
}
const collect = async <T>(it: AsyncIterable<T>) => {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
};

describe('sseEvents', () => {
  it('splits data events at blank lines, across chunk boundaries, CRLF or LF', async () => {
    const events = await collect(sseEvents(chunks('data: {"a":1}\r\n\r\nda', 'ta: {"b":2}\r\n', '\r\ndata: {"c":3}\n\n', 'data: {"d":4}')));
    expect(events).toEqual(['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}']);
  });
  it('joins multi-line data and ignores other fields', async () => {
    expect(await collect(sseEvents(chunks('event: x\nid: 1\ndata: [1,\ndata: 2]\n\n: comment\n\n')))).toEqual(['[1,\n2]']);
  });
});

/** A fetch that records calls and answers from a script. */
function fakeFetch(answer: (url: string, init: RequestInit) => Response) {
  const calls: Array<{ url: string; headers: Record<string, string>; body: Uint8Array | string | undefined }> = [];
  const f = (async (url: string | URL, init: RequestInit = {}) => {
    const body = init.body as Uint8Array | string | undefined;
    calls.push({ url: String(url), headers: { ...(init.headers as Record<string, string>) }, body });
    return answer(String(url), init);
  }) as typeof fetch;
  return { fetch: f, calls };
}

describe('createGeminiClient', () => {
  it('uploads in chunks at the right offsets, the last one finalizing, and reports progress', async () => {
    const data = Buffer.alloc(25, 7);
    const { fetch, calls } = fakeFetch((url, init) => {
      const h = init.headers as Record<string, string>;
      if (h['x-goog-upload-command'] === 'start')
        return new Response(null, { headers: { 'x-goog-upload-url': 'http://up.example/u?upload_id=1' } });
      if (h['x-goog-upload-command'] === 'upload, finalize')
        return Response.json({ file: { name: 'files/abc', uri: 'http://s/v1beta/files/abc', mimeType: 'image/png', state: 'ACTIVE' } });
      return new Response(null);
    });
    const client = createGeminiClient({ baseUrl: 'http://s/', apiKey: 'k', fetch });
    const progress: number[] = [];
    const file = await client.uploadFile(
      { size: data.length, read: async (o, l) => data.subarray(o, o + l) },
      { mimeType: 'image/png', chunkBytes: 10, onProgress: (sent) => progress.push(sent) },
    );
    expect(file.uri).toBe('http://s/v1beta/files/abc');
    expect(calls[0]?.url).toBe('http://s/upload/v1beta/files');
    expect(calls[0]?.headers).toMatchObject({ 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-header-content-length': '25', 'x-goog-api-key': 'k' });
    expect(calls.slice(1).map((c) => [c.url, c.headers['x-goog-upload-command'], c.headers['x-goog-upload-offset'], (c.body as Uint8Array).length])).toEqual([
      ['http://up.example/u?upload_id=1', 'upload', '0', 10],
      ['http://up.example/u?upload_id=1', 'upload', '10', 10],
      ['http://up.example/u?upload_id=1', 'upload, finalize', '20', 5],
    ]);
    expect(progress).toEqual([10, 20, 25]);
  });

  it('turns a FAILED file into an error carrying its message', async () => {
    const { fetch } = fakeFetch((_url, init) =>
      (init.headers as Record<string, string>)['x-goog-upload-command'] === 'start'
        ? new Response(null, { headers: { 'x-goog-upload-url': 'http://s/u' } })
        : Response.json({ file: { name: 'files/x', uri: 'u', mimeType: 'image/png', state: 'FAILED', error: { message: 'not an image' } } }),
    );
    const client = createGeminiClient({ baseUrl: 'http://s', fetch });
    await expect(client.uploadFile({ size: 3, read: async () => Buffer.from('abc') }, { mimeType: 'image/png' })).rejects.toThrow(/not an image/);
  });

  it('raises the Gemini error envelope of a failed call, and of an error event mid-stream', async () => {
    const envelope = { error: { code: 400, message: 'Unable to process input image.', status: 'INVALID_ARGUMENT' } };
    const failing = createGeminiClient({ baseUrl: 'http://s', fetch: fakeFetch(() => Response.json(envelope, { status: 400 })).fetch });
    const err = await failing.generateContent('gemini-2.5-flash', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GeminiApiError);
    expect(err).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT', message: 'Unable to process input image.' });

    const sse = `data: ${JSON.stringify({ candidates: [{ content: { parts: [{ text: 'Hel' }] } }] })}\r\n\r\ndata: ${JSON.stringify({ error: { code: 500, message: 'boom', status: 'INTERNAL' } })}\r\n\r\n`;
    const { fetch, calls } = fakeFetch(() => new Response(sse, { headers: { 'content-type': 'text/event-stream' } }));
    const streaming = createGeminiClient({ baseUrl: 'http://s', fetch });
    const texts: string[] = [];
    await expect(
      (async () => {
        for await (const c of streaming.streamGenerateContent('models/gemini-2.5-flash', {})) texts.push(c.candidates?.[0]?.content?.parts?.[0]?.text ?? '');
      })(),
    ).rejects.toThrow('boom');
    expect(texts).toEqual(['Hel']);
    expect(calls[0]?.url).toBe('http://s/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  });

  it('describes a non-Gemini error body and an unreachable server in words', async () => {
    const html = createGeminiClient({ baseUrl: 'http://s', fetch: fakeFetch(() => new Response('<h1>Bad gateway</h1>', { status: 502, statusText: 'Bad Gateway' })).fetch });
    await expect(html.generateContent('m', {})).rejects.toThrow('HTTP 502 Bad Gateway: <h1>Bad gateway</h1>');
    const down = createGeminiClient({ baseUrl: 'http://127.0.0.1:9', fetch: (async () => { throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }); }) as typeof fetch });
    await expect(down.generateContent('m', {})).rejects.toThrow('cannot reach http://127.0.0.1:9: ECONNREFUSED');
  });
});

describe('planParts', () => {
  it('inlines small images within the shared budget and uploads big ones or those that overflow it', () => {
    const MiB = 1024 * 1024;
    expect(planParts([1 * MiB, 16 * MiB, 2 * MiB])).toEqual(['inline', 'upload', 'inline']);
    expect(planParts([8 * MiB, 8 * MiB, 1 * MiB])).toEqual(['inline', 'upload', 'inline']);
    expect(planParts([10, 20], { forceUpload: true })).toEqual(['upload', 'upload']);
  });
});
