/**
 * An OpenAI-compatible VLM server (the mock, speaking the protocol) behind the real Ocellus
 * server, driven through the real SDKs (2.x on v1beta, 3.x on v1): answers stream through
 * as the VLM writes them with its own usage, JSON mode reaches the server as
 * response_format, detection comes back as Gemini's box_2d converted from Qwen2.5-VL's
 * pixels, failures are the SDK's ApiError with the mapped status, and a route falls back
 * to the next provider when the first is down.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFixture } from '../../support/fixtures.js';
import { startServer, type RunningServer } from '../../support/server.js';
import { apiError, expectDetections, MODEL, parseApiErrorMessage, SDKS } from '../../e2e/helpers.js';
import { closedPort, startMockOpenAi, type MockObject, type MockOpenAi } from './mock-server.js';

/** Where the mock says the objects are in dog.jpg (normalised x0, y0, x1, y1). */
const OBJECTS: MockObject[] = [
  { label: 'dog', box: [0.15, 0.36, 0.42, 0.94] },
  { label: 'bicycle', box: [0.18, 0.22, 0.73, 0.74] },
];
/** The same as Gemini writes them: [ymin, xmin, ymax, xmax] 0..1000. */
const BOX_2D = OBJECTS.map((o) => [o.box[1], o.box[0], o.box[3], o.box[2]].map((v) => Math.round(v * 1000)));

/** A model name routed through a provider that is down first. */
const FALLBACK_MODEL = 'gemini-2.0-flash';

let mock: MockOpenAi;
let server: RunningServer;
const dog = readFixture('dog.jpg');

beforeAll(async () => {
  mock = await startMockOpenAi({ model: 'qwen2.5vl:7b', objects: OBJECTS, maxPixels: 2 << 20, pieceDelayMs: 25 });
  const down = `http://127.0.0.1:${await closedPort()}/v1`;
  server = await startServer({
    routes: {
      providers: {
        vlm: { type: 'openai', baseUrl: `${mock.url}/v1`, model: 'qwen2.5vl:7b', timeoutMs: 700 },
        down: { type: 'openai', baseUrl: down, model: 'qwen2.5vl:7b' },
      },
      models: {
        '*': { answer: ['vlm'], detect: ['vlm', 'offline'] },
        [FALLBACK_MODEL]: { answer: ['down', 'vlm'], detect: ['down', 'vlm'] },
      },
    },
    flags: { engine: 'measurements' },
  });
});
afterAll(async () => {
  await server?.stop();
  await mock?.close();
});
afterEach(() => {
  mock.mode = { kind: 'ok' };
});

describe.each(SDKS)('$label', ({ sdk }) => {
  const { GoogleGenAI, createPartFromBase64, createUserContent } = sdk;
  const client = () => new GoogleGenAI({ apiKey: 'client-key', httpOptions: { baseUrl: server.baseUrl } });
  const dogContents = (prompt: string) => createUserContent([createPartFromBase64(dog.toString('base64'), 'image/jpeg'), prompt]);

  it("generateContent: the VLM's answer from the image it got, with its usage", async () => {
    const res = await client().models.generateContent({ model: MODEL, contents: dogContents('What is in this photo?'), config: { systemInstruction: 'Be terse.', temperature: 0.2 } });
    expect(res.text).toBe('Saw 1 image: 768x576. Prompt: "What is in this photo?".');
    expect(res.candidates?.[0]?.finishReason).toBe('STOP');
    const pieces = res.text!.match(/\S+\s*|\s+/g)!.length;
    expect(res.usageMetadata).toMatchObject({ promptTokenCount: 111, candidatesTokenCount: pieces, totalTokenCount: 111 + pieces });
    const got = mock.requests.at(-1)!;
    expect(got.body.messages[0]).toEqual({ role: 'system', content: 'Be terse.' });
    expect(got.body.temperature).toBe(0.2);
  });

  it('generateContentStream: chunks arrive as the VLM streams them', async () => {
    const chunks: Array<{ text: string; at: number }> = [];
    for await (const c of await client().models.generateContentStream({ model: MODEL, contents: dogContents('Caption it.') }))
      chunks.push({ text: c.text ?? '', at: performance.now() });
    expect(chunks.map((c) => c.text).join('')).toBe('Saw 1 image: 768x576. Prompt: "Caption it.".');
    expect(chunks.length).toBeGreaterThan(3);
    // 25 ms between the mock's pieces: the first chunk came well before the last.
    expect(chunks.at(-1)!.at - chunks[0]!.at).toBeGreaterThan(75);
  });

  it('JSON mode: the schema reaches the server as response_format, the answer is its JSON', async () => {
    const res = await client().models.generateContent({
      model: MODEL,
      contents: dogContents('How big is this photo?'),
      config: {
        responseMimeType: 'application/json',
        responseSchema: { type: sdk.Type.OBJECT, properties: { width: { type: sdk.Type.INTEGER }, height: { type: sdk.Type.INTEGER } }, required: ['width', 'height'] },
      },
    });
    expect(JSON.parse(res.text!)).toEqual({ width: 768, height: 576 });
    const format = mock.requests.at(-1)!.body.response_format!;
    expect(format.type).toBe('json_schema');
    expect(format.json_schema!.schema).toMatchObject({ type: 'object', properties: { width: { type: 'integer' }, height: { type: 'integer' } } });
  });

  it("detection: Qwen2.5-VL's pixel boxes come back as Gemini's box_2d", async () => {
    const res = await client().models.generateContent({
      model: MODEL,
      contents: dogContents('Detect the dog and the bicycle in the image. Output a JSON list with box_2d and label.'),
      config: { responseMimeType: 'application/json' },
    });
    const items = expectDetections(JSON.parse(res.text!));
    expect(items.map((i) => i.label)).toEqual(['dog', 'bicycle']);
    items.forEach((item, i) => item.box_2d.forEach((v, k) => expect(Math.abs(v - BOX_2D[i]![k]!), `${item.box_2d} vs ${BOX_2D[i]}`).toBeLessThanOrEqual(2)));
    const sent = mock.requests.at(-1)!;
    expect(sent.images[0]!.width % 28).toBe(0); // sent on Qwen's grid, so the server did not resize it again
    expect(sent.images[0]!.height % 28).toBe(0);
  });

  it('failures arrive as ApiError with the mapped status', async () => {
    const cases = [
      [{ kind: 'status', status: 429, body: { error: { message: 'Too many requests' } }, headers: { 'retry-after': '9' } }, 429, 'RESOURCE_EXHAUSTED'],
      [{ kind: 'status', status: 500, body: { error: { message: 'engine crashed' } } }, 503, 'UNAVAILABLE'],
      [{ kind: 'status', status: 400, body: { error: { message: 'image input is not supported', type: 'invalid_request_error' } } }, 400, 'INVALID_ARGUMENT'],
      [{ kind: 'slowHeaders', delayMs: 2500 }, 504, 'DEADLINE_EXCEEDED'],
    ] as const;
    for (const [mode, status, canonical] of cases) {
      mock.mode = mode;
      const err = await apiError(() => client().models.generateContent({ model: MODEL, contents: dogContents('What is in this photo?') }));
      expect(err.status, JSON.stringify(mode)).toBe(status);
      const body = parseApiErrorMessage(err);
      expect(body.error.status).toBe(canonical);
      expect(body.error.message).toContain('"vlm"');
    }
  });

  it('a provider that is down is a 503 when nothing follows it', async () => {
    const port = await closedPort();
    const alone = await startServer({
      routes: { providers: { vlm: { type: 'openai', baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm' } }, models: { '*': { answer: ['vlm'] } } },
      flags: { engine: 'measurements' },
    });
    try {
      const err = await apiError(() => new GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: alone.baseUrl } }).models.generateContent({ model: MODEL, contents: dogContents('What is this?') }));
      expect(err.status).toBe(503);
      expect(parseApiErrorMessage(err).error.status).toBe('UNAVAILABLE');
    } finally {
      await alone.stop();
    }
  });

  it('a stall or a dropped connection mid-stream reaches the stream as ApiError after the first chunks', async () => {
    for (const [mode, status] of [
      [{ kind: 'stall', pieces: 3 }, 504],
      [{ kind: 'drop', pieces: 3 }, 503],
      [{ kind: 'errorEvent', pieces: 3, error: { message: 'CUDA out of memory', code: 500 } }, 503],
    ] as const) {
      mock.mode = mode;
      const texts: string[] = [];
      const err = await apiError(async () => {
        for await (const c of await client().models.generateContentStream({ model: MODEL, contents: dogContents('Caption it.') })) texts.push(c.text ?? '');
      });
      expect(err.status, JSON.stringify(mode)).toBe(status);
      expect(texts.join('').length, JSON.stringify(mode)).toBeGreaterThan(0);
    }
  });

  it('falls back to the next provider when the first is down, for answers and detection', async () => {
    const res = await client().models.generateContent({ model: FALLBACK_MODEL, contents: dogContents('What is in this photo?') });
    expect(res.text).toBe('Saw 1 image: 768x576. Prompt: "What is in this photo?".');
    const det = await client().models.generateContent({
      model: FALLBACK_MODEL,
      contents: dogContents('Detect the dog in the image. Output a JSON list with box_2d and label.'),
      config: { responseMimeType: 'application/json' },
    });
    expect(expectDetections(JSON.parse(det.text!)).map((i) => i.label)).toEqual(['dog', 'bicycle']);
  });
});
