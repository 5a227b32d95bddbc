import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { RoutingEngine } from '../../src/engine/router.js';
import type { EngineRequest } from '../../src/seam/request.js';
import type { Provider } from '../../src/seam/provider.js';
import { providerRejected, providerUnreachable } from '../../src/providers/provider-errors.js';
import { createModelCatalog } from '../../src/engine/model-catalog.js';
import { vocabulary } from '../../src/vision/detect/coco.js';
import type { DecodedImage } from '../../src/media/decode.js';
import type { RoutingFile } from '../../src/engine/routing-file.js';
import { ApiError } from '../../src/errors.js';

const model = createModelCatalog().find('gemini-2.5-flash')!;
const image = { width: 100, height: 50, rgb: Buffer.alloc(100 * 50 * 3), channels: 3, hash: 'h', format: 'png', mimeType: 'image/png' } as unknown as DecodedImage;

function request(prompt: string, opts: { mimeType?: string; images?: number } = {}): EngineRequest {
  const images = Array.from({ length: opts.images ?? 1 }, (_, i) => ({ kind: 'image' as const, label: `contents[0].parts[${i}].inlineData`, image }));
  return {
    model,
    project: 'p',
    wire: { contents: [{ role: 'user', parts: [{ text: prompt }] }] },
    turns: [{ role: 'user', parts: [...images, { kind: 'text', text: prompt }] }],
    output: { mimeType: opts.mimeType ?? 'text/plain' },
    signal: new AbortController().signal,
  };
}

async function text(engine: RoutingEngine, req: EngineRequest): Promise<string> {
  let out = '';
  for await (const p of engine.generate(req)) out += p;
  return out;
}

function router(providers: Provider[], models: RoutingFile['models']): RoutingEngine {
  return new RoutingEngine({
    providers: new Map(providers.map((p) => [p.id, p])),
    routing: { providers: {}, models },
    vocabulary,
    logger: pino({ level: 'silent' }),
  });
}

const answering = (id: string, words: string[], extra: Partial<Provider> = {}): Provider => ({
  id,
  kind: 'openai',
  capabilities: ['answer', 'detect', 'segment', 'readText', 'classify'],
  describe: () => id,
  async *generate() {
    yield* words;
  },
  ...extra,
});

const failing = (id: string, err: Error, afterPieces: string[] = []): Provider => ({
  id,
  kind: 'openai',
  capabilities: ['answer'],
  describe: () => id,
  async *generate() {
    yield* afterPieces;
    throw err;
  },
});

describe('RoutingEngine', () => {
  it('sends each capability to the first provider routed to it', async () => {
    const r = router([answering('a', ['from a']), answering('b', ['from b'])], { '*': { answer: ['b', 'a'], detect: ['a'] } });
    expect(await text(r, request('Caption this image.'))).toBe('from b');
  });

  it('falls back to the next provider when one is unreachable before answering', async () => {
    const r = router([failing('down', providerUnreachable('down', 'http://127.0.0.1:1', 'ECONNREFUSED')), answering('up', ['ok'])], {
      '*': { answer: ['down', 'up'] },
    });
    expect(await text(r, request('Caption this image.'))).toBe('ok');
  });

  it('does not fall back once a piece was sent: the error reaches the client', async () => {
    const r = router([failing('flaky', providerUnreachable('flaky', 'x', 'ECONNRESET'), ['half']), answering('up', ['ok'])], {
      '*': { answer: ['flaky', 'up'] },
    });
    const pieces: string[] = [];
    await expect(async () => {
      for await (const p of r.generate(request('Caption this image.'))) pieces.push(p);
    }).rejects.toMatchObject({ httpStatus: 503 });
    expect(pieces).toEqual(['half']);
  });

  it('does not retry a request the provider rejected as bad', async () => {
    const r = router([failing('picky', providerRejected('picky', 400, 'bad image')), answering('up', ['ok'])], { '*': { answer: ['picky', 'up'] } });
    await expect(text(r, request('Caption this image.'))).rejects.toMatchObject({ httpStatus: 400, message: expect.stringMatching(/picky.*bad image/) });
  });

  it('answers the last error when every provider fails', async () => {
    const r = router(
      [failing('one', providerUnreachable('one', 'x', 'ECONNREFUSED')), failing('two', providerUnreachable('two', 'y', 'ECONNREFUSED'))],
      { '*': { answer: ['one', 'two'] } },
    );
    await expect(text(r, request('Caption this image.'))).rejects.toMatchObject({ httpStatus: 503, message: expect.stringMatching(/"two"/) });
  });

  it('400 FAILED_PRECONDITION naming what to enable when no routed provider has the capability', async () => {
    const answerOnly: Provider = { ...answering('vlm', ['x']), capabilities: ['answer'] };
    const r = router([answerOnly], { '*': { all: ['vlm'] } });
    const err = await text(r, request('Give the segmentation masks for the cat.')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ httpStatus: 400, status: 'FAILED_PRECONDITION' });
    expect((err as Error).message).toMatch(/No configured provider can segment objects for model gemini-2\.5-flash: "vlm" \(vlm\) cannot segment objects\. .*grounded-sam/);
    expect(r.routesOf('gemini-2.5-flash').find((c) => c.capability === 'segment')?.providers).toEqual([]);
  });

  it('renders typed detections as Gemini box_2d (y first, 0..1000), fenced for text and raw for JSON', async () => {
    const grounding: Provider = {
      id: 'g',
      kind: 'hub',
      capabilities: ['detect'],
      describe: () => 'g',
      async detect(_ctx, query) {
        expect(query).toEqual({ phrase: 'wooden glass', all: false });
        return [{ image: 0, label: 'wooden bowl', box: [0.1, 0.2, 0.5, 0.9] }];
      },
    };
    const r = router([grounding], { '*': { detect: ['g'] } });
    const fenced = await text(r, request('Detect the wooden and glass items in the image.'));
    expect(fenced).toBe('```json\n[\n  {"box_2d":[200,100,900,500],"label":"wooden bowl"}\n]\n```');
    const raw = await text(r, request('Detect the wooden and glass items in the image.', { mimeType: 'application/json' }));
    expect(JSON.parse(raw)).toEqual([{ box_2d: [200, 100, 900, 500], label: 'wooden bowl' }]);
  });

  it('asks for every object when the prompt names none, and tags images when there are several', async () => {
    const seen: unknown[] = [];
    const grounding: Provider = {
      id: 'g',
      kind: 'hub',
      capabilities: ['detect', 'segment'],
      describe: () => 'g',
      async segment(_ctx, query) {
        seen.push(query);
        return [{ image: 1, label: 'cat', box: [0, 0, 1, 1], png: 'data:image/png;base64,AA==' }];
      },
    };
    const r = router([grounding], { '*': { all: ['g'] } });
    const out = JSON.parse(await text(r, request('Give the segmentation masks for all prominent items.', { mimeType: 'application/json', images: 2 })));
    expect(seen).toEqual([{ phrase: '', all: true }]);
    expect(out).toEqual([{ box_2d: [0, 0, 1000, 1000], mask: 'data:image/png;base64,AA==', label: 'cat', image: 2 }]);
  });

  it('reads text and classifies with typed providers, in the prompt language', async () => {
    const typed: Provider = {
      id: 't',
      kind: 'hub',
      capabilities: ['readText', 'classify'],
      describe: () => 't',
      readText: async () => ['STOP'],
      classify: async (_ctx, labels) => {
        expect(labels).toEqual(['cat', 'dog']);
        return [[{ label: 'cat', score: 0.2 }, { label: 'dog', score: 0.8 }]];
      },
    };
    const r = router([typed], { '*': { all: ['t'] } });
    expect(await text(r, request('Read the text in this image.'))).toBe('STOP');
    expect(await text(r, request('Is this a cat or a dog?'))).toBe('It is a dog.');
  });

  it('prefers a whole-request provider\'s own answer over rendering', async () => {
    const whole: Provider = { ...answering('gem', ['```json\n[]\n```']), answersWhole: true, detect: async () => { throw new Error('not called'); } };
    const r = router([whole], { '*': { all: ['gem'] } });
    expect(await text(r, request('Detect all of the prominent items in the image.'))).toBe('```json\n[]\n```');
  });
});
