/**
 * Every JavaScript example of the seed guide (docs/seed/gemini-image-understanding), as
 * written there, through both SDK majors against a running Ocellus. The only changes to
 * the examples: `httpOptions: { baseUrl }` (and a real API key) in the client options,
 * local fixture paths instead of `path/to/…`, a loopback URL instead of
 * `https://goo.gle/instrument-img`, and the response returned instead of console.log'd.
 *
 * The engine today measures (format, size, colours, differences) and says captioning needs
 * a vision model; so these tests assert the response shape, token accounting and measured
 * facts, never caption words.
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath } from '../support/fixtures.js';
import { startServer, type RunningServer } from '../support/server.js';
import { imageTokens2x, imageTokensOf, KEY_A, SDKS, SIZES, startStaticServer, type Sdk, type StaticServer } from './helpers.js';

let srv: RunningServer;
let web: StaticServer;
let baseUrl: string;

beforeAll(async () => {
  // "GOOGLE_API_KEY" is the seed's literal placeholder key: accepting it lets one example run
  // with no code change at all (base URL from GOOGLE_GEMINI_BASE_URL).
  srv = await startServer({ apiKeys: [KEY_A, 'GOOGLE_API_KEY'] });
  baseUrl = srv.baseUrl;
  web = await startStaticServer({ 'instrument-img': { fixture: 'dog.jpg', type: 'image/jpeg' } });
  process.env.GOOGLE_API_KEY = KEY_A; // the URL example reads the key from the environment
});

afterAll(async () => {
  delete process.env.GOOGLE_API_KEY;
  await web?.close();
  await srv?.stop();
});

type GenAI = InstanceType<Sdk['GoogleGenAI']>;
type Response = Awaited<ReturnType<GenAI['models']['generateContent']>>;
type Contents = Parameters<GenAI['models']['countTokens']>[0]['contents'];

/** The checks every seed example's response must pass. */
async function expectGeminiResponse(ai: GenAI, response: Response, contents: Contents, images: Array<readonly [number, number]>): Promise<void> {
  expect(response.text).toEqual(expect.any(String));
  expect(response.text!.trim().length).toBeGreaterThan(0);
  expect(response.candidates).toHaveLength(1);
  const cand = response.candidates![0]!;
  expect(cand.content?.role).toBe('model');
  expect(cand.content?.parts?.length).toBeGreaterThan(0);
  expect(cand.finishReason).toBe('STOP');
  expect(cand.index ?? 0).toBe(0);
  expect(response.modelVersion).toBe('gemini-2.5-flash');
  expect(response.responseId).toMatch(/^[\w-]{8,}$/);

  const usage = response.usageMetadata!;
  const counted = await ai.models.countTokens({ model: 'gemini-2.5-flash', contents });
  expect(usage.promptTokenCount).toBe(counted.totalTokens);
  const expectedImages = images.reduce((sum, [w, h]) => sum + imageTokens2x(w, h), 0);
  expect(imageTokensOf(usage)).toBe(expectedImages);
  const text = usage.promptTokensDetails?.find((d) => d.modality === 'TEXT')?.tokenCount ?? 0;
  expect(text).toBeGreaterThan(0); // every example has a text prompt
  expect(usage.promptTokenCount).toBe(expectedImages + text);
  expect(usage.candidatesTokenCount).toBeGreaterThan(0);
  expect(usage.totalTokenCount).toBe(usage.promptTokenCount! + usage.candidatesTokenCount! + (usage.thoughtsTokenCount ?? 0));
}

describe.each(SDKS)('seed JavaScript examples, $label', ({ sdk }) => {
  const { GoogleGenAI, createUserContent, createPartFromUri } = sdk;

  it('the worked token example: dog.jpg 768×576 → crop 384 → 2×2 tiles = 1032 tokens', () => {
    expect(imageTokens2x(768, 576)).toBe(1032);
    expect(imageTokens2x(960, 540)).toBe(1548); // the docs' own example
    expect(imageTokens2x(384, 384)).toBe(258);
  });

  it('passes inline image data (readFileSync base64 + "Caption this image.")', async () => {
    // ---- seed example, verbatim but for httpOptions and paths ----
    const ai = new GoogleGenAI({ apiKey: KEY_A, httpOptions: { baseUrl } });
    const base64ImageFile = fs.readFileSync(fixturePath('dog.jpg'), {
      encoding: 'base64',
    });

    const contents = [
      {
        inlineData: {
          mimeType: 'image/jpeg',
          data: base64ImageFile,
        },
      },
      { text: 'Caption this image.' },
    ];

    const response = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: contents,
    });
    // ---- end of seed example ----
    await expectGeminiResponse(ai, response, contents, [SIZES['dog.jpg']]);
    expect(response.text).toContain('768×576'); // measured, not invented
  });

  it('runs the inline example with no code change at all, the base URL coming from GOOGLE_GEMINI_BASE_URL', async () => {
    process.env.GOOGLE_GEMINI_BASE_URL = baseUrl;
    let response: Response;
    let ai: GenAI;
    let contents;
    try {
      // ---- seed example, verbatim but for the path ----
      ai = new GoogleGenAI({ apiKey: 'GOOGLE_API_KEY' });
      const base64ImageFile = fs.readFileSync(fixturePath('dog.jpg'), {
        encoding: 'base64',
      });

      contents = [
        {
          inlineData: {
            mimeType: 'image/jpeg',
            data: base64ImageFile,
          },
        },
        { text: 'Caption this image.' },
      ];

      response = await ai.models.generateContent({
        model: 'gemini-2.5-flash',
        contents: contents,
      });
      // ---- end of seed example ----
      await expectGeminiResponse(ai, response, contents, [SIZES['dog.jpg']]);
    } finally {
      delete process.env.GOOGLE_GEMINI_BASE_URL;
    }
    expect(response.text).toContain('768×576');
  });

  it('passes image bytes the client fetched from a URL', async () => {
    let result: Response | undefined;
    let ai: GenAI | undefined;
    let sent: Contents | undefined;
    // ---- seed example ----
    async function main() {
      ai = new GoogleGenAI({ apiKey: process.env.GOOGLE_API_KEY, httpOptions: { baseUrl } });

      const imageUrl = web.url('instrument-img');

      const response = await fetch(imageUrl);
      const imageArrayBuffer = await response.arrayBuffer();
      const base64ImageData = Buffer.from(imageArrayBuffer).toString('base64');

      result = await ai.models.generateContent({
        model: 'gemini-2.5-flash',
        contents: (sent = [
          {
            inlineData: {
              mimeType: 'image/jpeg',
              data: base64ImageData,
            },
          },
          { text: 'Caption this image.' },
        ]),
      });
    }

    await main();
    // ---- end of seed example ----
    await expectGeminiResponse(ai!, result!, sent!, [SIZES['dog.jpg']]);
    expect(result!.text).toContain('768×576');
  });

  it('uploads with the Files API, then uses createPartFromUri(myfile.uri, myfile.mimeType)', async () => {
    let response: Response | undefined;
    let uploaded: { uri?: string; mimeType?: string; name?: string } | undefined;
    // ---- seed example ----
    const ai = new GoogleGenAI({ apiKey: KEY_A, httpOptions: { baseUrl } });

    async function main() {
      const myfile = await ai.files.upload({
        file: fixturePath('dog.jpg'),
        config: { mimeType: 'image/jpeg' },
      });
      uploaded = myfile;

      response = await ai.models.generateContent({
        model: 'gemini-2.5-flash',
        contents: createUserContent([createPartFromUri(myfile.uri!, myfile.mimeType!), 'Caption this image.']),
      });
    }

    await main();
    // ---- end of seed example ----
    expect(uploaded).toMatchObject({ mimeType: 'image/jpeg', state: 'ACTIVE' });
    expect(uploaded!.uri).toMatch(new RegExp(`^${baseUrl}/v1(beta)?/files/[a-z0-9-]+$`));
    await expectGeminiResponse(
      ai,
      response!,
      createUserContent([createPartFromUri(uploaded!.uri!, uploaded!.mimeType!), 'Caption this image.']),
      [SIZES['dog.jpg']],
    );
    expect(response!.text).toContain('768×576');
    await ai.files.delete({ name: uploaded!.name! });
  });

  /** The seed's multi-image example with image1 (uploaded) and image2 (inline PNG). */
  async function multiImage(image1_path: string, image2_path: string) {
    let response: Response | undefined;
    let uploaded: { uri?: string; mimeType?: string; name?: string } | undefined;
    let base64Png = '';
    // ---- seed example ----
    const ai = new GoogleGenAI({ apiKey: KEY_A, httpOptions: { baseUrl } });

    async function main() {
      // Upload the first image
      const uploadedFile = await ai.files.upload({
        file: image1_path,
        config: { mimeType: 'image/jpeg' },
      });
      uploaded = uploadedFile;

      // Prepare the second image as inline data
      const base64Image2File = fs.readFileSync(image2_path, {
        encoding: 'base64',
      });
      base64Png = base64Image2File;

      // Create the prompt with text and multiple images
      response = await ai.models.generateContent({
        model: 'gemini-2.5-flash',
        contents: createUserContent([
          'What is different between these two images?',
          createPartFromUri(uploadedFile.uri!, uploadedFile.mimeType!),
          {
            inlineData: {
              mimeType: 'image/png',
              data: base64Image2File,
            },
          },
        ]),
      });
    }

    await main();
    // ---- end of seed example ----
    const contents = createUserContent([
      'What is different between these two images?',
      createPartFromUri(uploaded!.uri!, uploaded!.mimeType!),
      { inlineData: { mimeType: 'image/png', data: base64Png } },
    ]);
    return { ai, response: response!, contents, uploaded: uploaded! };
  }

  it('multiple images: an uploaded JPEG and an inline PNG of different photos → a difference is reported', async () => {
    const { ai, response, contents, uploaded } = await multiImage(fixturePath('horses.jpg'), fixturePath('dog.png'));
    await expectGeminiResponse(ai, response, contents, [SIZES['horses.jpg'], SIZES['dog.jpg']]);
    const text = response.text!;
    // Both images are spoken of, each with its measured size, in order.
    expect(text).toMatch(/image 1/i);
    expect(text).toMatch(/image 2/i);
    expect(text).toContain('773×512');
    expect(text).toContain('768×576');
    expect(text.indexOf('773×512')).toBeLessThan(text.indexOf('768×576'));
    expect(text).toMatch(/differ/i);
    expect(text).not.toMatch(/\bsame\b/i);
    await ai.files.delete({ name: uploaded.name! });
  });

  it('multiple images: the same photo uploaded as JPEG and inline as PNG → reported the same', async () => {
    const { ai, response, contents, uploaded } = await multiImage(fixturePath('dog.jpg'), fixturePath('dog.png'));
    await expectGeminiResponse(ai, response, contents, [SIZES['dog.jpg'], SIZES['dog.jpg']]);
    const text = response.text!;
    expect(text).toMatch(/image 1/i);
    expect(text).toMatch(/image 2/i);
    expect(text).toMatch(/\bsame\b/i);
    expect(text).not.toMatch(/differ in/i);
    await ai.files.delete({ name: uploaded.name! });
  });

  it('object detection prompt with responseMimeType application/json → JSON.parse(response.text) works', async () => {
    // The seed shows this in Python only; the same call in JS.
    const ai = new GoogleGenAI({ apiKey: KEY_A, httpOptions: { baseUrl } });
    const prompt = 'Detect the all of the prominent items in the image. The box_2d should be [ymin, xmin, ymax, xmax] normalized to 0-1000.';
    const image = { inlineData: { mimeType: 'image/png', data: fs.readFileSync(fixturePath('dog.png'), { encoding: 'base64' }) } };
    const config = { responseMimeType: 'application/json' };
    const response = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: [image, prompt], config });
    await expectGeminiResponse(ai, response, [image, prompt], [SIZES['dog.jpg']]);
    const parsed: unknown = JSON.parse(response.text!);
    expect(typeof parsed).toBe('object');
    expect(parsed).not.toBeNull();
  });
});
