/**
 * The offline engine through the real server on the inputs the issue calls out: nothing
 * detectable, one pixel, a 12 MP photo, greyscale and CMYK, a phone photo stored turned
 * with EXIF orientation, and 3,600 tiny images in one request. Each gets a correct,
 * honest answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixture } from '../support/fixtures.js';
import { startServer, type RunningServer } from '../support/server.js';

let s: RunningServer;
beforeAll(async () => {
  // SAM loads on first use, so only the segmentation test below pays for it.
  s = await startServer({ flags: { ocr: false } });
}, 120_000);
afterAll(() => s.stop());

const inline = (name: Parameters<typeof readFixture>[0], mimeType = 'image/jpeg') => ({ inlineData: { mimeType, data: readFixture(name).toString('base64') } });

async function ask(parts: unknown[], generationConfig?: unknown): Promise<string> {
  const res = await fetch(`${s.baseUrl}/v1beta/models/gemini-2.5-flash:generateContent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ contents: [{ parts }], ...(generationConfig ? { generationConfig } : {}) }),
  });
  const body = (await res.json()) as { candidates?: Array<{ content: { parts: Array<{ text: string }> } }> };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.candidates![0]!.content.parts.map((p) => p.text).join('');
}

describe('offline engine edge cases', () => {
  it('a painting with nothing it knows: says so, with measured colours', async () => {
    const text = await ask([inline('scream.jpg'), { text: 'Caption this image.' }]);
    expect(text).toMatch(/cannot recognise any of the 80/);
    expect(text).toMatch(/mostly/);
  });

  it('a one-pixel image: too small, not an error, no invented objects', async () => {
    const text = await ask([inline('pixel-1x1.png', 'image/png'), { text: 'What is in this image?' }]);
    expect(text).toContain('too small (1×1 pixels)');
    expect(text).toMatch(/red/);
  });

  it('a phone photo stored turned with EXIF orientation 6 is seen upright (the dog is found)', async () => {
    const text = await ask([inline('dog-phone.jpg'), { text: 'Describe this image in detail.' }]);
    expect(text).toMatch(/\bdog\b/);
    expect(text).toContain('768×576');
  });

  it.each(['dog-grey.jpg', 'dog-cmyk.jpg'] as const)('%s: decoded right, so it finds the photo’s objects and nothing else', async (name) => {
    const detect = async (file: Parameters<typeof readFixture>[0]) =>
      (JSON.parse(await ask([inline(file), { text: 'Detect all of the prominent items in the image.' }], { responseMimeType: 'application/json' })) as Array<{ label: string }>).map(
        (i) => i.label,
      );
    const original = new Set(await detect('dog.jpg'));
    const labels = await detect(name);
    // Colour helps the detector, so a weak object may drop out in grey; nothing new may appear.
    expect(labels.length).toBeGreaterThanOrEqual(2);
    for (const l of labels) expect(original).toContain(l);
  });

  it('a 12-megapixel photo is analysed (people and kites on the beach)', async () => {
    const text = await ask([inline('photo-12mp.jpg'), { text: 'Caption this image.' }]);
    expect(text).toMatch(/people|person/);
    expect(text).toMatch(/kite/);
  });

  it('3,600 tiny images in one request: a summary that says why no objects are named', async () => {
    const px = inline('pixel-1x1.png', 'image/png');
    const text = await ask([...Array.from({ length: 3600 }, () => px), { text: 'Describe these images.' }]);
    expect(text).toContain('3600 images (1 distinct), all 1×1 pixels');
    expect(text).toContain('3600 of them are too small');
  });
});

describe("the guide's segmentation prompt, unchanged", () => {
  it('names what it cannot recognise ("wooden and glass items") and still gives parseable ```json, never other objects', async () => {
    const prompt =
      'Give the segmentation masks for the wooden and glass items.\nOutput a JSON list of segmentation masks where each entry contains the 2D\nbounding box in the key "box_2d", the segmentation mask in key "mask", and\nthe text label in the key "label". Use descriptive labels.';
    const text = await ask([{ text: prompt }, inline('dog.jpg')], { thinkingConfig: { thinkingBudget: 0 } });
    expect(text).toMatch(/cannot recognise "wooden" and "glass"/);
    // The guide's parse_json: everything after the line "```json", up to the next fence.
    const lines = text.split('\n');
    const start = lines.indexOf('```json');
    expect(start).toBeGreaterThanOrEqual(0);
    const items = JSON.parse(lines.slice(start + 1).join('\n').split('```')[0]!) as unknown[];
    expect(items).toEqual([]);
  });

  it('with SAM not loaded: 400 FAILED_PRECONDITION saying how to enable segmentation, not a made-up mask', async () => {
    const noSam = await startServer({ flags: { segment: false, ocr: false } });
    try {
      const res = await fetch(`${noSam.baseUrl}/v1beta/models/gemini-2.5-flash:generateContent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ parts: [{ text: 'Give the segmentation masks for the dog.' }, inline('dog.jpg')] }] }),
      });
      const body = (await res.json()) as { error: { code: number; status: string; message: string } };
      expect(res.status).toBe(400);
      expect(body.error.status).toBe('FAILED_PRECONDITION');
      expect(body.error.message).toMatch(/No configured provider can segment objects for model gemini-2\.5-flash/);
      expect(body.error.message).toMatch(/drop --no-segment/);
    } finally {
      await noSam.stop();
    }
  });
});
