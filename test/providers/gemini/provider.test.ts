/**
 * The upstream Gemini provider against a mock upstream on 127.0.0.1, with a hand-built
 * ProviderContext: streaming passthrough, real usage, file mirroring with the resumable
 * upload, and every failure mode turned into the provider error it stands for.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGeminiProvider } from '../../../src/providers/gemini/provider.js';
import { ProviderError } from '../../../src/providers/provider-errors.js';
import type { EngineReport } from '../../../src/seam/request.js';
import { DEFAULT_MODELS } from '../../../src/engine/model-catalog.js';
import type { Provider, ProviderContext } from '../../../src/seam/provider.js';
import type { GeminiProviderSpec } from '../../../src/providers/gemini/config.js';
import { parseFileRef } from '../../../src/wire/file-ref.js';
import type { FileOpener, StoredImageFile } from '../../../src/generate/inputs.js';
import { fileNotAccessible } from '../../../src/errors.js';
import { generateContentRequestSchema, parseRequest } from '../../../src/wire/request.js';
import { closedPort, startMockUpstream, type MockUpstream } from './mock-upstream.js';

const logger = pino({ level: 'silent' });
const model = DEFAULT_MODELS.find((m) => m.id === 'gemini-2.5-flash')!;

let upstream: MockUpstream;
let dir: string;
/** Local "Ocellus files" by project, as the Files service would open them. */
const stored = new Map<string, StoredImageFile>();
const files: FileOpener = {
  async openForGeneration(project, ref) {
    const id = parseFileRef(ref);
    const f = id ? stored.get(`${project}/${id}`) : undefined;
    if (!f) throw fileNotAccessible(id ?? ref);
    return f;
  },
};

function storeFile(project: string, id: string, bytes: Buffer, mimeType = 'image/png'): void {
  const p = path.join(dir, `${project}-${id}`);
  writeFileSync(p, bytes);
  stored.set(`${project}/${id}`, { name: `files/${id}`, mimeType, path: p, sha256Hex: createHash('sha256').update(bytes).digest('hex') });
}

beforeAll(async () => {
  upstream = await startMockUpstream();
  dir = mkdtempSync(path.join(os.tmpdir(), 'ocellus-gemini-'));
  storeFile('p1', 'photo1', Buffer.alloc(3000, 1));
  storeFile('p1', 'photo2', Buffer.alloc(5000, 2), 'image/jpeg');
  storeFile('p2', 'photo1', Buffer.alloc(1234, 3));
});
afterAll(async () => {
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  upstream.fail = undefined;
  upstream.processingPolls = 0;
  upstream.generateRequests.length = 0;
});

const provider = (over: Partial<GeminiProviderSpec> = {}, timeoutMs = 2000): Provider =>
  createGeminiProvider('upstream', { type: 'gemini', baseUrl: upstream.url, apiKey: 'operator-key', ...over }, { logger, timeoutMs, files });

function context(body: unknown, project = 'p1', signal = new AbortController().signal): ProviderContext & { reports: EngineReport[] } {
  const reports: EngineReport[] = [];
  return {
    model,
    project,
    wire: parseRequest(generateContentRequestSchema, body),
    turns: [],
    output: { mimeType: 'text/plain' },
    signal,
    plan: { lang: 'en', task: { kind: 'caption', detail: 'short' }, json: false },
    capability: 'answer',
    prompt: '',
    report: (r) => reports.push(r),
    reports,
  };
}

async function collect(p: Provider, ctx: ProviderContext): Promise<string[]> {
  const out: string[] = [];
  for await (const piece of p.generate!(ctx)) out.push(piece);
  return out;
}

async function failure(p: Provider, ctx: ProviderContext): Promise<{ error: ProviderError; pieces: string[] }> {
  const pieces: string[] = [];
  try {
    for await (const piece of p.generate!(ctx)) pieces.push(piece);
  } catch (error) {
    return { error: error as ProviderError, pieces };
  }
  throw new Error(`expected a failure, got ${JSON.stringify(pieces)}`);
}

const png = Buffer.alloc(777, 9).toString('base64');

describe('answers', () => {
  it('describes itself and lists every capability unless restricted', () => {
    const p = provider();
    expect(p.kind).toBe('gemini');
    expect(p.answersWhole).toBe(true);
    expect(p.capabilities).toEqual(['answer', 'detect', 'segment', 'readText', 'classify']);
    expect(provider({ capabilities: ['answer'] }).capabilities).toEqual(['answer']);
    expect(provider({ model: 'gemini-2.5-pro' }).describe()).toContain(upstream.url);
  });

  it('streams the upstream answer piece by piece, without thoughts, and reports its usage and finish reason', async () => {
    const ctx = context({
      contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'image/png', data: png } }, { text: 'What is this?' }] }],
      systemInstruction: { parts: [{ text: 'Be terse.' }] },
      generationConfig: { temperature: 0.1, candidateCount: 1 },
    });
    const pieces = await collect(provider(), ctx);
    expect(pieces.length).toBe(3);
    const text = pieces.join('');
    expect(text).toBe('model=gemini-2.5-flash images=1 sizes=777 files=none system=Be terse. config={"temperature":0.1} prompt=What is this?');
    expect(text).not.toContain('Let me think');
    const last = ctx.reports.at(-1)!;
    expect(last).toEqual({ usage: { promptTokenCount: 268, candidatesTokenCount: 15, thoughtsTokenCount: 7 }, finishReason: 'STOP' });
    // the operator's key went upstream, and only it
    const sent = upstream.generateRequests[0]!;
    expect(sent.headers['x-goog-api-key']).toBe('operator-key');
    expect(sent.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  });

  it('passes pieces on as they arrive, not when the stream ends', async () => {
    upstream.fail = { kind: 'stall' }; // one chunk, then silence: the first piece must still come out at once
    const it = provider({}, 1500).generate!(context({ contents: [{ parts: [{ text: 'hi' }] }] }))[Symbol.asyncIterator]();
    const t0 = Date.now();
    const first = await it.next();
    expect(first.value).toMatch(/^model=gemini-2.5-flash/);
    expect(Date.now() - t0).toBeLessThan(1000);
    await expect(it.next()).rejects.toMatchObject({ httpStatus: 504, status: 'DEADLINE_EXCEEDED' });
  });

  it('uses the configured upstream model and API version', async () => {
    const pieces = await collect(provider({ model: 'gemini-2.5-pro', apiVersion: 'v1' }), context({ contents: [{ parts: [{ text: 'hi' }] }] }));
    expect(pieces.join('')).toMatch(/^model=gemini-2.5-pro /);
    expect(upstream.generateRequests[0]!.path).toBe('/v1/models/gemini-2.5-pro:streamGenerateContent?alt=sse');
  });

  it('reports a finish reason other than STOP', async () => {
    const ctx = context({ contents: [{ parts: [{ text: 'hi' }] }], generationConfig: { maxOutputTokens: 3 } });
    await collect(provider(), ctx);
    expect(ctx.reports.at(-1)!.finishReason).toBe('MAX_TOKENS');
  });

  it('reports a prompt the upstream blocked as its block reason, with no text', async () => {
    upstream.fail = { kind: 'blocked' };
    const ctx = context({ contents: [{ parts: [{ text: 'hi' }] }] });
    expect(await collect(provider(), ctx)).toEqual([]);
    expect(ctx.reports.at(-1)!.finishReason).toBe('PROHIBITED_CONTENT');
  });
});

describe('files', () => {
  it('uploads a local file once, names the upstream copy, and reuses it for the next question', async () => {
    const p = provider();
    const before = upstream.uploads;
    const ask = () => collect(p, context({ contents: [{ parts: [{ fileData: { fileUri: 'http://127.0.0.1:8080/v1beta/files/photo1' } }, { text: 'Caption.' }] }] }));
    const first = (await ask()).join('');
    expect(first).toMatch(/images=1 sizes=3000 files=files\/[0-9a-f]+\(3000B image\/png\)/);
    const second = (await ask()).join('');
    expect(second).toBe(first);
    expect(upstream.uploads - before).toBe(1);
    // the forwarded request named the upstream copy, not our URI
    const sent = JSON.stringify(upstream.generateRequests[1]!.body);
    expect(sent).toContain(`${upstream.url}/v1beta/files/`);
    expect(sent).not.toContain('127.0.0.1:8080');
  });

  it('shares one upload between concurrent requests for the same file', async () => {
    const p = provider();
    const before = upstream.uploads;
    upstream.fail = { kind: 'upload-slow-start', ms: 150 };
    const body = { contents: [{ parts: [{ fileData: { fileUri: 'files/photo2' } }, { text: 'Caption.' }] }] };
    const answers = await Promise.all([1, 2, 3, 4].map(() => collect(p, context(body))));
    for (const a of answers) expect(a.join('')).toMatch(/sizes=5000 files=files\/[0-9a-f]+\(5000B image\/jpeg\)/);
    expect(upstream.uploads - before).toBe(1);
  });

  it('keeps projects apart: the same file name in another project is another file', async () => {
    const p = provider();
    const before = upstream.uploads;
    const ask = (project: string) => collect(p, context({ contents: [{ parts: [{ fileData: { fileUri: 'files/photo1' } }] }] }, project));
    expect((await ask('p1')).join('')).toContain('sizes=3000');
    expect((await ask('p2')).join('')).toContain('sizes=1234');
    expect(upstream.uploads - before).toBe(2);
  });

  it('uploads again once the upstream copy is close to its expirationTime', async () => {
    upstream.fileTtlMs = 5 * 60_000; // inside the 10-minute margin: never reused
    try {
      const p = provider();
      const before = upstream.uploads;
      const body = { contents: [{ parts: [{ fileData: { fileUri: 'files/photo1' } }] }] };
      await collect(p, context(body));
      await collect(p, context(body));
      expect(upstream.uploads - before).toBe(2);
    } finally {
      upstream.fileTtlMs = 48 * 3600_000;
    }
  });

  it('uploads again once when the upstream lost its copy', async () => {
    const p = provider();
    const body = { contents: [{ parts: [{ fileData: { fileUri: 'files/photo1' } }] }] };
    await collect(p, context(body));
    const before = upstream.uploads;
    upstream.files.clear(); // deleted upstream before its expirationTime
    expect((await collect(p, context(body))).join('')).toContain('sizes=3000');
    expect(upstream.uploads - before).toBe(1);
  });

  it('waits for an upstream file that is still PROCESSING', async () => {
    upstream.processingPolls = 2;
    const p = provider();
    const out = await collect(p, context({ contents: [{ parts: [{ fileData: { fileUri: 'files/photo2' } }] }] }));
    expect(out.join('')).toContain('sizes=5000');
  });

  it('forwards an upstream file URI unchanged and uploads nothing', async () => {
    const p = provider();
    // a file the client uploaded to the upstream itself
    await collect(p, context({ contents: [{ parts: [{ fileData: { fileUri: 'files/photo1' } }] }] }));
    const upstreamUri = [...upstream.files.values()].at(-1)!.uri;
    const before = upstream.uploads;
    const out = await collect(p, context({ contents: [{ parts: [{ fileData: { fileUri: upstreamUri, mimeType: 'image/png' } }] }] }));
    expect(out.join('')).toContain('sizes=3000');
    expect(upstream.uploads).toBe(before);
  });

  it("fails with the local error for a file that is not the project's", async () => {
    const { error } = await failure(provider(), context({ contents: [{ parts: [{ fileData: { fileUri: 'files/photo2' } }] }] }, 'p2'));
    expect(error.httpStatus).toBe(403);
    expect(error.status).toBe('PERMISSION_DENIED');
    expect(upstream.generateRequests).toHaveLength(0);
  });
});

describe('failures', () => {
  const hi = () => context({ contents: [{ parts: [{ text: 'hi' }] }] });

  it('upstream unreachable → 503 UNAVAILABLE with Retry-After', async () => {
    const p = createGeminiProvider('upstream', { type: 'gemini', baseUrl: `http://127.0.0.1:${await closedPort()}`, apiKey: 'k' }, { logger, timeoutMs: 2000, files });
    const { error } = await failure(p, hi());
    expect([error.httpStatus, error.status, error.retryable]).toEqual([503, 'UNAVAILABLE', true]);
    expect(error.headers['Retry-After']).toBeDefined();
    expect(error.message).toMatch(/unreachable \(ECONNREFUSED\)/);
  });

  it('upstream 429 → 429 with its Retry-After, or the delay of its RetryInfo', async () => {
    upstream.fail = { kind: 'rate-limit', retryAfter: '17' };
    let { error } = await failure(provider(), hi());
    expect([error.httpStatus, error.status, error.headers['Retry-After']]).toEqual([429, 'RESOURCE_EXHAUSTED', '17']);
    upstream.fail = { kind: 'rate-limit', retryDelay: '42s' };
    ({ error } = await failure(provider(), hi()));
    expect([error.httpStatus, error.headers['Retry-After']]).toEqual([429, '42']);
    expect(error.details).toEqual([{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '42s' }]);
  });

  it('upstream 500 → 503 UNAVAILABLE', async () => {
    upstream.fail = { kind: 'server-error' };
    const { error } = await failure(provider(), hi());
    expect([error.httpStatus, error.status]).toEqual([503, 'UNAVAILABLE']);
    expect(error.message).toContain('An internal error has occurred');
  });

  it("upstream 400 → 400 with the upstream's message, named by the provider", async () => {
    upstream.fail = { kind: 'bad-request', message: 'Invalid value at \'generation_config.response_mime_type\'' };
    const { error } = await failure(provider(), hi());
    expect([error.httpStatus, error.status, error.retryable]).toEqual([400, 'INVALID_ARGUMENT', false]);
    expect(error.message).toBe(`The model provider "upstream" rejected the request (HTTP 400): Invalid value at 'generation_config.response_mime_type'`);
  });

  it("a refused operator key says so, and that it is not the client's fault", async () => {
    for (const p of [
      provider({ apiKey: 'wrong-key' }), // Gemini: 400 API_KEY_INVALID
      (upstream.fail = { kind: 'forbidden', message: 'Permission denied: Consumer has been suspended.' }, provider()),
    ]) {
      const { error } = await failure(p, hi());
      expect([error.httpStatus, error.status]).toEqual([503, 'UNAVAILABLE']);
      expect(error.message).toMatch(/refused the server operator's API key/);
      expect(error.message).toMatch(/not a problem with your request or your own key/);
    }
  });

  it('a slow answer → 504 DEADLINE_EXCEEDED at the deadline, not a hang', async () => {
    upstream.fail = { kind: 'slow', ms: 3000 };
    const t0 = Date.now();
    const { error } = await failure(provider({}, 300), hi());
    expect([error.httpStatus, error.status]).toEqual([504, 'DEADLINE_EXCEEDED']);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('the spec timeout wins over the default', async () => {
    upstream.fail = { kind: 'slow', ms: 3000 };
    const t0 = Date.now();
    const { error } = await failure(provider({ timeoutMs: 200 }, 60_000), hi());
    expect(error.httpStatus).toBe(504);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('a dropped connection mid-stream → 503 after the pieces already sent', async () => {
    upstream.fail = { kind: 'drop' };
    const { error, pieces } = await failure(provider(), hi());
    expect(pieces).toHaveLength(1);
    expect([error.httpStatus, error.status]).toEqual([503, 'UNAVAILABLE']);
  });

  it('an {"error":…} event mid-stream is thrown as the mapped error', async () => {
    upstream.fail = { kind: 'error-event' };
    const { error, pieces } = await failure(provider(), hi());
    expect(pieces).toHaveLength(1);
    expect([error.httpStatus, error.status]).toEqual([503, 'UNAVAILABLE']);
    expect(error.message).toContain('boom mid-stream');
  });

  it('a stream that ends without its last chunk is not passed off as a whole answer', async () => {
    upstream.fail = { kind: 'truncated' };
    const { error, pieces } = await failure(provider(), hi());
    expect(pieces).toHaveLength(1);
    expect(error.httpStatus).toBe(503);
    expect(error.message).toMatch(/ended before its last chunk/);
  });

  it("the client leaving aborts the upstream request", async () => {
    upstream.fail = { kind: 'slow', ms: 3000 };
    const ac = new AbortController();
    const ctx = context({ contents: [{ parts: [{ text: 'hi' }] }] }, 'p1', ac.signal);
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    const { error } = await failure(provider({}, 10_000), ctx);
    expect((error as Error).name).toBe('AbortError');
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('warm() checks the key and reports a refused one', async () => {
    await expect(provider().warm!()).resolves.toBeUndefined();
    await expect(provider({ apiKey: 'nope' }).warm!()).rejects.toMatchObject({ httpStatus: 503, message: expect.stringMatching(/operator's API key/) });
  });
});
