/**
 * The pure parts of the upstream Gemini provider: which fileUris are ours, how the request
 * is rewritten, what text and usage a chunk carries, how errors map, and when a mirrored
 * file stops being used.
 */
import { describe, expect, it } from 'vitest';
import { buildUpstreamRequest, classifyFileUri, fileUrisOf } from '../../../src/providers/gemini/request.js';
import { apiUrl as upstreamUrl, modelPath } from '../../../src/providers/gemini/client/urls.js';
import { chunkReport, chunkText } from '../../../src/providers/gemini/stream.js';
import { geminiError, isKeyRefusal, parseErrorBody, retryDelayOf, UpstreamFileError } from '../../../src/providers/gemini/errors.js';
import { createFileMirror, usableUntil } from '../../../src/providers/gemini/file-mirror.js';
import { onUpstreamOrigin } from '../../../src/providers/gemini/upload.js';
import { generateContentRequestSchema, parseRequest } from '../../../src/wire/request.js';

const UPSTREAM = 'https://generativelanguage.googleapis.com';

describe('classifyFileUri', () => {
  it('recognises our short names and our absolute uris on any host and version', () => {
    expect(classifyFileUri('files/abc123', UPSTREAM)).toEqual({ kind: 'local', ref: 'files/abc123' });
    expect(classifyFileUri('http://127.0.0.1:8080/v1beta/files/abc123', UPSTREAM).kind).toBe('local');
    expect(classifyFileUri('https://ocellus.example/prefix/v1/files/abc123', UPSTREAM).kind).toBe('local');
  });
  it('forwards upstream files, external URLs and other schemes unchanged', () => {
    expect(classifyFileUri(`${UPSTREAM}/v1beta/files/abc123`, UPSTREAM).kind).toBe('forward');
    expect(classifyFileUri('https://example.com/photos/cat.jpg', UPSTREAM).kind).toBe('forward');
    expect(classifyFileUri('gs://bucket/files/abc', UPSTREAM).kind).toBe('forward');
    expect(classifyFileUri('https://www.youtube.com/watch?v=9hE5-98ZeCg', UPSTREAM).kind).toBe('forward');
  });
});

const wire = (body: unknown) => parseRequest(generateContentRequestSchema, body);

describe('buildUpstreamRequest', () => {
  const req = wire({
    model: 'models/gemini-2.5-flash',
    contents: [
      {
        role: 'user',
        parts: [
          { text: 'Describe.' },
          { inline_data: { mime_type: 'image/png', data: 'iVBORw0KGgo=' } },
          { file_data: { file_uri: 'files/abc' } },
          { fileData: { fileUri: 'https://example.com/x.jpg', mimeType: 'image/jpeg' }, mediaResolution: { level: 'MEDIA_RESOLUTION_HIGH' } },
        ],
      },
    ],
    systemInstruction: { role: 'user', parts: [{ text: 'Be terse.' }] },
    safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }],
    tools: [{ codeExecution: {} }],
    generationConfig: { temperature: 0.2, candidateCount: 2, thinkingConfig: { thinking_budget: 0 }, responseSchema: { type: 'OBJECT', properties: { my_label: { type: 'STRING' } } } },
  });

  it('swaps our files for their upstream copies and keeps everything else', () => {
    const out = buildUpstreamRequest(req, new Map([['files/abc', { uri: `${UPSTREAM}/v1beta/files/up1`, mimeType: 'image/png' }]]));
    expect(out).toEqual({
      contents: [
        {
          role: 'user',
          parts: [
            { text: 'Describe.' },
            { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
            { fileData: { fileUri: `${UPSTREAM}/v1beta/files/up1`, mimeType: 'image/png' } },
            { fileData: { fileUri: 'https://example.com/x.jpg', mimeType: 'image/jpeg' }, mediaResolution: { level: 'MEDIA_RESOLUTION_HIGH' } },
          ],
        },
      ],
      systemInstruction: { role: 'user', parts: [{ text: 'Be terse.' }] },
      safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }],
      tools: [{ codeExecution: {} }],
      // candidateCount is asked once per candidate by the service; property names inside the schema stay as written
      generationConfig: { temperature: 0.2, thinkingConfig: { thinkingBudget: 0 }, responseSchema: { type: 'OBJECT', properties: { my_label: { type: 'STRING' } } } },
    });
    expect(out).not.toHaveProperty('model');
  });

  it("keeps the client's mimeType over the copy's", () => {
    const r = wire({ contents: [{ parts: [{ fileData: { fileUri: 'files/abc', mimeType: 'image/webp' } }] }] });
    const out = buildUpstreamRequest(r, new Map([['files/abc', { uri: 'u', mimeType: 'image/png' }]])) as { contents: Array<{ parts: unknown[] }> };
    expect(out.contents[0]!.parts[0]).toEqual({ fileData: { fileUri: 'u', mimeType: 'image/webp' } });
  });

  it('lists every distinct fileUri once', () => {
    const r = wire({
      contents: [{ parts: [{ fileData: { fileUri: 'files/a' } }, { fileData: { fileUri: 'files/b' } }] }, { role: 'model', parts: [{ text: 'ok' }] }, { parts: [{ fileData: { fileUri: 'files/a' } }] }],
    });
    expect(fileUrisOf(r)).toEqual(['files/a', 'files/b']);
  });

  it('builds upstream URLs', () => {
    expect(upstreamUrl('http://h:1/', 'v1beta', `${modelPath('gemini-2.5-flash')}:streamGenerateContent?alt=sse`)).toBe(
      'http://h:1/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
    );
    expect(modelPath('models/gemini-2.5-pro')).toBe('models/gemini-2.5-pro');
    expect(modelPath('tunedModels/mine')).toBe('tunedModels/mine');
  });

  it("keeps the upload URL's path and query but the upstream's origin", () => {
    expect(onUpstreamOrigin('http://upload.example.invalid:9/upload/v1beta/files?upload_id=x&upload_protocol=resumable', 'http://127.0.0.1:5555', 'g')).toBe(
      'http://127.0.0.1:5555/upload/v1beta/files?upload_id=x&upload_protocol=resumable',
    );
    expect(() => onUpstreamOrigin('/relative', 'http://127.0.0.1:5555', 'g')).toThrow(/not an absolute URL/);
  });
});

describe('chunks', () => {
  it('joins the text parts of candidate 0 and skips thoughts', () => {
    expect(chunkText({ candidates: [{ content: { parts: [{ text: 'hmm', thought: true }, { text: 'A ' }, { text: 'dog.' }] } }, { content: { parts: [{ text: 'other' }] } }] })).toBe('A dog.');
    expect(chunkText({})).toBe('');
    expect(chunkText({ candidates: [{ finishReason: 'STOP' }] })).toBe('');
  });
  it('reports usage and finish reasons, and a blocked prompt as its blockReason', () => {
    expect(chunkReport({ candidates: [{ content: { parts: [{ text: 'x' }] } }] })).toBeUndefined();
    expect(chunkReport({ usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 49, thoughtsTokenCount: 2042 }, candidates: [{ finishReason: 'STOP' }] })).toEqual({
      usage: { promptTokenCount: 4, candidatesTokenCount: 49, thoughtsTokenCount: 2042 },
      finishReason: 'STOP',
    });
    expect(chunkReport({ promptFeedback: { blockReason: 'SAFETY' } })).toEqual({ finishReason: 'SAFETY' });
  });
});

describe('errors', () => {
  const keyInvalid = parseErrorBody(
    JSON.stringify({ error: { code: 400, message: 'API key not valid. Please pass a valid API key.', status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }] } }),
  );
  it("says the operator's key was refused, as a server-side 503", () => {
    for (const [status, body] of [[400, keyInvalid], [401, { message: 'Request had invalid authentication credentials.' }], [403, { message: "Method doesn't allow unregistered callers" }]] as const) {
      const e = geminiError('up', status, body);
      expect(e.httpStatus).toBe(503);
      expect(e.status).toBe('UNAVAILABLE');
      expect(e.message).toMatch(/refused the server operator's API key/);
      expect(e.message).toMatch(/not a problem with your request/);
    }
  });
  it('keeps a 403 about a File apart from a key refusal', () => {
    const body = { message: 'You do not have permission to access the File abc or it may not exist.' };
    expect(isKeyRefusal(403, body)).toBe(false);
    const e = geminiError('up', 403, body);
    expect(e).toBeInstanceOf(UpstreamFileError);
    expect(e.httpStatus).toBe(403);
  });
  it('maps 400, 429 (Retry-After or RetryInfo), 5xx', () => {
    const bad = geminiError('up', 400, { message: 'Invalid value at generation_config.temperature' });
    expect([bad.httpStatus, bad.status]).toEqual([400, 'INVALID_ARGUMENT']);
    expect(bad.message).toBe('The model provider "up" rejected the request (HTTP 400): Invalid value at generation_config.temperature');
    const limited = geminiError('up', 429, { message: 'quota', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '12.5s' }] });
    expect([limited.httpStatus, limited.headers['Retry-After']]).toEqual([429, '13']);
    expect(geminiError('up', 429, { message: 'quota' }, '7').headers['Retry-After']).toBe('7');
    const down = geminiError('up', 500, { message: 'An internal error has occurred.' });
    expect([down.httpStatus, down.status, down.retryable]).toEqual([503, 'UNAVAILABLE', true]);
  });
  it('reads envelopes, streamed arrays and non-JSON bodies', () => {
    expect(parseErrorBody('[{"error":{"code":500,"message":"x"}}]')).toEqual({ code: 500, message: 'x' });
    expect(parseErrorBody('<html><body>502   Bad Gateway</body></html>').message).toBe('<html><body>502 Bad Gateway</body></html>');
    expect(retryDelayOf({ details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '3s' }] })).toBe(3);
    expect(retryDelayOf({ details: ['junk', null] })).toBeUndefined();
  });
});

describe('file mirror', () => {
  const file = { name: 'files/abc', mimeType: 'image/png', path: '/nowhere', sha256Hex: 'aa' };
  const setup = (expiresInMs: number) => {
    let t = 1_000_000_000_000;
    let n = 0;
    let release: () => void = () => undefined;
    let gate: Promise<void> = Promise.resolve();
    const mirror = createFileMirror({
      now: () => t,
      marginMs: 60_000,
      upload: async () => {
        n++;
        await gate;
        return { name: `files/up${n}`, uri: `u${n}`, mimeType: 'image/png', expirationTime: new Date(t + expiresInMs).toISOString() };
      },
    });
    return {
      mirror,
      uploads: () => n,
      advance: (ms: number) => (t += ms),
      hold: () => (gate = new Promise((r) => (release = r))),
      release: () => release(),
    };
  };

  it('reuses a copy until its expirationTime minus the margin, then uploads again', async () => {
    const m = setup(3600_000);
    expect((await m.mirror.get('p', file)).uri).toBe('u1');
    m.advance(3600_000 - 60_001);
    expect((await m.mirror.get('p', file)).uri).toBe('u1');
    m.advance(2);
    expect((await m.mirror.get('p', file)).uri).toBe('u2');
    expect(m.uploads()).toBe(2);
  });

  it('keys copies by project, name and content hash', async () => {
    const m = setup(3600_000);
    await m.mirror.get('p', file);
    await m.mirror.get('q', file);
    await m.mirror.get('p', { ...file, sha256Hex: 'bb' });
    await m.mirror.get('p', file);
    expect(m.uploads()).toBe(3);
  });

  it('shares one upload between concurrent requests, and a caller that leaves does not fail the others', async () => {
    const m = setup(3600_000);
    m.hold();
    const leaving = new AbortController();
    const a = m.mirror.get('p', file, leaving.signal);
    const b = m.mirror.get('p', file);
    const c = m.mirror.get('p', file);
    leaving.abort(new Error('client left'));
    await expect(a).rejects.toThrow('client left');
    expect(m.mirror.uploading).toBe(1);
    m.release();
    expect((await b).uri).toBe('u1');
    expect((await c).uri).toBe('u1');
    expect(m.uploads()).toBe(1);
  });

  it('does not remember a failed upload, and forgets copies the upstream lost', async () => {
    let fail = true;
    let n = 0;
    const mirror = createFileMirror({
      upload: async () => {
        n++;
        if (fail) throw new Error('upstream down');
        return { name: `files/up${n}`, uri: `u${n}`, mimeType: 'image/png' };
      },
    });
    await expect(mirror.get('p', file)).rejects.toThrow('upstream down');
    fail = false;
    expect((await mirror.get('p', file)).name).toBe('files/up2');
    expect(mirror.forget(['files/up2'])).toBe(1);
    expect((await mirror.get('p', file)).name).toBe('files/up3');
  });

  it('assumes a short life when the upstream gives no expirationTime', () => {
    expect(usableUntil({ name: 'f', uri: 'u', mimeType: 'm' }, 0, 10, 1000)).toBe(990);
    expect(usableUntil({ name: 'f', uri: 'u', mimeType: 'm', expirationTime: '1970-01-01T00:00:05Z' }, 0, 10, 1000)).toBe(4990);
  });
});
