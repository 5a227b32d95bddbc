/**
 * The rest of the SDK surface a Gemini client touches, through both SDK majors against a
 * running Ocellus that enforces API keys: streaming, chats, countTokens, models, the Files
 * API (pagers, resumable multi-chunk upload, delete, ownership), generation config
 * (maxOutputTokens, stopSequences, candidateCount, systemInstruction, responseSchema) and
 * the auth errors.
 */
import * as fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, readFixture } from '../support/fixtures.js';
import { startServer, type RunningServer } from '../support/server.js';
import {
  apiError,
  expectDetections,
  expectDogFound,
  expectDogJpgCaption,
  expectOnlyDogJpgClasses,
  imageTokens2x,
  imageTokensOf,
  KEY_A,
  KEY_B,
  MODEL,
  parseApiErrorMessage,
  SDKS,
  SIZES,
} from './helpers.js';

const LIST_KEYS = { v1beta: 'e2e-list-key-v1beta', v1: 'e2e-list-key-v1' } as const;

let srv: RunningServer;
let baseUrl: string;
const dogB64 = readFixture('dog.jpg').toString('base64');
const horsesB64 = readFixture('horses.jpg').toString('base64');

/** The analysis cache's counts, from /healthz (no key needed). */
async function analysisCacheStats(): Promise<{ hits: number; misses: number }> {
  const health = (await (await fetch(`${baseUrl}/healthz`)).json()) as { analysisCache: { hits: number; misses: number } };
  return health.analysisCache;
}

beforeAll(async () => {
  srv = await startServer({ apiKeys: [KEY_A, KEY_B, LIST_KEYS.v1beta, LIST_KEYS.v1] });
  baseUrl = srv.baseUrl;
});

afterAll(async () => {
  await srv?.stop();
});

describe.each(SDKS)('SDK surface, $label', ({ sdk, version }) => {
  const { GoogleGenAI, createPartFromBase64, createPartFromUri, createUserContent, ApiError } = sdk;
  const client = (apiKey = KEY_A) => new GoogleGenAI({ apiKey, httpOptions: { baseUrl } });
  const dogContents = () => createUserContent([createPartFromBase64(dogB64, 'image/jpeg'), 'Caption this image.']);

  it('generateContentStream: several chunks, role model, finishReason only on the last, text equals the non-streaming text', async () => {
    const ai = client();
    const whole = await ai.models.generateContent({ model: MODEL, contents: dogContents() });
    const chunks: Awaited<ReturnType<typeof ai.models.generateContent>>[] = [];
    for await (const chunk of await ai.models.generateContentStream({ model: MODEL, contents: dogContents() })) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    chunks.forEach((chunk, i) => {
      const cand = chunk.candidates?.[0];
      expect(cand?.content?.role).toBe('model');
      expect(cand?.content?.parts?.length).toBeGreaterThan(0);
      for (const p of cand!.content!.parts!) expect(Object.keys(p).length).toBeGreaterThan(0);
      if (i < chunks.length - 1) expect(cand?.finishReason).toBeUndefined();
      else expect(cand?.finishReason).toBe('STOP');
      expect(chunk.modelVersion).toBe(MODEL);
      expect(chunk.responseId).toBe(chunks[0]!.responseId);
      expect(chunk.usageMetadata?.promptTokenCount).toBe(whole.usageMetadata?.promptTokenCount);
    });
    expectDogJpgCaption(whole.text!);
    expect(chunks.map((c) => c.text ?? '').join('')).toBe(whole.text);
    expect(chunks.at(-1)!.usageMetadata).toEqual(whole.usageMetadata);
  });

  it('chats: sendMessage and sendMessageStream with images keep both turns in the history', async () => {
    const ai = client();
    const cacheBefore = await analysisCacheStats();
    const chat = ai.chats.create({ model: MODEL });
    const first = await chat.sendMessage({ message: [createPartFromBase64(dogB64, 'image/jpeg'), 'Describe this image.'] });
    expectDogJpgCaption(first.text!);
    expect(chat.getHistory()).toHaveLength(2);

    let streamed = '';
    for await (const chunk of await chat.sendMessageStream({
      message: [createPartFromBase64(horsesB64, 'image/jpeg'), 'And this one?'],
    }))
      streamed += chunk.text ?? '';
    // The history holds both photos, so the follow-up is answered by telling them apart.
    expect(streamed).toMatch(/Only image 2 has [^.]*\bhorses?\b/);
    expect(streamed).toMatch(/Only image 1 has [^.]*\bdog\b/);
    expect(streamed).toContain('768×576 and 773×512');

    // The SDK records a streamed turn as one model Content per chunk; the server's part is
    // that every chunk is a valid model turn, so none of them (and no user turn) is dropped.
    const history = chat.getHistory();
    const roles = history.map((c) => c.role);
    expect(roles.slice(0, 3)).toEqual(['user', 'model', 'user']);
    expect(roles.length).toBeGreaterThanOrEqual(4);
    expect(roles.slice(3).every((r) => r === 'model')).toBe(true);
    expect(history[1]!.parts?.map((p) => p.text).join('')).toBe(first.text);
    expect(history.slice(3).flatMap((c) => c.parts ?? []).map((p) => p.text).join('')).toBe(streamed);
    expect(history[2]!.parts?.some((p) => p.inlineData?.data === horsesB64)).toBe(true);
    expect(chat.getHistory(true)).toEqual(history);

    // A third turn sends the whole history back; the server must accept it as is.
    const third = await chat.sendMessage({ message: 'Which of the two is brighter?' });
    expect(third.candidates?.[0]?.finishReason).toBe('STOP');
    expect(chat.getHistory(true).filter((c) => c.role === 'user')).toHaveLength(3);
    // Each turn resent the photos before it: their analyses (and safety ratings) came from
    // the server's analysis cache instead of another run of the models.
    const cacheAfter = await analysisCacheStats();
    expect(cacheAfter.hits - cacheBefore.hits).toBeGreaterThanOrEqual(3);
  });

  it('countTokens agrees with generateContent and the 2.x tile rule', async () => {
    const ai = client();
    const counted = await ai.models.countTokens({ model: MODEL, contents: dogContents() });
    const generated = await ai.models.generateContent({ model: MODEL, contents: dogContents() });
    expect(counted.totalTokens).toBe(generated.usageMetadata?.promptTokenCount);
    expect(imageTokensOf(generated.usageMetadata)).toBe(imageTokens2x(...SIZES['dog.jpg']));
    const textOnly = await ai.models.countTokens({ model: MODEL, contents: 'Caption this image.' });
    expect(counted.totalTokens).toBe(textOnly.totalTokens! + 1032);
  });

  it('models.get and models.list paging (pageSize 3, several pages through the pager)', async () => {
    const ai = client();
    const m = await ai.models.get({ model: 'gemini-2.5-flash' });
    expect(m.name).toBe('models/gemini-2.5-flash');
    expect(m.displayName).toEqual(expect.any(String));
    expect(m.inputTokenLimit).toBeGreaterThan(0);
    expect(m.outputTokenLimit).toBeGreaterThan(0);
    expect(m.supportedActions).toEqual(expect.arrayContaining(['generateContent', 'countTokens']));

    const all = (await (await fetch(`${baseUrl}/${version}/models?pageSize=1000&key=${KEY_A}`)).json()) as { models: Array<{ name: string }> };
    expect(all.models.length).toBeGreaterThan(6);

    const pager = await ai.models.list({ config: { pageSize: 3 } });
    expect(pager.page).toHaveLength(3);
    expect(pager.hasNextPage()).toBe(true);
    const names: string[] = [];
    for await (const model of pager) names.push(model.name!);
    expect(names).toEqual(all.models.map((x) => x.name));
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('models/gemini-2.5-flash');
  });

  it('an unknown model is ApiError 404 (generateContent and models.get)', async () => {
    const ai = client();
    const gen = await apiError(() => ai.models.generateContent({ model: 'no-such-model', contents: 'hi' }));
    expect(gen).toBeInstanceOf(ApiError);
    expect(gen.status).toBe(404);
    const body = parseApiErrorMessage(gen);
    expect(body.error).toMatchObject({ code: 404, status: 'NOT_FOUND' });
    expect(body.error.message).toContain('no-such-model');
    const get = await apiError(() => ai.models.get({ model: 'no-such-model' }));
    expect(get.status).toBe(404);
  });

  it('files: upload, get, list with the pager (pageSize 2), delete, get after delete → 403', async () => {
    const ai = client(LIST_KEYS[version]);
    const uploaded: Awaited<ReturnType<typeof ai.files.upload>>[] = [];
    for (const [name, type] of [
      ['dog.jpg', 'image/jpeg'],
      ['dog.png', 'image/png'],
      ['horses.jpg', 'image/jpeg'],
    ] as const) {
      const f = await ai.files.upload({ file: fixturePath(name), config: { mimeType: type, displayName: name } });
      expect(f).toMatchObject({ mimeType: type, displayName: name, state: 'ACTIVE', sizeBytes: String(fs.statSync(fixturePath(name)).size) });
      expect(f.uri).toBe(`${baseUrl}/${version}/${f.name}`);
      uploaded.push(f);
    }
    const got = await ai.files.get({ name: uploaded[1]!.name! });
    expect(got).toMatchObject({ name: uploaded[1]!.name, mimeType: 'image/png', sha256Hash: uploaded[1]!.sha256Hash });

    const pager = await ai.files.list({ config: { pageSize: 2 } });
    expect(pager.page).toHaveLength(2);
    expect(pager.hasNextPage()).toBe(true);
    const listed: string[] = [];
    for await (const f of pager) listed.push(f.name!);
    expect(listed.sort()).toEqual(uploaded.map((f) => f.name!).sort());

    for (const f of uploaded) await ai.files.delete({ name: f.name! });
    const gone = await apiError(() => ai.files.get({ name: uploaded[0]!.name! }));
    expect(gone.status).toBe(403);
    expect(parseApiErrorMessage(gone).error).toMatchObject({ code: 403, status: 'PERMISSION_DENIED' });
    const empty = await ai.files.list({ config: { pageSize: 2 } });
    expect(empty.page).toHaveLength(0);
  });

  it('a resumable upload over 8 MiB in several 8 MiB chunks, then used in generateContent', async () => {
    const ai = client();
    const big = fs.statSync(fixturePath('big.png')).size;
    expect(big).toBeGreaterThan(8 * 1024 * 1024);
    // Watch the requests as the server receives them (a second 'request' listener only observes).
    const seen: Array<{ command: string; offset: string | undefined; length: string | undefined }> = [];
    const observe = (req: IncomingMessage): void => {
      const command = req.headers['x-goog-upload-command'];
      if (typeof command === 'string')
        seen.push({ command, offset: req.headers['x-goog-upload-offset'] as string | undefined, length: req.headers['content-length'] });
    };
    srv.server.app.server.on('request', observe);
    let file;
    try {
      file = await ai.files.upload({ file: fixturePath('big.png'), config: { mimeType: 'image/png' } });
    } finally {
      srv.server.app.server.off('request', observe);
    }
    const commands = seen.map((s) => s.command);
    const chunks = Math.ceil(big / (8 * 1024 * 1024));
    expect(chunks).toBeGreaterThanOrEqual(2);
    expect(commands).toEqual(['start', ...Array<string>(chunks - 1).fill('upload'), 'upload, finalize']);
    const MiB8 = 8 * 1024 * 1024;
    expect(seen.slice(1).map((s) => [Number(s.offset), Number(s.length)])).toEqual(
      Array.from({ length: chunks }, (_, i) => [i * MiB8, Math.min(MiB8, big - i * MiB8)]),
    );
    expect(file).toMatchObject({ mimeType: 'image/png', state: 'ACTIVE', sizeBytes: String(big) });

    const response = await ai.models.generateContent({
      model: MODEL,
      contents: createUserContent([createPartFromUri(file.uri!, file.mimeType!), 'Describe this image in detail.']),
    });
    expect(response.candidates?.[0]?.finishReason).toBe('STOP');
    // The uploaded pixels, all of them: measured size, and the bicycle of the noisy dog.jpg copy.
    expect(response.text).toContain('It is a 2048×1536 PNG image.');
    expect(response.text).toMatch(/\bbicycle\b/);
    // SSD-MobileNetV2 scores this noisy copy's animal cat 0.84 / dog 0.82 at the 1600 px the
    // text reader's pass is analysed at (issue 9's cat/dog confusion): a near tie must be
    // said as one, naming the dog, never as a cat alone.
    const text = response.text!;
    expect(text).toMatch(/\bdog\b/);
    if (/\bcat\b/.test(text)) expect(text).toMatch(/\b(cat \(or possibly a dog\)|dog \(or possibly a cat\))/);
    expectOnlyDogJpgClasses(text.replace(/\bcat\b/g, 'dog'));
    expect(imageTokensOf(response.usageMetadata)).toBe(imageTokens2x(...SIZES['big.png']));
    await ai.files.delete({ name: file.name! });
  });

  it('maxOutputTokens: 5 → finishReason MAX_TOKENS and at most 5 output tokens', async () => {
    const ai = client();
    const full = await ai.models.generateContent({ model: MODEL, contents: dogContents() });
    const r = await ai.models.generateContent({ model: MODEL, contents: dogContents(), config: { maxOutputTokens: 5 } });
    expect(r.candidates?.[0]?.finishReason).toBe('MAX_TOKENS');
    expect(r.usageMetadata?.candidatesTokenCount).toBeGreaterThan(0);
    expect(r.usageMetadata?.candidatesTokenCount).toBeLessThanOrEqual(5);
    expect(r.text!.length).toBeGreaterThan(0);
    expect(full.text!.startsWith(r.text!)).toBe(true);
    expect(r.text!.length).toBeLessThan(full.text!.length);
  });

  it('stopSequences: the answer ends before the first stop sequence, finishReason STOP', async () => {
    const ai = client();
    const full = (await ai.models.generateContent({ model: MODEL, contents: dogContents() })).text!;
    const words = full.split(/\s+/).filter((w) => w.length >= 4);
    const stop = words[Math.min(3, words.length - 1)]!; // a word from the answer itself
    const r = await ai.models.generateContent({ model: MODEL, contents: dogContents(), config: { stopSequences: [stop] } });
    expect(r.candidates?.[0]?.finishReason).toBe('STOP');
    expect(r.text).toBe(full.slice(0, full.indexOf(stop)));
    expect(r.text).not.toContain(stop);
  });

  it('candidateCount 2 → two candidates, index 0 and 1, each finished', async () => {
    const ai = client();
    const r = await ai.models.generateContent({ model: MODEL, contents: dogContents(), config: { candidateCount: 2 } });
    expect(r.candidates).toHaveLength(2);
    expect(r.candidates!.map((c) => c.index ?? 0)).toEqual([0, 1]);
    for (const c of r.candidates!) {
      expect(c.content?.role).toBe('model');
      expect(c.finishReason).toBe('STOP');
      expectDogJpgCaption(c.content!.parts!.map((p) => p.text).join(''));
    }
    const one = await ai.models.generateContent({ model: MODEL, contents: dogContents() });
    expect(r.usageMetadata?.candidatesTokenCount).toBeGreaterThan(one.usageMetadata!.candidatesTokenCount!);
  });

  it('systemInstruction is accepted and counted in the prompt', async () => {
    const ai = client();
    const plain = await ai.models.generateContent({ model: MODEL, contents: dogContents() });
    const r = await ai.models.generateContent({
      model: MODEL,
      contents: dogContents(),
      config: { systemInstruction: 'You are a terse assistant. Answer in one sentence.' },
    });
    expect(r.candidates?.[0]?.finishReason).toBe('STOP');
    expect(r.text!.length).toBeGreaterThan(0);
    expect(r.usageMetadata!.promptTokenCount!).toBeGreaterThan(plain.usageMetadata!.promptTokenCount!);
  });

  it('responseSchema the engine can fill → JSON valid against it, with the dog and its box', async () => {
    const ai = client();
    const { Type } = sdk;
    const r = await ai.models.generateContent({
      model: MODEL,
      contents: createUserContent([createPartFromBase64(dogB64, 'image/jpeg'), 'Detect the objects in this image.']),
      config: {
        responseMimeType: 'application/json',
        responseSchema: {
          type: Type.OBJECT,
          properties: {
            objects: {
              type: Type.ARRAY,
              items: {
                type: Type.OBJECT,
                properties: { label: { type: Type.STRING }, box_2d: { type: Type.ARRAY, items: { type: Type.INTEGER } } },
                required: ['label', 'box_2d'],
              },
            },
          },
          required: ['objects'],
        },
      },
    });
    expect(r.candidates?.[0]?.finishReason).toBe('STOP');
    const parsed = JSON.parse(r.text!) as { objects: unknown };
    expect(Object.keys(parsed)).toEqual(['objects']);
    const objects = expectDetections(parsed.objects);
    expectDogFound(objects);
    expect(objects.map((o) => o.label)).toContain('bicycle');
  });

  it('responseSchema no fact can fill (a required mood) → 400 FAILED_PRECONDITION saying so', async () => {
    const ai = client();
    const err = await apiError(() =>
      ai.models.generateContent({
        model: MODEL,
        contents: dogContents(),
        config: {
          responseMimeType: 'application/json',
          responseSchema: {
            type: sdk.Type.OBJECT,
            properties: { mood: { type: sdk.Type.STRING, enum: ['happy', 'sad'] } },
            required: ['mood'],
          },
        },
      }),
    );
    expect(err.status).toBe(400);
    const body = parseApiErrorMessage(err);
    expect(body.error).toMatchObject({ code: 400, status: 'FAILED_PRECONDITION' });
    expect(body.error.message).toMatch(/cannot answer in the requested format/);
    expect(body.error.message).toMatch(/schema/i);
    expect(body.error.message).toMatch(/mood/);
  });

  it('a bad API key → ApiError 400 "API key not valid"', async () => {
    const ai = client('not-a-configured-key');
    const err = await apiError(() => ai.models.generateContent({ model: MODEL, contents: dogContents() }));
    expect(err.status).toBe(400);
    const body = parseApiErrorMessage(err);
    expect(body.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT', message: 'API key not valid. Please pass a valid API key.' });
    expect(body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ reason: 'API_KEY_INVALID' })]));
    const list = await apiError(() => ai.files.list());
    expect(list.status).toBe(400);
  });

  it('a missing API key → ApiError 403 PERMISSION_DENIED', async () => {
    // The SDK does not overwrite an x-goog-api-key the user set in httpOptions.headers.
    const ai = new GoogleGenAI({ apiKey: KEY_A, httpOptions: { baseUrl, headers: { 'x-goog-api-key': '' } } });
    const err = await apiError(() => ai.models.generateContent({ model: MODEL, contents: 'hi' }));
    expect(err.status).toBe(403);
    const body = parseApiErrorMessage(err);
    expect(body.error).toMatchObject({ code: 403, status: 'PERMISSION_DENIED' });
    expect(body.error.message).toMatch(/unregistered callers/);
  });

  it("another key's file → 403 on get, delete and in generateContent; it stays usable by its owner", async () => {
    const owner = client(KEY_A);
    const other = client(KEY_B);
    const file = await owner.files.upload({ file: fixturePath('dog.jpg'), config: { mimeType: 'image/jpeg' } });
    const e1 = await apiError(() => other.files.get({ name: file.name! }));
    expect(e1.status).toBe(403);
    expect(parseApiErrorMessage(e1).error.message).toMatch(/do not have permission to access the File/);
    const e2 = await apiError(() =>
      other.models.generateContent({ model: MODEL, contents: createUserContent([createPartFromUri(file.uri!, file.mimeType!), 'Caption this image.']) }),
    );
    expect(e2.status).toBe(403);
    const e3 = await apiError(() => other.files.delete({ name: file.name! }));
    expect(e3.status).toBe(403);
    const otherList = await other.files.list();
    const otherNames: string[] = [];
    for await (const f of otherList) otherNames.push(f.name!);
    expect(otherNames).not.toContain(file.name);
    const ok = await owner.models.generateContent({
      model: MODEL,
      contents: createUserContent([createPartFromUri(file.uri!, file.mimeType!), 'Caption this image.']),
    });
    expectDogJpgCaption(ok.text!);
    await owner.files.delete({ name: file.name! });
  });
});
