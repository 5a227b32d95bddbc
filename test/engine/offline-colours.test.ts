/**
 * Box and mask answers skip the colour measurement (a k-means on the event loop, while the
 * models run) unless the requested format could carry colours: a responseSchema or an enum.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as measure from '../../src/engine/measure.js';
import { OfflineVision, type RunModels } from '../../src/engine/offline/vision.js';
import { planTasks } from '../../src/engine/planner.js';
import { createModelCatalog } from '../../src/engine/model-catalog.js';
import { vocabulary } from '../../src/vision/detect/coco.js';
import type { ProviderContext } from '../../src/seam/provider.js';
import type { OutputFormat } from '../../src/seam/request.js';
import type { DecodedImage } from '../../src/media/decode.js';

vi.mock('../../src/engine/measure.js', async (actual) => {
  const m = await actual<typeof import('../../src/engine/measure.js')>();
  return { ...m, measurePixels: vi.fn(m.measurePixels) };
});

const model = createModelCatalog().find('gemini-2.5-flash')!;
const rgb = Buffer.alloc(100 * 50 * 3, 0);
for (let i = 0; i < rgb.length; i += 3) rgb[i] = 220; // all red
const image = { width: 100, height: 50, rgb, hash: 'h1', format: 'png', mimeType: 'image/png', orientation: 1 } as unknown as DecodedImage;

function context(prompt: string, output: OutputFormat): ProviderContext {
  return {
    model,
    project: 'p',
    wire: { contents: [{ role: 'user', parts: [{ text: prompt }] }] },
    turns: [{ role: 'user', parts: [{ kind: 'image', label: 'contents[0].parts[0].inlineData', image }, { kind: 'text', text: prompt }] }],
    output,
    signal: new AbortController().signal,
    plan: planTasks(prompt, { imageCount: 1, jsonRequested: output.mimeType === 'application/json', vocabulary }),
    capability: 'answer',
    prompt,
    report: () => undefined,
  };
}

const runModels: RunModels = async (_img, needs) => ({
  objects: needs.detect ? [{ label: 'car', score: 0.9, box: [0.1, 0.2, 0.5, 0.9] }] : [],
  detectThreshold: 0.5,
  times: {},
});

async function answer(prompt: string, output: OutputFormat): Promise<string> {
  const vision = new OfflineVision({ runModels, installed: { detect: true, segment: false, ocr: false } });
  let out = '';
  for await (const p of vision.generate(context(prompt, output))) out += p;
  return out;
}

const measured = vi.mocked(measure.measurePixels);
// Braces: a function returned from beforeEach would be run as its teardown.
beforeEach(() => {
  measured.mockClear();
});

describe('colour measurement follows what the answer can say', () => {
  it('detection as JSON or text: boxes only, colours not measured', async () => {
    expect(JSON.parse(await answer('Detect all of the prominent items in the image.', { mimeType: 'application/json' }))).toEqual([
      { box_2d: [200, 100, 900, 500], label: 'car' },
    ]);
    expect(await answer('Detect all of the prominent items in the image.', { mimeType: 'text/plain' })).toContain('"box_2d"');
    expect(measured).not.toHaveBeenCalled();
  });

  it('detection with a responseSchema is measured, and its colour key gets the measured colour', async () => {
    const schema = { type: 'object', properties: { colour: { type: 'string' } } };
    const out = JSON.parse(await answer('Detect all of the prominent items in the image.', { mimeType: 'application/json', jsonSchema: schema }));
    expect(measured).toHaveBeenCalledTimes(1);
    expect(out).toEqual({ colour: 'red' });
  });

  it('a caption or a colour question is measured as before', async () => {
    await answer('Caption this image.', { mimeType: 'text/plain' });
    expect(measured).toHaveBeenCalledTimes(1);
    expect(await answer('What colour is the image?', { mimeType: 'text/plain' })).toMatch(/red/i);
    expect(measured).toHaveBeenCalledTimes(2);
  });
});
