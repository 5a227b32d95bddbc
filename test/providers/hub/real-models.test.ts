/**
 * Opt-in: real weights. Runs only when OCELLUS_MODELS_DIR points at a store holding pulled
 * models (no hub is reachable from the CI machines, so this cannot run there):
 *
 *   npx ocellus pull onnx-community/Florence-2-base-ft --dtype q8
 *   npx ocellus pull HuggingFaceTB/SmolVLM-256M-Instruct --dtype q8   (or any chat VLM; OCELLUS_CHAT_VLM=<repo>)
 *   OCELLUS_MODELS_DIR=~/.cache/ocellus/models npx vitest run test/providers/hub/real-models.test.ts
 */
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { HubModelLoader } from '../../../src/providers/hub/loader.js';
import { createHubProvider } from '../../../src/providers/hub/provider.js';
import { readManifest } from '../../../src/providers/hub/store.js';
import type { ProviderContext } from '../../../src/seam/provider.js';
import type { DecodedImage } from '../../../src/media/decode.js';
import { readFixture } from '../../support/fixtures.js';

const modelsDir = process.env.OCELLUS_MODELS_DIR;
const FLORENCE = process.env.OCELLUS_FLORENCE ?? 'onnx-community/Florence-2-base-ft';
const CHAT = process.env.OCELLUS_CHAT_VLM ?? 'HuggingFaceTB/SmolVLM-256M-Instruct';
const has = async (repo: string) => (modelsDir ? (await readManifest(modelsDir, repo).catch(() => undefined)) !== undefined : false);
const florenceReady = await has(FLORENCE);
const chatReady = await has(CHAT);
const why = (repo: string) => (modelsDir ? `${repo} is not pulled into ${modelsDir} (ocellus pull ${repo})` : 'OCELLUS_MODELS_DIR is not set');

if (!florenceReady) console.warn(`real-models: skipping Florence-2: ${why(FLORENCE)}`);
if (!chatReady) console.warn(`real-models: skipping the chat VLM: ${why(CHAT)}`);

const loader = new HubModelLoader({ maxBytes: 8 * 1024 ** 3 });
afterAll(() => loader.close());
const logger = pino({ level: 'silent' });

async function dog(): Promise<DecodedImage> {
  const { data, info } = await sharp(readFixture('dog.jpg')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: new Uint8Array(data) } as unknown as DecodedImage;
}

async function ctx(prompt: string): Promise<ProviderContext> {
  return {
    turns: [{ role: 'user', parts: [{ kind: 'image', label: 'p0', image: await dog() }, { kind: 'text', text: prompt }] }],
    prompt,
    signal: new AbortController().signal,
    wire: { contents: [], generationConfig: { maxOutputTokens: 64 } },
    report: () => undefined,
  } as unknown as ProviderContext;
}

const collect = async (it: AsyncIterable<string>) => {
  let s = '';
  for await (const p of it) s += p;
  return s;
};

describe.skipIf(!florenceReady)(`Florence-2 on real weights (${FLORENCE})`, () => {
  const p = () => createHubProvider('florence', { type: 'hub', model: FLORENCE }, { logger, timeoutMs: 600_000, modelsDir: modelsDir!, loader });
  it('captions dog.jpg mentioning the dog', { timeout: 600_000 }, async () => {
    expect((await collect(p().generate!(await ctx('Caption this image.')))).toLowerCase()).toMatch(/dog/);
  });
  it('detects the dog and the bicycle', { timeout: 600_000 }, async () => {
    const found = await p().detect!(await ctx('detect'), { phrase: '', all: true });
    const labels = found.map((f) => f.label.toLowerCase());
    expect(labels.some((l) => l.includes('dog'))).toBe(true);
    expect(labels.some((l) => /bicycle|bike/.test(l))).toBe(true);
    const d = found.find((f) => f.label.toLowerCase().includes('dog'))!;
    expect(d.box[0]).toBeLessThan(0.35); // the dog sits bottom-left in dog.jpg
    expect(d.box[3]).toBeGreaterThan(0.7);
  });
  it('grounds a phrase and reads text without failing', { timeout: 600_000 }, async () => {
    expect((await p().detect!(await ctx('where is the dog'), { phrase: 'the dog', all: false })).length).toBeGreaterThan(0);
    const text = await p().readText!(await ctx('read the text'));
    expect(text).toHaveLength(1);
  });
});

describe.skipIf(!chatReady)(`chat VLM on real weights (${CHAT})`, () => {
  it('captions dog.jpg mentioning a dog', { timeout: 600_000 }, async () => {
    const p = createHubProvider('chat', { type: 'hub', model: CHAT }, { logger, timeoutMs: 600_000, modelsDir: modelsDir!, loader });
    expect((await collect(p.generate!(await ctx('Describe this image in one sentence.')))).toLowerCase()).toMatch(/dog|puppy/);
  });
});
