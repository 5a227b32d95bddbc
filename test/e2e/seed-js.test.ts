/**
 * Every JavaScript example of the seed guide (docs/seed/gemini-image-understanding), as
 * written there, through both SDK majors against a running Ocellus. The only changes to
 * the examples: `httpOptions: { baseUrl }` (and a real API key) in the client options,
 * local fixture paths instead of `path/to/…`, a loopback URL instead of
 * `https://goo.gle/instrument-img`, and the response returned instead of console.log'd.
 *
 * Beyond the response shape and token accounting, each test asserts what the offline vision
 * engine must really see: the dog and the bicycle of dog.jpg (and no class the photo does not
 * show), the difference between two photos, a dog box where the dog is, and a dog mask that
 * fills a fair share of its box.
 */
import * as fs from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath } from '../support/fixtures.js';
import { startServer, type RunningServer } from '../support/server.js';
import {
  expectDetections,
  expectDogFound,
  expectDogJpgCaption,
  imageTokens2x,
  imageTokensOf,
  KEY_A,
  SDKS,
  SIZES,
  startStaticServer,
  type Sdk,
  type StaticServer,
} from './helpers.js';

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
    expectDogJpgCaption(response.text!); // seen, not invented
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
    expectDogJpgCaption(response.text!);
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
    expectDogJpgCaption(result!.text!);
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
    expectDogJpgCaption(response!.text!);
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
    // What only one of them shows, each named by its place in the request.
    expect(text).toMatch(/Only image 1 has [^.]*\bhorses?\b/);
    expect(text).toMatch(/Only image 2 has [^.]*\bdog\b/);
    expect(text).not.toMatch(/Only image 1 has [^.]*\bdog\b/);
    expect(text).not.toMatch(/Only image 2 has [^.]*\bhorses?\b/);
    // How much of the pixels differ, and the measured sizes, in order.
    expect(text).toMatch(/Images 1 and 2 differ in about \d+% of their area/);
    expect(text).toContain('773×512 and 768×576');
    expect(text).not.toMatch(/\bsame\b/i);
    await ai.files.delete({ name: uploaded.name! });
  });

  it('multiple images: the same photo uploaded as JPEG and inline as PNG → reported the same', async () => {
    const { ai, response, contents, uploaded } = await multiImage(fixturePath('dog.jpg'), fixturePath('dog.png'));
    await expectGeminiResponse(ai, response, contents, [SIZES['dog.jpg'], SIZES['dog.jpg']]);
    const text = response.text!;
    // Different bytes (JPEG vs PNG), the same pixels: not "the same file", but the same look.
    expect(text).toMatch(/\bImages 1 and 2 look the same\b/);
    expect(text).not.toMatch(/same file/i);
    expect(text).not.toMatch(/differ/i);
    expect(text).not.toMatch(/\bOnly image\b/i);
    await ai.files.delete({ name: uploaded.name! });
  });

  it('object detection (the seed\'s Python, in JS): responseMimeType application/json → a box_2d list with the dog where it is', async () => {
    const ai = new GoogleGenAI({ apiKey: KEY_A, httpOptions: { baseUrl } });
    const prompt = 'Detect the all of the prominent items in the image. The box_2d should be [ymin, xmin, ymax, xmax] normalized to 0-1000.';
    const image = { inlineData: { mimeType: 'image/png', data: fs.readFileSync(fixturePath('dog.png'), { encoding: 'base64' }) } };
    const config = { responseMimeType: 'application/json' };
    const response = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: [image, prompt], config });
    await expectGeminiResponse(ai, response, [image, prompt], [SIZES['dog.jpg']]);
    // ---- the seed's post-processing ----
    const [width, height] = SIZES['dog.jpg'];
    const boundingBoxes = expectDetections(JSON.parse(response.text!));
    const converted = boundingBoxes.map((b) => [
      Math.trunc((b.box_2d[1] / 1000) * width),
      Math.trunc((b.box_2d[0] / 1000) * height),
      Math.trunc((b.box_2d[3] / 1000) * width),
      Math.trunc((b.box_2d[2] / 1000) * height),
    ]);
    // ---- end of seed post-processing ----
    expectDogFound(boundingBoxes);
    expect(boundingBoxes.map((b) => b.label)).toContain('bicycle');
    // The seed's pixel boxes are non-empty and inside the 768×576 frame.
    for (const [x1, y1, x2, y2] of converted) {
      expect(0 <= x1! && x1! < x2! && x2! <= width, `x ${x1}..${x2}`).toBe(true);
      expect(0 <= y1! && y1! < y2! && y2! <= height, `y ${y1}..${y2}`).toBe(true);
    }
  });

  it("segmentation (the seed's Python, in TS): ```json fence, box_2d + PNG mask per item, the dog's mask fills its box fairly", async () => {
    // ---- seed example: parse_json / extract_segmentation_masks, in TypeScript ----
    function parseJson(jsonOutput: string): string {
      const lines = jsonOutput.split(/\r?\n/);
      for (const [i, line] of lines.entries()) {
        if (line === '```json') {
          jsonOutput = lines.slice(i + 1).join('\n'); // Remove everything before "```json"
          jsonOutput = jsonOutput.split('```')[0]!; // Remove everything after the closing "```"
          break; // Exit the loop once "```json" is found
        }
      }
      return jsonOutput;
    }

    const ai = new GoogleGenAI({ apiKey: KEY_A, httpOptions: { baseUrl } });
    // im.thumbnail([1024, 1024]): dog.jpg is already smaller, so the image is sent as is.
    const imageBytes = fs.readFileSync(fixturePath('dog.jpg'));
    const meta = await sharp(imageBytes).metadata();
    const im = { size: [meta.width!, meta.height!] as const };
    expect(Math.max(...im.size)).toBeLessThanOrEqual(1024);
    // The seed asks for "the wooden and glass items" of its own photo; dog.jpg's are a dog and a bicycle.
    const prompt = `
  Give the segmentation masks for the dog and the bicycle.
  Output a JSON list of segmentation masks where each entry contains the 2D
  bounding box in the key "box_2d", the segmentation mask in key "mask", and
  the text label in the key "label". Use descriptive labels.
  `;
    const config = {
      thinkingConfig: { thinkingBudget: 0 }, // set thinking_budget to 0 for better results in object detection
    };
    const response = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: [prompt, { inlineData: { mimeType: 'image/jpeg', data: imageBytes.toString('base64') } }],
      config,
    });

    const items = JSON.parse(parseJson(response.text!)) as Array<{ box_2d: number[]; mask: string; label: string }>;
    const processed: Array<{ label: string; boxPixels: number; maskPixels: number }> = [];
    for (const item of items) {
      // Get bounding box coordinates
      const box = item.box_2d;
      const y0 = Math.trunc((box[0]! / 1000) * im.size[1]);
      const x0 = Math.trunc((box[1]! / 1000) * im.size[0]);
      const y1 = Math.trunc((box[2]! / 1000) * im.size[1]);
      const x1 = Math.trunc((box[3]! / 1000) * im.size[0]);
      // Skip invalid boxes
      if (y0 >= y1 || x0 >= x1) continue;
      // Process mask
      let pngStr = item.mask;
      if (!pngStr.startsWith('data:image/png;base64,')) continue;
      pngStr = pngStr.slice('data:image/png;base64,'.length);
      const maskData = Buffer.from(pngStr, 'base64');
      // Image.open(...) → mode "L": an 8-bit greyscale PNG
      expectGreyscale8Png(maskData);
      // Resize mask to match bounding box (BILINEAR), as an array
      const maskArray = await sharp(maskData).resize(x1 - x0, y1 - y0, { kernel: 'linear', fit: 'fill' }).extractChannel(0).raw().toBuffer();
      expect(maskArray.length).toBe((x1 - x0) * (y1 - y0));
      let on = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (maskArray[(y - y0) * (x1 - x0) + (x - x0)]! > 127) on++;
      processed.push({ label: item.label, boxPixels: (x1 - x0) * (y1 - y0), maskPixels: on });
    }
    // ---- end of seed example ----

    await expectGeminiResponse(ai, response, [prompt, { inlineData: { mimeType: 'image/jpeg', data: imageBytes.toString('base64') } }], [SIZES['dog.jpg']]);
    expect(response.text).toMatch(/^```json$/m);
    // Every item was usable (none skipped), and they are what was asked for.
    expect(processed).toHaveLength(items.length);
    expect(items.map((i) => i.label).sort()).toEqual(['bicycle', 'dog']);
    const dog = expectDogFound(items);
    const dogMask = processed[items.indexOf(dog)]!;
    const share = dogMask.maskPixels / dogMask.boxPixels;
    expect(share, `dog mask covers ${(share * 100).toFixed(1)}% of its box`).toBeGreaterThan(0.3);
    expect(share).toBeLessThan(0.95);
    for (const p of processed) expect(p.maskPixels, `${p.label} mask is not empty`).toBeGreaterThan(0);
  });
});

/** PNG signature, IHDR first, bit depth 8, colour type 0 (greyscale, no alpha): what PIL opens as mode "L". */
function expectGreyscale8Png(png: Buffer): void {
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'PNG signature').toBe(true);
  expect(png.toString('latin1', 12, 16)).toBe('IHDR');
  expect({ bitDepth: png[24], colourType: png[25] }).toEqual({ bitDepth: 8, colourType: 0 });
}
