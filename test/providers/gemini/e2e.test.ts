/**
 * Upstream Gemini behind the real Ocellus server, driven through the real SDKs (2.x on
 * v1beta, 3.x on v1): answers and streams pass through with the upstream's usage, the Files
 * API flow mirrors a file upstream exactly once, upstream failures reach the client as the
 * SDK's ApiError with the mapped status, and a fallback route answers locally when the
 * upstream is down.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFixture, fixturePath } from '../../support/fixtures.js';
import { startServer, type RunningServer } from '../../support/server.js';
import { apiError, MODEL, parseApiErrorMessage, SDKS } from '../../e2e/helpers.js';
import { closedPort, startMockUpstream, type MockUpstream } from './mock-upstream.js';

let upstream: MockUpstream;
let server: RunningServer;
let fallback: RunningServer;
const dog = readFixture('dog.jpg');

beforeAll(async () => {
  upstream = await startMockUpstream({ apiKey: 'operator-key' });
  server = await startServer({
    routes: { providers: { upstream: { type: 'gemini', baseUrl: upstream.url, apiKey: 'operator-key', timeoutMs: 1500 } }, models: { '*': { all: ['upstream'] } } },
    flags: { engine: 'measurements' },
  });
  fallback = await startServer({
    routes: {
      providers: { upstream: { type: 'gemini', baseUrl: `http://127.0.0.1:${await closedPort()}`, apiKey: 'operator-key' } },
      models: { '*': { all: ['upstream', 'offline'] } },
    },
    flags: { engine: 'measurements' },
  });
});
afterAll(async () => {
  await Promise.all([server?.stop(), fallback?.stop()]);
  await upstream?.close();
});
afterEach(() => {
  upstream.fail = undefined;
});

describe.each(SDKS)('$label', ({ sdk }) => {
  const { GoogleGenAI, createPartFromBase64, createPartFromUri, createUserContent } = sdk;
  const client = (baseUrl = server.baseUrl) => new GoogleGenAI({ apiKey: 'client-key', httpOptions: { baseUrl } });
  const dogContents = (prompt = 'What is in this photo?') => createUserContent([createPartFromBase64(dog.toString('base64'), 'image/jpeg'), prompt]);

  it("generateContent passes the upstream's answer and usage through", async () => {
    const res = await client().models.generateContent({ model: MODEL, contents: dogContents(), config: { systemInstruction: 'Be terse.', temperature: 0.3 } });
    expect(res.text).toBe(`model=${MODEL} images=1 sizes=${dog.length} files=none system=Be terse. config={"temperature":0.3} prompt=What is in this photo?`);
    expect(res.candidates?.[0]?.finishReason).toBe('STOP');
    expect(res.usageMetadata).toMatchObject({ promptTokenCount: 268, candidatesTokenCount: 15, thoughtsTokenCount: 7, totalTokenCount: 290 });
    // the client's key stays with Ocellus; upstream gets the operator's
    expect(upstream.generateRequests.at(-1)!.headers['x-goog-api-key']).toBe('operator-key');
  });

  it('generateContentStream passes the deltas through, finishReason and upstream usage on the last chunk', async () => {
    const chunks = [];
    for await (const c of await client().models.generateContentStream({ model: MODEL, contents: dogContents('Caption it.') })) chunks.push(c);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(chunks.map((c) => c.text ?? '').join('')).toBe(`model=${MODEL} images=1 sizes=${dog.length} files=none system=none prompt=Caption it.`);
    expect(chunks.at(-1)!.candidates?.[0]?.finishReason).toBe('STOP');
    expect(chunks.at(-1)!.usageMetadata).toMatchObject({ promptTokenCount: 268, candidatesTokenCount: 15, thoughtsTokenCount: 7 });
  });

  it('Files API: a file uploaded to Ocellus and asked about twice is uploaded upstream once', async () => {
    const ai = client();
    const file = await ai.files.upload({ file: fixturePath('dog.jpg'), config: { mimeType: 'image/jpeg' } });
    expect(file.uri).toContain(server.baseUrl);
    const before = upstream.uploads;
    const ask = () => ai.models.generateContent({ model: MODEL, contents: createUserContent([createPartFromUri(file.uri!, file.mimeType!), 'Caption this image.']) });
    const [a, b] = [await ask(), await ask()];
    expect(a.text).toMatch(new RegExp(`images=1 sizes=${dog.length} files=files/[0-9a-f]+\\(${dog.length}B image/jpeg\\)`));
    expect(b.text).toBe(a.text);
    expect(upstream.uploads - before).toBe(1);
  });

  it('upstream failures arrive as ApiError with the mapped status', async () => {
    const ai = client();
    const cases = [
      [{ kind: 'rate-limit', retryAfter: '9' }, 429, 'RESOURCE_EXHAUSTED'],
      [{ kind: 'server-error' }, 503, 'UNAVAILABLE'],
      [{ kind: 'bad-request', message: 'Request contains an invalid argument.' }, 400, 'INVALID_ARGUMENT'],
      [{ kind: 'slow', ms: 4000 }, 504, 'DEADLINE_EXCEEDED'],
      // the operator's key refused: a server-side failure, not the client's
      [{ kind: 'forbidden', message: 'Permission denied: Consumer has been suspended.' }, 503, 'UNAVAILABLE'],
    ] as const;
    for (const [fail, status, canonical] of cases) {
      upstream.fail = fail;
      const err = await apiError(() => ai.models.generateContent({ model: MODEL, contents: dogContents() }));
      expect(err.status, JSON.stringify(fail)).toBe(status);
      const body = parseApiErrorMessage(err);
      expect(body.error.status).toBe(canonical);
      expect(body.error.message).toContain('"upstream"');
      if (fail.kind === 'forbidden') expect(body.error.message).toMatch(/refused the server operator's API key/);
    }
  });

  it('an error event mid-stream reaches the stream as ApiError', async () => {
    upstream.fail = { kind: 'error-event' };
    const texts: string[] = [];
    const err = await apiError(async () => {
      for await (const c of await client().models.generateContentStream({ model: MODEL, contents: dogContents() })) texts.push(c.text ?? '');
    });
    expect(err.status).toBe(503);
    expect(err.message).toContain('boom mid-stream');
  });

  it('a fallback route answers locally when the upstream is down', async () => {
    const res = await client(fallback.baseUrl).models.generateContent({ model: MODEL, contents: dogContents('Caption this image.') });
    expect(res.text).toBeTruthy();
    expect(res.text).not.toMatch(/^model=/); // not the mock's answer
    expect(res.candidates?.[0]?.finishReason).toBe('STOP');
  });
});
