/**
 * Grounded SAM through the real SDK: a grounding model (a Qwen2.5-VL server, mocked on
 * 127.0.0.1 and answering in its own pixel convention) boxes what the offline detector cannot
 * name, and the local SAM turns each box into a mask. Also: a route to a hub model that is not
 * pulled answers a 400 that says how to pull it, through the SDK.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as genai3 from 'genai3';
import { readFixture } from '../support/fixtures.js';
import { startServer, type RunningServer } from '../support/server.js';
import { startMockOpenAi, type MockOpenAi } from './openai/mock-server.js';

// The dog of dog.jpg (hand-labelled, test/vision/detect/ground-truth.json), named as an
// open-vocabulary model would name it.
const WOODEN = { label: 'wooden-looking dog', box: [0.17, 0.385, 0.4, 0.94] as [number, number, number, number] };

let vlm: MockOpenAi;
let server: RunningServer;
let modelsDir: string;

beforeAll(async () => {
  vlm = await startMockOpenAi({ model: 'qwen2.5vl:7b', objects: [WOODEN] });
  modelsDir = mkdtempSync(path.join(os.tmpdir(), 'ocellus-models-'));
  server = await startServer({
    flags: { ocr: false, modelsDir },
    routes: {
      providers: {
        vlm: { type: 'openai', baseUrl: `${vlm.url}/v1`, model: 'qwen2.5vl:7b' },
        gsam: { type: 'grounded-sam', grounding: 'vlm' },
        florence: { type: 'hub', model: 'onnx-community/Florence-2-base-ft' },
      },
      models: {
        '*': { segment: ['gsam', 'offline'], detect: ['vlm', 'offline'] },
        'florence-only': { all: ['florence'] },
      },
    },
  });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await vlm?.close();
  rmSync(modelsDir, { recursive: true, force: true });
});

const client = () => new genai3.GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: server.baseUrl } });
const dog = () => ({ inlineData: { mimeType: 'image/jpeg', data: readFixture('dog.jpg').toString('base64') } });

describe('grounded SAM: masks of what a grounding model found', () => {
  it("segments the guide's \"wooden and glass items\" with the VLM's box and the local SAM's mask", async () => {
    const prompt =
      'Give the segmentation masks for the wooden and glass items. Output a JSON list of segmentation masks where each entry contains the 2D bounding box in the key "box_2d", the segmentation mask in key "mask", and the text label in the key "label".';
    const r = await client().models.generateContent({
      model: 'gemini-2.5-flash',
      contents: [dog(), { text: prompt }],
      config: { responseMimeType: 'application/json' },
    });
    const items = JSON.parse(r.text!) as Array<{ box_2d: number[]; mask: string; label: string }>;
    expect(items).toHaveLength(1);
    const [item] = items;
    expect(item!.label).toBe(WOODEN.label);
    // Qwen2.5-VL pixels of its resized input, converted back: within a few units of the truth.
    const truth = [WOODEN.box[1], WOODEN.box[0], WOODEN.box[3], WOODEN.box[2]].map((v) => v * 1000);
    item!.box_2d.forEach((v, i) => expect(Math.abs(v - truth[i]!)).toBeLessThanOrEqual(5));
    // The grounding prompt reached the VLM with the phrase, and one image.
    const asked = JSON.stringify(vlm.requests.at(-1)!.body.messages);
    expect(asked).toMatch(/wooden/);
    // SAM's mask: an 8-bit PNG of the box region that covers the dog, not the whole box or nothing.
    expect(item!.mask).toMatch(/^data:image\/png;base64,/);
    const png = Buffer.from(item!.mask.split(',')[1]!, 'base64');
    const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
    const on = [...data].filter((v) => v > 127).length / (info.width * info.height);
    expect(on).toBeGreaterThan(0.3);
    expect(on).toBeLessThan(0.97);
  });

  it('open-vocabulary detection goes to the VLM and comes back as Gemini box_2d', async () => {
    const r = await client().models.generateContent({
      model: 'gemini-2.5-flash',
      contents: [dog(), { text: 'Detect the wooden items in the image. The box_2d should be [ymin, xmin, ymax, xmax] normalized to 0-1000.' }],
    });
    const fence = /```json\n([\s\S]*?)```/.exec(r.text!);
    expect(fence, r.text).not.toBeNull();
    const items = JSON.parse(fence![1]!) as Array<{ box_2d: number[]; label: string }>;
    expect(items.map((i) => i.label)).toEqual([WOODEN.label]);
  });

  it('models.get reports who serves each capability', async () => {
    const m = (await (await fetch(`${server.baseUrl}/v1beta/models/gemini-2.5-flash`)).json()) as { ocellusCapabilities: Record<string, string[]>; description: string };
    expect(m.ocellusCapabilities.segment).toEqual(['gsam', 'offline']);
    expect(m.ocellusCapabilities.detect).toEqual(['vlm', 'offline']);
    expect(m.description).toMatch(/segment \(gsam → offline\)/);
    const routed = await client().models.get({ model: 'florence-only' });
    expect(routed.name).toBe('models/florence-only');
  });
});

describe('a hub model that is not pulled', () => {
  it('is a 400 FAILED_PRECONDITION through the SDK, saying how to pull it', async () => {
    const err = await client()
      .models.generateContent({ model: 'florence-only', contents: [dog(), { text: 'Caption this image.' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(genai3.ApiError);
    expect((err as genai3.ApiError).status).toBe(400);
    expect((err as Error).message).toMatch(/ocellus pull onnx-community\/Florence-2-base-ft/);
  });
});
