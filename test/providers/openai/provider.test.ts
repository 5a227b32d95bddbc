/**
 * The OpenAI-compatible provider against a mock server that speaks the protocol and checks
 * what it gets (mock-server.ts), with provider contexts built by hand as the router builds them.
 */
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAiProvider } from '../../../src/providers/openai/provider.js';
import { ProviderError } from '../../../src/providers/provider-errors.js';
import type { EngineReport, InputTurn, OutputFormat } from '../../../src/seam/request.js';
import { DEFAULT_MODELS } from '../../../src/engine/model-catalog.js';
import type { ProviderContext } from '../../../src/seam/provider.js';
import type { OpenAiProviderSpec } from '../../../src/providers/openai/config.js';
import { decodeImage, type DecodedImage } from '../../../src/media/decode.js';
import type { GenerationConfig } from '../../../src/wire/request.js';
import { closedPort, startMockOpenAi, type MockObject, type MockOpenAi } from './mock-server.js';

const logger = pino({ level: 'silent' });

async function image(width: number, height: number): Promise<DecodedImage> {
  const png = await sharp({ create: { width, height, channels: 3, background: { r: 200, g: 120, b: 40 } } }).png().toBuffer();
  return decodeImage(png, { partLabel: 'contents[0].parts[0].inlineData', maxPixels: 1e9 });
}

interface CtxOptions {
  images?: DecodedImage[];
  prompt?: string;
  output?: OutputFormat;
  generationConfig?: GenerationConfig;
  systemInstruction?: string;
  signal?: AbortSignal;
  turns?: InputTurn[];
}

function context(o: CtxOptions = {}): ProviderContext & { reports: EngineReport[] } {
  const prompt = o.prompt ?? 'What is in this picture?';
  const turns: InputTurn[] = o.turns ?? [
    {
      role: 'user',
      parts: [...(o.images ?? []).map((img, i) => ({ kind: 'image' as const, label: `contents[0].parts[${i}].inlineData`, image: img })), { kind: 'text', text: prompt }],
    },
  ];
  const reports: EngineReport[] = [];
  return {
    model: DEFAULT_MODELS.find((m) => m.id === 'gemini-2.5-flash')!,
    project: 'test',
    wire: { contents: [{ role: 'user', parts: [{ text: prompt }] }], ...(o.generationConfig ? { generationConfig: o.generationConfig } : {}) },
    turns,
    ...(o.systemInstruction ? { systemInstruction: o.systemInstruction } : {}),
    output: o.output ?? { mimeType: 'text/plain' },
    signal: o.signal ?? new AbortController().signal,
    plan: { lang: 'en', task: { kind: 'caption', detail: 'short' }, json: false },
    capability: 'answer',
    prompt,
    report: (r) => void reports.push(r),
    reports,
  };
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const p of it) out.push(p);
  return out;
}

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    expect(err, String(err)).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('expected a provider error');
}

const OBJECTS: MockObject[] = [
  { label: 'dog', box: [0.15, 0.36, 0.42, 0.94] },
  { label: 'bicycle', box: [0.18, 0.22, 0.73, 0.74] },
];

let mock: MockOpenAi;
let dog: DecodedImage; // dog.jpg's size
let big: DecodedImage; // big.png's size: above Ollama's 2 MiP budget
const spec = (over: Partial<OpenAiProviderSpec> = {}): OpenAiProviderSpec => ({ type: 'openai', baseUrl: `${mock.url}/v1`, model: mock.options.model, ...over });

beforeAll(async () => {
  // Ollama's Qwen2.5-VL budget, so an image sent as it is would be resized by the server.
  mock = await startMockOpenAi({ model: 'qwen2.5vl:7b', objects: OBJECTS, maxPixels: 2 << 20, pieceDelayMs: 15 });
  [dog, big] = await Promise.all([image(768, 576), image(2048, 1536)]);
});
afterAll(async () => {
  await mock.close();
});

describe('answers', () => {
  it('forwards the conversation with the image and streams the answer as it comes, with the real usage', async () => {
    mock.mode = { kind: 'ok' };
    const provider = createOpenAiProvider('vlm', spec(), { logger, timeoutMs: 5000 });
    const ctx = context({ images: [dog], prompt: 'Caption this image.', systemInstruction: 'Be brief.' });
    const times: number[] = [];
    const pieces: string[] = [];
    for await (const p of provider.generate!(ctx)) {
      pieces.push(p);
      times.push(performance.now());
    }
    expect(pieces.join('')).toBe('Saw 1 image: 768x576. Prompt: "Caption this image.".');
    expect(pieces.length).toBeGreaterThan(3);
    // Pieces arrive as the mock sends them (15 ms apart), not all at the end.
    expect(times.at(-1)! - times[0]!).toBeGreaterThan(30);
    const got = mock.requests.at(-1)!;
    expect(got.body.stream).toBe(true);
    expect(got.body.stream_options).toEqual({ include_usage: true });
    expect(got.body.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(got.images).toEqual([{ width: 768, height: 576, format: 'jpeg' }]);
    expect(ctx.reports).toContainEqual({ usage: { promptTokenCount: 111, candidatesTokenCount: pieces.length } });
    expect(ctx.reports).toContainEqual({ finishReason: 'STOP' });
  });

  it('scales images down to maxImageSide, keeping their shape', async () => {
    const provider = createOpenAiProvider('vlm', spec({ maxImageSide: 1024 }), { logger, timeoutMs: 5000 });
    const text = (await collect(provider.generate!(context({ images: [big, dog] })))).join('');
    expect(text).toContain('Saw 2 images: 1024x768, 768x576.');
    expect(mock.requests.at(-1)!.images.map((i) => [i.width, i.height])).toEqual([
      [1024, 768],
      [768, 576],
    ]);
  });

  it('forwards the sampling settings and a bearer key', async () => {
    const provider = createOpenAiProvider('vlm', spec({ apiKey: 'sk-local' }), { logger, timeoutMs: 5000 });
    await collect(provider.generate!(context({ images: [dog], generationConfig: { temperature: 0.1, topP: 0.5, topK: 3, maxOutputTokens: 64, seed: 9 } })));
    const got = mock.requests.at(-1)!;
    expect(got.headers.authorization).toBe('Bearer sk-local');
    expect(got.body).toMatchObject({ temperature: 0.1, top_p: 0.5, top_k: 3, max_tokens: 64, seed: 9 });
  });

  it('JSON mode: json_schema with the schema, the answer whole and unfenced', async () => {
    const provider = createOpenAiProvider('vlm', spec(), { logger, timeoutMs: 5000 });
    const schema = { type: 'object', properties: { width: { type: 'integer' }, height: { type: 'integer' } }, required: ['width', 'height'] };
    const pieces = await collect(provider.generate!(context({ images: [dog], output: { mimeType: 'application/json', jsonSchema: schema } })));
    expect(pieces).toEqual(['{"width":768,"height":576}']);
    expect(mock.requests.at(-1)!.body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema } });

    const noSchemas = createOpenAiProvider('vlm', spec({ jsonSchema: false }), { logger, timeoutMs: 5000 });
    const fenced = await collect(noSchemas.generate!(context({ images: [dog], output: { mimeType: 'application/json', jsonSchema: schema } })));
    expect(mock.requests.at(-1)!.body.response_format).toEqual({ type: 'json_object' });
    expect(JSON.parse(fenced.join(''))).toEqual({ width: 768, height: 576 }); // the mock fenced it; the fence is gone
  });

  it('enum mode answers the bare value', async () => {
    const provider = createOpenAiProvider('vlm', spec(), { logger, timeoutMs: 5000 });
    const pieces = await collect(provider.generate!(context({ images: [dog], output: { mimeType: 'text/x.enum', jsonSchema: { type: 'string', enum: ['cat', 'dog'] } } })));
    expect(pieces).toEqual(['dog']);
  });

  it('a server that answers whole despite stream: true is read as one completion', async () => {
    const whole = await startMockOpenAi({ model: 'llava:7b', ignoreStream: true, finishReason: 'length' });
    try {
      const provider = createOpenAiProvider('vlm', { type: 'openai', baseUrl: `${whole.url}/v1`, model: 'llava:7b' }, { logger, timeoutMs: 5000 });
      const ctx = context({ images: [dog], prompt: 'Hi.' });
      expect(await collect(provider.generate!(ctx))).toEqual(['Saw 1 image: 768x576. Prompt: "Hi.".']);
      expect(ctx.reports).toEqual([{ usage: { promptTokenCount: 111, candidatesTokenCount: 6 }, finishReason: 'MAX_TOKENS' }]); // the mock's 6 pieces
    } finally {
      await whole.close();
    }
  });

  it('finish_reason length is reported as MAX_TOKENS', async () => {
    const short = await startMockOpenAi({ model: 'llava:7b', finishReason: 'length' });
    try {
      const provider = createOpenAiProvider('vlm', { type: 'openai', baseUrl: `${short.url}/v1`, model: 'llava:7b' }, { logger, timeoutMs: 5000 });
      const ctx = context({ images: [dog] });
      await collect(provider.generate!(ctx));
      expect(ctx.reports).toContainEqual({ finishReason: 'MAX_TOKENS' });
    } finally {
      await short.close();
    }
  });
});

describe('detection', () => {
  const near = (got: number[], want: number[], tolerance: number) => got.forEach((v, i) => expect(Math.abs(v - want[i]!), `${got} vs ${want}`).toBeLessThan(tolerance));

  it("Qwen2.5-VL: sends a 28-grid image the server keeps as it is, and turns its pixel boxes back into the objects' boxes", async () => {
    const provider = createOpenAiProvider('vlm', spec(), { logger, timeoutMs: 5000 });
    const ctx = context({ images: [big], prompt: 'Detect the dog and the bicycle.' });
    const found = await provider.detect!(ctx, { phrase: 'dog and bicycle', all: false });
    const sent = mock.requests.at(-1)!;
    expect(sent.images[0]!.width % 28).toBe(0);
    expect(sent.images[0]!.height % 28).toBe(0);
    expect(sent.images[0]!.width * sent.images[0]!.height).toBeLessThanOrEqual(2 << 20);
    expect(found.map((f) => f.label)).toEqual(['dog', 'bicycle']);
    // The mock answers whole pixels of a ~1148×840 input: within 1/800 of the truth.
    for (const [i, o] of OBJECTS.entries()) near(found[i]!.box, o.box, 1 / 800);
    expect(found.every((f) => f.image === 0)).toBe(true);
    expect(ctx.reports).toEqual([{ usage: { promptTokenCount: 111, candidatesTokenCount: expect.any(Number) } }]);
  });

  it('asks each image in its own call and numbers the results by image', async () => {
    const provider = createOpenAiProvider('vlm', spec(), { logger, timeoutMs: 5000 });
    const before = mock.requests.length;
    const found = await provider.detect!(context({ images: [dog, big] }), { phrase: '', all: true });
    expect(mock.requests.length - before).toBe(2);
    expect(mock.requests.slice(before).map((r) => r.images.length)).toEqual([1, 1]);
    expect(mock.requests.at(-1)!.body.messages[0]!.content).toContainEqual({ type: 'text', text: expect.stringContaining('all prominent objects') });
    expect(found.map((f) => [f.image, f.label])).toEqual([
      [0, 'dog'],
      [0, 'bicycle'],
      [1, 'dog'],
      [1, 'bicycle'],
    ]);
    for (const f of found) near(f.box, OBJECTS.find((o) => o.label === f.label)!.box, 1 / 500);
  });

  it.each([['qwen3-vl:8b'], ['OpenGVLab/InternVL3-8B'], ['llava:13b']])('%s: its own format, the same boxes', async (model) => {
    const other = await startMockOpenAi({ model, objects: OBJECTS });
    try {
      const provider = createOpenAiProvider('vlm', { type: 'openai', baseUrl: `${other.url}/v1`, model }, { logger, timeoutMs: 5000 });
      const found = await provider.detect!(context({ images: [dog] }), { phrase: 'dog', all: false });
      expect(found.map((f) => f.label)).toEqual(['dog', 'bicycle']);
      for (const [i, o] of OBJECTS.entries()) near(found[i]!.box, o.box, 1 / 999);
      expect(other.requests[0]!.images).toEqual([{ width: 768, height: 576, format: 'jpeg' }]);
    } finally {
      await other.close();
    }
  });

  it('the wrong family (a Qwen2.5-VL server declared generic) gives wrong boxes: the family matters', async () => {
    const provider = createOpenAiProvider('vlm', spec({ family: 'generic' }), { logger, timeoutMs: 5000 });
    const found = await provider.detect!(context({ images: [dog] }), { phrase: 'dog', all: false });
    // The mock still answers Qwen2.5 pixels; read as Gemini 0..1000 y-first they land elsewhere.
    expect(found.some((f) => Math.abs(f.box[0] - OBJECTS[0]!.box[0]) < 0.01)).toBe(false);
  });
});

describe('failures are Gemini statuses', () => {
  const fast = () => createOpenAiProvider('vlm', spec({ timeoutMs: 300 }), { logger, timeoutMs: 5000 });

  it('429 with Retry-After → 429 RESOURCE_EXHAUSTED, Retry-After forwarded', async () => {
    mock.mode = { kind: 'status', status: 429, body: { error: { message: 'Too many requests', type: 'rate_limit' } }, headers: { 'retry-after': '7' } };
    const err = await failure(collect(fast().generate!(context({ images: [dog] }))));
    expect([err.httpStatus, err.status, err.headers['Retry-After']]).toEqual([429, 'RESOURCE_EXHAUSTED', '7']);
    expect(err.message).toContain('Too many requests');
  });

  it('500 → 503 UNAVAILABLE, retryable', async () => {
    mock.mode = { kind: 'status', status: 500, body: { error: { message: 'engine crashed' } } };
    const err = await failure(collect(fast().generate!(context({ images: [dog] }))));
    expect([err.httpStatus, err.status, err.retryable]).toEqual([503, 'UNAVAILABLE', true]);
  });

  it("400 → 400 naming the provider and carrying the server's message", async () => {
    mock.mode = { kind: 'status', status: 400, body: { error: { message: 'image input is not supported by this model', type: 'invalid_request_error' } } };
    const err = await failure(collect(fast().generate!(context({ images: [dog] }))));
    expect([err.httpStatus, err.status, err.retryable]).toEqual([400, 'INVALID_ARGUMENT', false]);
    expect(err.message).toMatch(/"vlm".*image input is not supported/);
  });

  it('a wrong model name is the 404 the server answers, as a 400 that says so', async () => {
    mock.mode = { kind: 'ok' };
    const provider = createOpenAiProvider('vlm', spec({ model: 'qwen2.5vl:3b', timeoutMs: 300 }), { logger, timeoutMs: 5000 });
    const err = await failure(collect(provider.generate!(context({ images: [dog] }))));
    expect(err.httpStatus).toBe(400);
    expect(err.message).toContain('not found');
  });

  it('headers later than the timeout → 504 DEADLINE_EXCEEDED, in about the timeout', async () => {
    mock.mode = { kind: 'slowHeaders', delayMs: 2000 };
    const t0 = performance.now();
    const err = await failure(collect(fast().generate!(context({ images: [dog] }))));
    expect([err.httpStatus, err.status]).toEqual([504, 'DEADLINE_EXCEEDED']);
    expect(performance.now() - t0).toBeLessThan(1500);
  });

  it('a stall mid-stream → 504 from the iterator, after the pieces that came', async () => {
    mock.mode = { kind: 'stall', pieces: 2 };
    const pieces: string[] = [];
    const err = await failure(
      (async () => {
        for await (const p of fast().generate!(context({ images: [dog] }))) pieces.push(p);
      })(),
    );
    expect(pieces).toHaveLength(2);
    expect(err.httpStatus).toBe(504);
  });

  it('a dropped connection mid-stream → 503 from the iterator', async () => {
    mock.mode = { kind: 'drop', pieces: 2 };
    const pieces: string[] = [];
    const err = await failure(
      (async () => {
        for await (const p of fast().generate!(context({ images: [dog] }))) pieces.push(p);
      })(),
    );
    expect(pieces).toHaveLength(2);
    expect(err.httpStatus).toBe(503);
  });

  it('an error event mid-stream → its status', async () => {
    mock.mode = { kind: 'errorEvent', pieces: 1, error: { message: 'CUDA out of memory', code: 500 } };
    const err = await failure(collect(fast().generate!(context({ images: [dog] }))));
    expect(err.httpStatus).toBe(503);
    expect(err.message).toContain('CUDA out of memory');
  });

  it('detection fails the same ways', async () => {
    mock.mode = { kind: 'slowHeaders', delayMs: 2000 };
    expect((await failure(fast().detect!(context({ images: [dog] }), { phrase: 'dog', all: false }))).httpStatus).toBe(504);
    mock.mode = { kind: 'status', status: 429, body: { error: { message: 'busy' } }, headers: { 'retry-after': '3' } };
    expect((await failure(fast().detect!(context({ images: [dog] }), { phrase: 'dog', all: false }))).headers['Retry-After']).toBe('3');
  });

  it('a closed port → 503 UNAVAILABLE with Retry-After, at once', async () => {
    const port = await closedPort();
    const provider = createOpenAiProvider('vlm', { type: 'openai', baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm' }, { logger, timeoutMs: 5000 });
    const t0 = performance.now();
    const err = await failure(collect(provider.generate!(context({ images: [dog] }))));
    expect([err.httpStatus, err.status, err.headers['Retry-After']]).toEqual([503, 'UNAVAILABLE', '5']);
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('the client leaving aborts the call instead of waiting for the server', async () => {
    mock.mode = { kind: 'slowHeaders', delayMs: 3000 };
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const t0 = performance.now();
    await expect(collect(createOpenAiProvider('vlm', spec(), { logger, timeoutMs: 5000 }).generate!(context({ images: [dog], signal: abort.signal })))).rejects.toThrow();
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('the provider itself', () => {
  it('describes itself, lists its capabilities and honours a restriction', () => {
    const p = createOpenAiProvider('ollama', { type: 'openai', baseUrl: 'http://127.0.0.1:11434/v1/', model: 'qwen2.5vl:7b' }, { logger, timeoutMs: 1000 });
    expect(p.describe()).toBe('qwen2.5vl:7b at http://127.0.0.1:11434/v1 (OpenAI-compatible)');
    expect([p.kind, p.capabilities]).toEqual(['openai', ['answer', 'readText', 'classify', 'detect']]);
    const onlyDetect = createOpenAiProvider('g', { type: 'openai', baseUrl: 'http://x/v1', model: 'm', capabilities: ['detect', 'segment'] }, { logger, timeoutMs: 1000 });
    expect(onlyDetect.capabilities).toEqual(['detect']);
    expect(onlyDetect.generate).toBeUndefined();
    expect(onlyDetect.detect).toBeDefined();
  });

  it('warm() checks the model list and never throws', async () => {
    mock.mode = { kind: 'ok' };
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    await createOpenAiProvider('vlm', spec(), { logger: log, timeoutMs: 1000 }).warm!();
    await createOpenAiProvider('vlm', spec({ model: 'absent:1b' }), { logger: log, timeoutMs: 1000 }).warm!();
    const port = await closedPort();
    await createOpenAiProvider('down', { type: 'openai', baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm' }, { logger: log, timeoutMs: 1000 }).warm!();
    const messages = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages).toEqual([
      `provider "vlm": qwen2.5vl:7b at ${mock.url}/v1 (OpenAI-compatible)`,
      'provider "vlm" does not list model absent:1b',
      'provider "down" is not answering yet',
    ]);
  });
});
