/**
 * The offline engine with its analysis cache: a conversation about one photo (the SDKs' chats
 * resend it every turn) runs the models once, and every answer equals the one a fresh engine
 * gives.
 */
import { describe, expect, it } from 'vitest';
import { OfflineVision, type RunModels } from '../../src/engine/offline/vision.js';
import { planTasks } from '../../src/engine/planner.js';
import { createModelCatalog } from '../../src/engine/model-catalog.js';
import { vocabulary } from '../../src/vision/detect/coco.js';
import { AnalysisCache } from '../../src/vision/analysis-cache.js';
import type { ProviderContext } from '../../src/seam/provider.js';
import type { DecodedImage } from '../../src/media/decode.js';
import type { AnalysisNeeds } from '../../src/vision/analysis.js';
import type { InstalledModels } from '../../src/engine/offline/provider.js';

const model = createModelCatalog().find('gemini-2.5-flash')!;
const installed: InstalledModels = { detect: true, segment: false, ocr: true, safety: true };

function photo(hash: string): DecodedImage {
  const rgb = Buffer.alloc(120 * 80 * 3, 90);
  return { width: 120, height: 80, rgb, hash, format: 'jpeg', mimeType: 'image/jpeg', orientation: 1 } as unknown as DecodedImage;
}

function context(prompt: string, image: DecodedImage): ProviderContext {
  return {
    model,
    project: 'p',
    wire: { contents: [{ role: 'user', parts: [{ text: prompt }] }] },
    turns: [{ role: 'user', parts: [{ kind: 'image', label: 'contents[0].parts[0].inlineData', image }, { kind: 'text', text: prompt }] }],
    output: { mimeType: 'text/plain' },
    signal: new AbortController().signal,
    plan: planTasks(prompt, { imageCount: 1, jsonRequested: false, vocabulary }),
    capability: 'answer',
    prompt,
    report: () => undefined,
  };
}

/** Models that see two dogs, counting what they are asked. */
function dogModels(asked: AnalysisNeeds[]): RunModels {
  return async (_img, needs) => {
    asked.push(needs);
    return {
      ...(needs.detect
        ? {
            objects: [
              { label: 'dog', score: 0.9, box: [0.1, 0.2, 0.4, 0.9] },
              { label: 'dog', score: 0.85, box: [0.5, 0.3, 0.9, 0.9] },
            ],
            detectThreshold: 0.4,
          }
        : {}),
      ...(needs.ocr?.onlyIfPage ? { textPage: false } : {}),
      ...(needs.safety ? { safety: [{ category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT', probability: 'NEGLIGIBLE' }] } : {}),
      times: {},
    } as Awaited<ReturnType<RunModels>>;
  };
}

async function answer(vision: OfflineVision, prompt: string, image: DecodedImage): Promise<string> {
  let out = '';
  for await (const piece of vision.generate(context(prompt, image))) out += piece;
  return out;
}

const TURNS = ['Caption this image.', 'Is there a dog in this image?', 'How many dogs are there?', 'Describe this photo.'];

describe('offline engine with the analysis cache', () => {
  it('answers a conversation about one photo with one run of the models, the answers unchanged', async () => {
    const asked: AnalysisNeeds[] = [];
    const cached = new OfflineVision({ runModels: dogModels(asked), installed, cache: new AnalysisCache() });
    const fresh = new OfflineVision({ runModels: dogModels([]), installed });
    const image = photo('same-photo');
    for (const prompt of TURNS) expect(await answer(cached, prompt, image)).toBe(await answer(fresh, prompt, image));
    // The caption's analysis (detections + the page check) serves the questions after it.
    expect(asked).toHaveLength(1);
    expect(await answer(cached, 'How many dogs are there?', image)).toMatch(/\b(two|2)\b/i);

    // The safety rating of the same photo is kept too; another photo runs the models again.
    await cached.rateSafety([image], new AbortController().signal);
    await cached.rateSafety([image], new AbortController().signal);
    expect(asked.filter((n) => n.safety)).toHaveLength(1);
    await answer(cached, 'Caption this image.', photo('another-photo'));
    expect(asked).toHaveLength(3);
  });

  it('runs the models every time without a cache', async () => {
    const asked: AnalysisNeeds[] = [];
    const vision = new OfflineVision({ runModels: dogModels(asked), installed });
    for (const prompt of TURNS) await answer(vision, prompt, photo('same-photo'));
    expect(asked).toHaveLength(TURNS.length);
  });
});
