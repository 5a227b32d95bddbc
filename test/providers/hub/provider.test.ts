import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubModelLoader } from '../../../src/providers/hub/loader.js';
import type { HubManifest } from '../../../src/providers/hub/manifest.js';
import { createHubProvider } from '../../../src/providers/hub/provider.js';
import { writeManifest } from '../../../src/providers/hub/store.js';
import { WorkerModel, WorkerModelError } from '../../../src/providers/hub/worker-model.js';
import { ProviderError } from '../../../src/providers/provider-errors.js';
import type { ProviderContext } from '../../../src/seam/provider.js';
import type { DecodedImage } from '../../../src/media/decode.js';
import { decodeMaskPng } from '../../../src/vision/segment/mask-png.js';

const fakeUrl = new URL('./fake-runtime.ts', import.meta.url).href;

describe('WorkerModel (worker thread protocol, fake runtime)', () => {
  it('calls, streams pieces, transfers pixels, cancels, reports errors and crashes', async () => {
    let exited = '';
    const m = await WorkerModel.start({ loaderUrl: fakeUrl, exportName: 'loadFake', modelsDir: '/m', options: { modelId: 'a/b', dtype: 'q4' }, onExit: (r) => (exited = r) });
    const rgb = new Uint8Array(12);
    const echo = await m.call<{ opts: { modelId: string }; bytes: number }>('echo', { image: { width: 2, height: 2, rgb } }, { transfer: [rgb.buffer] });
    expect(echo.opts.modelId).toBe('a/b');
    expect(echo.bytes).toBe(12);
    expect(rgb.length).toBe(0); // moved, not copied
    const pieces: string[] = [];
    expect(await m.call('stream', {}, { onPiece: (p) => pieces.push(p) })).toBe('A dog sits.');
    expect(pieces).toEqual(['A ', 'dog ', 'sits.']);
    const ac = new AbortController();
    const slow = m.call('slow', {}, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    expect(await slow).toBe('stopped');
    await expect(m.call('nope', {})).rejects.toThrow(WorkerModelError);
    await expect(m.call('crash', {})).rejects.toThrow(/exited \(code 3\)/);
    expect(exited).toMatch(/code 3/);
    expect(m.alive).toBe(false);
  });

  it('a load failure rejects start with the reason', async () => {
    await expect(WorkerModel.start({ loaderUrl: fakeUrl, exportName: 'loadBroken', modelsDir: '/m', options: { modelId: 'a/b', dtype: 'q4' } })).rejects.toThrow(
      /not a valid ONNX file/,
    );
  });
});

// ---- the provider over canned model answers -------------------------------------------

let dir: string;
const logger = pino({ level: 'silent' });
const image = (w = 200, h = 100) => ({ width: w, height: h, rgb: new Uint8Array(w * h * 3) }) as unknown as DecodedImage;

function ctx(prompt: string, images = [image()], over: Partial<ProviderContext> = {}): ProviderContext & { reports: unknown[] } {
  const reports: unknown[] = [];
  return {
    turns: [{ role: 'user', parts: [...images.map((im, i) => ({ kind: 'image' as const, label: `p${i}`, image: im })), { kind: 'text' as const, text: prompt }] }],
    prompt,
    signal: new AbortController().signal,
    wire: { contents: [], generationConfig: { maxOutputTokens: 32 } },
    report: (r: unknown) => reports.push(r),
    reports,
    ...over,
  } as unknown as ProviderContext & { reports: unknown[] };
}

const manifest = (repo: string, adapter: HubManifest['adapter'], extra: Partial<HubManifest> = {}): HubManifest => ({
  format: 1,
  repo,
  revision: 'main',
  commit: 'c'.repeat(40),
  dtype: 'q4',
  modules: ['model'],
  adapter,
  endpoint: 'http://x',
  files: [],
  pulledAt: new Date(0).toISOString(),
  ...extra,
});

/** Puts a fake model under the key the provider will ask for, so no worker or weights are needed. */
async function preload(loader: HubModelLoader, m: HubManifest, answer: (method: string, args: any, onPiece?: (t: string) => void) => unknown) {
  const calls: Array<[string, any]> = [];
  const fake = {
    dispose() {},
    async call(method: string, args: any, opts: { onPiece?: (t: string) => void } = {}) {
      calls.push([method, args]);
      return answer(method, args, opts.onPiece);
    },
  };
  await loader.use({ key: `${m.repo}@${m.commit}:${m.dtype}:${m.adapter}`, bytes: 1, load: async () => fake }, async () => undefined);
  return calls;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ocellus-hubprov-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('hub provider', () => {
  it('a model that is not pulled is a 400 FAILED_PRECONDITION naming the pull command', async () => {
    const loader = new HubModelLoader({ maxBytes: 1e9 });
    const p = createHubProvider('florence', { type: 'hub', model: 'onnx-community/Florence-2-base-ft' }, { logger, timeoutMs: 1000, modelsDir: dir, loader });
    expect(p.kind).toBe('hub');
    expect(p.capabilities).toEqual(['answer', 'detect', 'segment', 'readText']);
    const err = (await p.detect!(ctx('find the dog'), { phrase: 'dog', all: false }).catch((e: unknown) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect([err.httpStatus, err.status]).toEqual([400, 'FAILED_PRECONDITION']);
    expect(err.message).toContain('ocellus pull onnx-community/Florence-2-base-ft');
  });

  it('an unguessable model needs an adapter', () => {
    const loader = new HubModelLoader({ maxBytes: 1e9 });
    expect(() => createHubProvider('x', { type: 'hub', model: 'someone/mystery' }, { logger, timeoutMs: 1, modelsDir: dir, loader })).toThrow(/set adapter/);
  });

  it('a dtype other than the pulled one is refused with the command to fix it', async () => {
    const m = manifest('org/owlv2-base', 'owlv2');
    await writeManifest(dir, m);
    const loader = new HubModelLoader({ maxBytes: 1e9 });
    const p = createHubProvider('owl', { type: 'hub', model: m.repo, dtype: 'fp16' }, { logger, timeoutMs: 1, modelsDir: dir, loader });
    await expect(p.detect!(ctx('x'), { phrase: 'cat', all: false })).rejects.toThrow(/pulled as dtype q4.*--dtype fp16/);
  });

  it('Florence-2: detect, ground, segment, read text and caption from canned generations', async () => {
    const m = manifest('onnx-community/Florence-2-base-ft', 'florence2');
    await writeManifest(dir, m);
    const loader = new HubModelLoader({ maxBytes: 1e9 });
    const calls = await preload(loader, m, (_method, args) => {
      switch (args.task) {
        case '<OD>':
          return '</s><s>dog<loc_100><loc_200><loc_500><loc_900>car<loc_600><loc_100><loc_900><loc_300></s>';
        case '<CAPTION_TO_PHRASE_GROUNDING>':
          return `</s><s>${args.phrase}<loc_0><loc_0><loc_499><loc_499></s>`;
        case '<REFERRING_EXPRESSION_SEGMENTATION>':
          return '</s><s><loc_100><loc_100><loc_300><loc_100><loc_300><loc_300><loc_100><loc_300></s>';
        case '<OCR_WITH_REGION>':
          return '</s><s>HELLO<loc_0><loc_0><loc_999><loc_0><loc_999><loc_99><loc_0><loc_99></s>';
        default:
          return '</s><s>A dog stands next to a bicycle.</s>';
      }
    });
    const p = createHubProvider('florence', { type: 'hub', model: m.repo }, { logger, timeoutMs: 1, modelsDir: dir, loader });
    const all = await p.detect!(ctx('detect everything'), { phrase: '', all: true });
    expect(all.map((o) => [o.image, o.label])).toEqual([[0, 'dog'], [0, 'car']]);
    expect(all[0]!.box[0]).toBeCloseTo(0.1005);
    const ground = await p.detect!(ctx('where is the bike'), { phrase: 'the bike', all: false });
    expect(ground).toEqual([{ image: 0, label: 'the bike', box: [0.0005, 0.0005, 0.4995, 0.4995] }]);
    const masks = await p.segment!(ctx('segment'), { phrase: 'the wooden and glass items', all: false });
    expect(masks.map((x) => x.label)).toEqual(['wooden items', 'glass items']);
    const png = await decodeMaskPng(masks[0]!.png);
    expect(png.header.colourType).toBe(0);
    expect([png.width, png.height]).toEqual([40, 20]); // the box is 0.2 × 0.2 of a 200 × 100 image
    const text = await p.readText!(ctx('read it'));
    expect(text).toEqual([[{ text: 'HELLO', confidence: 1, box: [0.0005, 0.0005, 0.9995, 0.0995] }]]);
    const pieces: string[] = [];
    for await (const piece of p.generate!(ctx('Describe this image in detail.', [image(), image()]))) pieces.push(piece);
    expect(pieces.join('')).toBe('Image 1: A dog stands next to a bicycle.\n\nImage 2: A dog stands next to a bicycle.');
    expect(calls.at(-1)![1].task).toBe('<MORE_DETAILED_CAPTION>');
    // Pixels are copied for the worker, never the caller's buffer.
    expect(calls[0]![1].image.rgb).not.toBe((ctx('x').turns[0]!.parts[0] as { image: DecodedImage }).image.rgb);
  });

  it('chat VLM: streams the pieces and reports usage and MAX_TOKENS', async () => {
    const m = manifest('HuggingFaceTB/SmolVLM-256M-Instruct', 'chat-vlm', { modelType: 'idefics3' });
    await writeManifest(dir, m);
    const loader = new HubModelLoader({ maxBytes: 1e9 });
    const calls = await preload(loader, m, async (_method, _args, onPiece) => {
      for (const w of ['A ', 'dog.']) {
        onPiece?.(w);
        await new Promise((r) => setTimeout(r, 5));
      }
      return { text: 'A dog.', promptTokens: 80, outputTokens: 32, hitLimit: true };
    });
    const p = createHubProvider('smol', { type: 'hub', model: m.repo }, { logger, timeoutMs: 1, modelsDir: dir, loader });
    expect(p.capabilities).toEqual(['answer']);
    const c = ctx('What is this?');
    const pieces: string[] = [];
    for await (const piece of p.generate!(c)) pieces.push(piece);
    expect(pieces).toEqual(['A ', 'dog.']);
    expect(c.reports).toEqual([{ usage: { promptTokenCount: 80, candidatesTokenCount: 32 }, finishReason: 'MAX_TOKENS' }]);
    expect(calls[0]![0]).toBe('chat');
    expect(calls[0]![1].maxNewTokens).toBe(32);
    expect(calls[0]![1].messages[0].content).toEqual([{ type: 'image' }, { type: 'text', text: 'What is this?' }]);
  });

  it('OWLv2 detect splits the phrase; CLIP classify passes labels', async () => {
    const owl = manifest('Xenova/owlv2-base-patch16-ensemble', 'owlv2');
    const clip = manifest('Xenova/clip-vit-base-patch32', 'clip');
    await writeManifest(dir, owl);
    await writeManifest(dir, clip);
    const loader = new HubModelLoader({ maxBytes: 1e9 });
    const owlCalls = await preload(loader, owl, (_m, args) => args.labels.map((label: string, i: number) => ({ label, score: 0.5 - i / 10, box: [0, 0, 0.5, 0.5] })));
    const clipCalls = await preload(loader, clip, () => [{ label: 'dog', score: 0.9 }, { label: 'cat', score: 0.1 }]);
    const deps = { logger, timeoutMs: 1, modelsDir: dir, loader };
    const o = createHubProvider('owl', { type: 'hub', model: owl.repo }, deps);
    const found = await o.detect!(ctx('find'), { phrase: 'the wooden and glass items', all: false });
    expect(owlCalls[0]![1].labels).toEqual(['wooden items', 'glass items']);
    expect(found.map((f) => [f.label, f.score])).toEqual([['wooden items', 0.5], ['glass items', 0.4]]);
    await expect(o.detect!(ctx('find'), { phrase: '', all: true })).rejects.toThrow(/names none/);
    const k = createHubProvider('clip', { type: 'hub', model: clip.repo }, deps);
    expect(await k.classify!(ctx('cat or dog?'), ['cat', 'dog', 'Dog'])).toEqual([[{ label: 'dog', score: 0.9 }, { label: 'cat', score: 0.1 }]]);
    expect(clipCalls[0]![1].labels).toEqual(['cat', 'dog']);
  });
});
