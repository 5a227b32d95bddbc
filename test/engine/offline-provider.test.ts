/**
 * The offline engine is a provider like the others: the router plans the prompt once and
 * the offline answerers answer the plan they are handed, never one of their own.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { RoutingEngine } from '../../src/engine/router.js';
import { OfflineVision, type RunModels } from '../../src/engine/offline/vision.js';
import { MeasurementsOnly } from '../../src/engine/offline/measurements-only.js';
import { createOfflineProvider, offlineCapabilities, type InstalledModels } from '../../src/engine/offline/provider.js';
import { planTasks, type Plan } from '../../src/engine/planner.js';
import { createModelCatalog } from '../../src/engine/model-catalog.js';
import { vocabulary } from '../../src/vision/detect/coco.js';
import type { EngineRequest } from '../../src/seam/request.js';
import type { Provider, ProviderContext } from '../../src/seam/provider.js';
import type { DecodedImage } from '../../src/media/decode.js';
import type { AnalysisNeeds } from '../../src/vision/analysis.js';

const model = createModelCatalog().find('gemini-2.5-flash')!;
const rgb = Buffer.alloc(100 * 50 * 3, 0);
for (let i = 0; i < 50 * 50 * 3; i += 3) rgb[i] = 220; // a red left half, so colours are measured, not assumed
const image = { width: 100, height: 50, rgb, hash: 'h1', format: 'png', mimeType: 'image/png', orientation: 1 } as unknown as DecodedImage;

function request(prompt: string, mimeType = 'text/plain'): EngineRequest {
  return {
    model,
    project: 'p',
    wire: { contents: [{ role: 'user', parts: [{ text: prompt }] }] },
    turns: [{ role: 'user', parts: [{ kind: 'image', label: 'contents[0].parts[0].inlineData', image }, { kind: 'text', text: prompt }] }],
    output: { mimeType },
    signal: new AbortController().signal,
  };
}

const plan = (prompt: string): Plan => planTasks(prompt, { imageCount: 1, jsonRequested: false, vocabulary });

/** A context as the router builds it, but with a plan that need not match the prompt. */
function context(prompt: string, p: Plan, mimeType = 'text/plain'): ProviderContext {
  return { ...request(prompt, mimeType), plan: p, capability: 'answer', prompt, report: () => undefined };
}

async function text(pieces: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const p of pieces) out += p;
  return out;
}

const installed: InstalledModels = { detect: true, segment: false, ocr: false };

function fakeModels(asked: AnalysisNeeds[]): RunModels {
  return async (_img, needs) => {
    asked.push(needs);
    return { objects: needs.detect ? [{ label: 'dog', score: 0.9, box: [0.1, 0.2, 0.5, 0.9] }] : [], detectThreshold: 0.5, times: {} };
  };
}

describe('offline answerers take the plan they are handed', () => {
  it('OfflineVision answers ctx.plan, not what the prompt would plan', async () => {
    const asked: AnalysisNeeds[] = [];
    const vision = new OfflineVision({ runModels: fakeModels(asked), installed });
    // The words ask for a caption; the plan handed in asks for boxes. Boxes win.
    const out = await text(vision.generate(context('Caption this image.', plan('Detect the dogs in the image.'), 'application/json')));
    expect(JSON.parse(out)).toEqual([{ box_2d: [200, 100, 900, 500], label: 'dog' }]);
    expect(asked).toHaveLength(1);
    // …and the other way round: a caption plan with detection words gets a sentence.
    const caption = await text(vision.generate(context('Detect the dogs in the image.', plan('Caption this image.'))));
    expect(caption).toMatch(/dog/i);
    expect(caption).not.toMatch(/box_2d/);
  });

  it('the router plans once and the offline provider answers from that plan', async () => {
    const asked: AnalysisNeeds[] = [];
    const vision = new OfflineVision({ runModels: fakeModels(asked), installed });
    const seen: Plan[] = [];
    const offline = createOfflineProvider(vision, installed);
    const spy: Provider = { ...offline, generate: (ctx) => (seen.push(ctx.plan), offline.generate!(ctx)) };
    const r = new RoutingEngine({ providers: new Map([[spy.id, spy]]), routing: { providers: {}, models: {} }, vocabulary, logger: pino({ level: 'silent' }) });
    const out = await text(r.generate(request('Detect the dogs in the image.', 'application/json')));
    expect(JSON.parse(out)).toEqual([{ box_2d: [200, 100, 900, 500], label: 'dog' }]);
    expect(seen).toEqual([{ ...plan('Detect the dogs in the image.'), json: true }]); // responseMimeType JSON
  });

  it('MeasurementsOnly speaks of the prompt it is handed and measures the pixels', async () => {
    const out = await text(new MeasurementsOnly().generate(context('What breed is this dog?', plan('What breed is this dog?'))));
    expect(out).toMatch(/^The image is a 100×50 PNG, .*red \(\d+%\)/);
    expect(out).toContain('About "What breed is this dog?"');
    const json = JSON.parse(await text(new MeasurementsOnly().generate(context('x', plan('x'), 'application/json'))));
    expect(json.images[0]).toMatchObject({ index: 1, width: 100, height: 50, format: 'png' });
    expect(json.differences).toEqual([]);
  });
});

describe('offlineCapabilities', () => {
  it('lists only what the installed models can serve', () => {
    expect(offlineCapabilities(undefined)).toEqual(['answer']);
    expect(offlineCapabilities({ detect: false, segment: true, ocr: true })).toEqual(['answer', 'readText']);
    expect(offlineCapabilities({ detect: true, segment: true, ocr: false })).toEqual(['answer', 'detect', 'classify', 'segment']);
  });
});
