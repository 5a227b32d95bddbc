/**
 * Safety through the real @google/genai 3.x SDK. Issue 9: OpenCV's basketball1.png (two
 * men tossing a basketball in an office) and a desk photo came back finishReason SAFETY on
 * the default settings. Now they are answered by default, with BLOCK_MEDIUM_AND_ABOVE and
 * with OFF, alone and in a two-image request; and a real block (a fake engine's HIGH
 * rating under a threshold) reaches the SDK as Gemini's blocked prompt.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as genai3 from 'genai3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/seam/request.js';
import { BENIGN_DIR } from '../support/benign-photos.js';
import { startServer, type RunningServer } from '../support/server.js';
import { MODEL } from './helpers.js';

const { GoogleGenAI, HarmBlockThreshold, HarmCategory, BlockedReason, FinishReason, createPartFromBase64, createUserContent } = genai3;
const photo = (name: string) => createPartFromBase64(readFileSync(path.join(BENIGN_DIR, name)).toString('base64'), name.endsWith('.png') ? 'image/png' : 'image/jpeg');
const SE = HarmCategory.HARM_CATEGORY_SEXUALLY_EXPLICIT;
const ALL = [HarmCategory.HARM_CATEGORY_HARASSMENT, HarmCategory.HARM_CATEGORY_HATE_SPEECH, SE, HarmCategory.HARM_CATEGORY_DANGEROUS_CONTENT];

describe('safety through @google/genai 3.x, real classifier', () => {
  let srv: RunningServer;
  let ai: InstanceType<typeof GoogleGenAI>;
  beforeAll(async () => {
    srv = await startServer({ flags: { segment: false, ocr: false } });
    ai = new GoogleGenAI({ apiKey: 'any-key', httpOptions: { baseUrl: srv.baseUrl } });
  }, 120_000);
  afterAll(() => srv?.stop());

  const configs = {
    'default settings': undefined,
    BLOCK_MEDIUM_AND_ABOVE: { safetySettings: [{ category: SE, threshold: HarmBlockThreshold.BLOCK_MEDIUM_AND_ABOVE }] },
    'OFF for every category': { safetySettings: ALL.map((category) => ({ category, threshold: HarmBlockThreshold.OFF })) },
  };

  for (const [name, config] of Object.entries(configs))
    it(`basketball1.png is answered, not blocked (${name})`, async () => {
      const r = await ai.models.generateContent({ model: MODEL, contents: createUserContent([photo('basketball1.png'), 'Caption this image.']), ...(config ? { config } : {}) });
      expect(r.promptFeedback).toBeUndefined();
      expect(r.candidates?.[0]?.finishReason).toBe(FinishReason.STOP);
      expect(r.text?.length).toBeGreaterThan(0);
      expect(r.candidates?.[0]?.safetyRatings).toEqual([{ category: SE, probability: 'NEGLIGIBLE' }]);
    }, 60_000);

  it('a two-image "what is different" request with basketball1.png and the desk photo is answered on the default settings, streaming too', async () => {
    const contents = createUserContent([photo('basketball1.png'), photo('stuff.jpg'), 'What is different between these images?']);
    const r = await ai.models.generateContent({ model: MODEL, contents });
    expect(r.candidates?.[0]?.finishReason).toBe(FinishReason.STOP);
    expect(r.text?.length).toBeGreaterThan(0);
    let text = '';
    for await (const chunk of await ai.models.generateContentStream({ model: MODEL, contents })) {
      expect(chunk.promptFeedback).toBeUndefined();
      text += chunk.text ?? '';
    }
    expect(text.length).toBeGreaterThan(0);
  }, 120_000);
});

describe('a blocked prompt as the SDK sees it', () => {
  let srv: RunningServer;
  let ai: InstanceType<typeof GoogleGenAI>;
  const fake: Engine = {
    name: 'fake',
    async *generate() {
      yield 'not to be seen';
    },
    rateSafety: async () => [{ category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT', probability: 'HIGH' }],
  };
  beforeAll(async () => {
    srv = await startServer({ engine: fake });
    ai = new GoogleGenAI({ apiKey: 'any-key', httpOptions: { baseUrl: srv.baseUrl } });
  });
  afterAll(() => srv?.stop());

  it('HIGH is reported but answered by default; BLOCK_ONLY_HIGH blocks the prompt: no candidates, promptFeedback.blockReason SAFETY', async () => {
    const contents = createUserContent([photo('stuff.jpg'), 'Caption this image.']);
    const open = await ai.models.generateContent({ model: MODEL, contents });
    expect(open.text).toBe('not to be seen');
    expect(open.candidates?.[0]?.safetyRatings).toEqual([{ category: SE, probability: 'HIGH' }]);

    const blocked = await ai.models.generateContent({
      model: MODEL,
      contents,
      config: { safetySettings: [{ category: SE, threshold: HarmBlockThreshold.BLOCK_ONLY_HIGH }] },
    });
    expect(blocked.candidates).toBeUndefined();
    expect(blocked.text).toBeUndefined();
    expect(blocked.promptFeedback?.blockReason).toBe(BlockedReason.SAFETY);
    expect(blocked.promptFeedback?.safetyRatings).toEqual([{ category: SE, probability: 'HIGH', blocked: true }]);
  });
});
