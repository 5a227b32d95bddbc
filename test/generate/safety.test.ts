/**
 * safetySettings against the engine's safetyRatings, end to end: a rating at or above the
 * threshold blocks the candidate (finishReason SAFETY, no content); BLOCK_NONE lets the
 * answer through with the ratings attached. A fake engine supplies the rating, so no
 * explicit image is needed; the real classifier's NEGLIGIBLE path is checked on a photo.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { readFixture } from '../support/fixtures.js';
import { startServer, type RunningServer } from '../support/server.js';

const explicitRating = [{ category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT' as const, probability: 'HIGH' as const }];
const fake: Engine = {
  name: 'fake',
  async *generate() {
    yield 'An answer that must not leak when blocked.';
  },
  rateSafety: async () => explicitRating,
};

const body = (safetySettings?: unknown) =>
  JSON.stringify({
    contents: [{ parts: [{ inlineData: { mimeType: 'image/jpeg', data: readFixture('dog.jpg').toString('base64') } }, { text: 'Caption this image.' }] }],
    ...(safetySettings ? { safetySettings } : {}),
  });

describe('safety settings', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer({ engine: fake });
  });
  afterAll(() => s.stop());
  const post = (path: string, b: string) => fetch(`${s.baseUrl}/v1beta/models/gemini-2.5-flash:${path}`, { method: 'POST', body: b });

  it('blocks at the default threshold: finishReason SAFETY, no content, the blocking rating flagged', async () => {
    const r = await post('generateContent', body());
    expect(r.status).toBe(200);
    const j = (await r.json()) as { candidates: Array<Record<string, unknown>> };
    expect(j.candidates[0]).toEqual({
      finishReason: 'SAFETY',
      index: 0,
      safetyRatings: [{ category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT', probability: 'HIGH', blocked: true }],
    });
    expect(JSON.stringify(j)).not.toContain('must not leak');
  });

  it('blocks in a stream too, as one complete SSE event', async () => {
    const r = await post('streamGenerateContent?alt=sse', body());
    const text = await r.text();
    const events = text.split('\r\n\r\n').filter(Boolean);
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!.replace(/^data: /, '')).candidates[0].finishReason).toBe('SAFETY');
  });

  it('BLOCK_NONE lets the answer through, with the rating attached', async () => {
    const r = await post('generateContent', body([{ category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT', threshold: 'BLOCK_NONE' }]));
    const j = (await r.json()) as { candidates: Array<{ finishReason: string; safetyRatings: unknown; content: { parts: Array<{ text: string }> } }> };
    expect(j.candidates[0]!.finishReason).toBe('STOP');
    expect(j.candidates[0]!.content.parts[0]!.text).toContain('An answer');
    expect(j.candidates[0]!.safetyRatings).toEqual([{ category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT', probability: 'HIGH' }]);
  });
});

describe('the real classifier on a photo', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer({ flags: { segment: false, ocr: false } });
  }, 120_000);
  afterAll(() => s.stop());

  it('rates dog.jpg NEGLIGIBLE and answers normally even with the strictest threshold', async () => {
    const r = await fetch(`${s.baseUrl}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      body: body([{ category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT', threshold: 'BLOCK_LOW_AND_ABOVE' }]),
    });
    const j = (await r.json()) as { candidates: Array<{ finishReason: string; safetyRatings: unknown; content: { parts: Array<{ text: string }> } }> };
    expect(j.candidates[0]!.finishReason).toBe('STOP');
    expect(j.candidates[0]!.safetyRatings).toEqual([{ category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT', probability: 'NEGLIGIBLE' }]);
    expect(j.candidates[0]!.content.parts[0]!.text).toMatch(/\bdog\b/);
  });
});
