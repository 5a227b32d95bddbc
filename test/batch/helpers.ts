/** Shared by the batch tests: packaged photos as requests, polling a batch to its end. */
import { readFixture, type FixtureName } from '../support/fixtures.js';

export const MODEL = 'gemini-2.5-flash';
export const DETECT = 'Detect all of the prominent items in the image. The box_2d should be [ymin, xmin, ymax, xmax] normalized to 0-1000.';
/** Small packaged photos (kite.jpg is 1.4 MB: left out to keep the shared CPU free). */
export const PHOTOS: FixtureName[] = ['dog.jpg', 'person.jpg', 'horses.jpg', 'giraffe.jpg', 'eagle.jpg', 'scream.jpg'];
const PROMPTS = [DETECT, 'What is in this image?', 'How many animals are in this image?', 'Is there a dog in this image?'];

export interface WireRequest {
  contents: Array<{ role: string; parts: Array<Record<string, unknown>> }>;
}

/** `n` different requests: every photo with each prompt in turn. */
export function photoRequests(n: number): WireRequest[] {
  return Array.from({ length: n }, (_, i) => {
    const photo = PHOTOS[i % PHOTOS.length]!;
    const prompt = PROMPTS[Math.floor(i / PHOTOS.length) % PROMPTS.length]!;
    return {
      contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'image/jpeg', data: readFixture(photo).toString('base64') } }, { text: prompt }] }],
    };
  });
}

/** The parts of a response that are its content (ids and timings differ run to run). */
export function contentOf(response: unknown): unknown {
  const r = response as { candidates?: Array<{ content?: unknown; finishReason?: string }>; promptFeedback?: unknown };
  return { candidates: r.candidates?.map((c) => ({ content: c.content, finishReason: c.finishReason })), promptFeedback: r.promptFeedback };
}

export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 240_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A poll that fails (a kept-alive connection reset while the server loads its models) is tried again.
    const v = await probe().catch((err: unknown) => {
      if (Date.now() > deadline) throw err;
      return undefined;
    });
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function rest(baseUrl: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; json: any }> {
  const method = init.method ?? (init.body === undefined ? 'GET' : 'POST');
  const send = () =>
    fetch(`${baseUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  // A GET on a kept-alive connection the server closed while its event loop was busy loading
  // models is reset; it is safe to send again.
  const res = await send().catch((err: unknown) => (method === 'GET' ? send() : Promise.reject(err)));
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}
