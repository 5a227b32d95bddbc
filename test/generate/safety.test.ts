/**
 * safetySettings against the engine's safetyRatings, through the real server. As Gemini
 * 2.x/3.x: nothing is blocked unless the request sets a threshold (no setting and
 * HARM_BLOCK_THRESHOLD_UNSPECIFIED mean the default, OFF), and the ratings are reported
 * either way. The ratings are of the request's images, i.e. of the prompt, so a block is
 * Gemini's blocked-prompt shape: HTTP 200, no candidates, `promptFeedback.blockReason:
 * SAFETY` with the blocking rating flagged. A fake engine supplies the rating, so no
 * explicit image is needed; the real classifier is checked on issue 9's photos.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/seam/request.js';
import type { HarmProbability } from '../../src/vision/safety/ratings.js';
import { BENIGN_DIR } from '../support/benign-photos.js';
import { readFixture } from '../support/fixtures.js';
import { startServer, type RunningServer } from '../support/server.js';

const SE = 'HARM_CATEGORY_SEXUALLY_EXPLICIT';
let rated: HarmProbability = 'HIGH';
let imagesRated: number[] = [];
const fake: Engine = {
  name: 'fake',
  async *generate() {
    yield 'An answer that must not leak when blocked.';
  },
  rateSafety: async (images) => {
    imagesRated.push(images.length);
    return [{ category: SE, probability: rated }];
  },
};

const dog = () => ({ inlineData: { mimeType: 'image/jpeg', data: readFixture('dog.jpg').toString('base64') } });
const body = (safetySettings?: unknown, extra: Record<string, unknown> = {}, images = [dog()]) =>
  JSON.stringify({
    contents: [{ parts: [...images, { text: 'Caption this image.' }] }],
    ...(safetySettings ? { safetySettings } : {}),
    ...extra,
  });
const setting = (threshold: string) => [{ category: SE, threshold }];

interface Reply {
  candidates?: Array<{ finishReason: string; safetyRatings?: unknown; content?: { parts: Array<{ text: string }> } }>;
  promptFeedback?: { blockReason: string; safetyRatings: unknown };
  usageMetadata: { promptTokenCount: number; candidatesTokenCount: number };
  modelVersion: string;
  responseId: string;
}

describe('safety settings (a fake engine rates every image)', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer({ engine: fake });
  });
  afterAll(() => s.stop());
  const post = async (path: string, b: string) => fetch(`${s.baseUrl}/v1beta/models/gemini-2.5-flash:${path}`, { method: 'POST', body: b });
  const generate = async (b: string): Promise<Reply> => {
    const r = await post('generateContent', b);
    expect(r.status).toBe(200);
    return (await r.json()) as Reply;
  };
  const answered = (j: Reply, probability: HarmProbability) => {
    expect(j.promptFeedback).toBeUndefined();
    expect(j.candidates?.[0]?.finishReason).toBe('STOP');
    expect(j.candidates?.[0]?.content?.parts[0]?.text).toContain('An answer');
    expect(j.candidates?.[0]?.safetyRatings).toEqual([{ category: SE, probability }]);
  };

  it.each([
    ['no safetySettings', undefined],
    ['HARM_BLOCK_THRESHOLD_UNSPECIFIED', setting('HARM_BLOCK_THRESHOLD_UNSPECIFIED')],
    ['OFF', setting('OFF')],
    ['BLOCK_NONE', setting('BLOCK_NONE')],
    ['a threshold for another category only', [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_LOW_AND_ABOVE' }]],
  ])('%s: a HIGH rating is reported and nothing is blocked (the default is OFF)', async (_name, settings) => {
    rated = 'HIGH';
    answered(await generate(body(settings)), 'HIGH');
  });

  it.each([
    ['BLOCK_LOW_AND_ABOVE', 'LOW', true],
    ['BLOCK_LOW_AND_ABOVE', 'NEGLIGIBLE', false],
    ['BLOCK_MEDIUM_AND_ABOVE', 'MEDIUM', true],
    ['BLOCK_MEDIUM_AND_ABOVE', 'LOW', false],
    ['BLOCK_ONLY_HIGH', 'HIGH', true],
    ['BLOCK_ONLY_HIGH', 'MEDIUM', false],
  ] as const)('%s with a %s rating → %s', async (threshold, probability, blocked) => {
    rated = probability;
    const j = await generate(body(setting(threshold)));
    if (!blocked) return answered(j, probability);
    expect(j.candidates).toBeUndefined();
    expect(j.promptFeedback).toEqual({ blockReason: 'SAFETY', safetyRatings: [{ category: SE, probability, blocked: true }] });
    expect(j.usageMetadata.promptTokenCount).toBeGreaterThan(0);
    expect(j.usageMetadata.candidatesTokenCount).toBe(0);
    expect(j.modelVersion).toBeTruthy();
    expect(j.responseId).toBeTruthy();
    expect(JSON.stringify(j)).not.toContain('must not leak');
  });

  it('a blocked prompt is one response without candidates, whatever candidateCount asks', async () => {
    rated = 'HIGH';
    const j = await generate(body(setting('BLOCK_MEDIUM_AND_ABOVE'), { generationConfig: { candidateCount: 2 } }));
    expect(j.candidates).toBeUndefined();
    expect(j.promptFeedback?.blockReason).toBe('SAFETY');
  });

  it('blocks in a stream too, as one complete SSE event with promptFeedback', async () => {
    rated = 'HIGH';
    const r = await post('streamGenerateContent?alt=sse', body(setting('BLOCK_ONLY_HIGH')));
    expect(r.status).toBe(200);
    const events = (await r.text()).split('\r\n\r\n').filter(Boolean);
    expect(events).toHaveLength(1);
    const j = JSON.parse(events[0]!.replace(/^data: /, '')) as Reply;
    expect(j.candidates).toBeUndefined();
    expect(j.promptFeedback?.blockReason).toBe('SAFETY');
  });

  it('streams the answer with the ratings when not blocked', async () => {
    rated = 'MEDIUM';
    const r = await post('streamGenerateContent?alt=sse', body());
    const events = (await r.text()).split('\r\n\r\n').filter(Boolean).map((e) => JSON.parse(e.replace(/^data: /, '')) as Reply);
    const last = events.at(-1)!;
    expect(last.candidates?.[0]?.finishReason).toBe('STOP');
    expect(last.candidates?.[0]?.safetyRatings).toEqual([{ category: SE, probability: 'MEDIUM' }]);
  });

  it('rates every image of a multi-image request together', async () => {
    rated = 'LOW';
    imagesRated = [];
    answered(await generate(body(undefined, {}, [dog(), dog()])), 'LOW');
    expect(imagesRated).toEqual([2]);
  });

  it('refuses an unknown threshold with a 400 naming the field', async () => {
    const r = await post('generateContent', body(setting('BLOCK_SOME')));
    expect(r.status).toBe(400);
    const j = (await r.json()) as { error: { message: string; status: string } };
    expect(j.error.status).toBe('INVALID_ARGUMENT');
    expect(j.error.message).toContain('safety_settings[0].threshold');
  });
});

describe('the real classifier on the photos issue 9 saw blocked', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer({ flags: { segment: false, ocr: false } });
  }, 120_000);
  afterAll(() => s.stop());

  const photo = (name: string) => ({
    inlineData: { mimeType: name.endsWith('.png') ? 'image/png' : 'image/jpeg', data: readFileSync(path.join(BENIGN_DIR, name)).toString('base64') },
  });

  it('basketball1.png and stuff.jpg, alone and together, are answered even at BLOCK_MEDIUM_AND_ABOVE, rated NEGLIGIBLE', async () => {
    for (const images of [[photo('basketball1.png')], [photo('stuff.jpg')], [photo('basketball1.png'), photo('stuff.jpg')]]) {
      const r = await fetch(`${s.baseUrl}/v1beta/models/gemini-2.5-flash:generateContent`, {
        method: 'POST',
        body: body(setting('BLOCK_MEDIUM_AND_ABOVE'), {}, images),
      });
      const j = (await r.json()) as Reply;
      expect(j.promptFeedback).toBeUndefined();
      expect(j.candidates?.[0]?.finishReason).toBe('STOP');
      expect(j.candidates?.[0]?.safetyRatings).toEqual([{ category: SE, probability: 'NEGLIGIBLE' }]);
      expect(j.candidates?.[0]?.content?.parts[0]?.text.length).toBeGreaterThan(0);
    }
  }, 120_000);
});
