/**
 * The request-size policy through the real server: a text part far over the model's input
 * limit is a 400 naming the part, decided from the character estimate without tokenising
 * it, while /healthz keeps answering; long texts under the limit are counted exactly, and
 * countTokens agrees with usageMetadata. (How fast: bench, not here.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../support/server.js';

describe('request size against the model input limit', () => {
  let srv: RunningServer;
  beforeAll(async () => {
    srv = await startServer({ flags: { engine: 'measurements' } });
  });
  afterAll(() => srv?.stop());

  const post = (method: string, body: unknown) =>
    fetch(`${srv.baseUrl}/v1beta/models/gemini-2.5-flash:${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it.each(['countTokens', 'generateContent'])('%s: a 15 MB text part is a 400 naming the part, and /healthz answers meanwhile', async (method) => {
    const huge = 'word '.repeat(3_000_000);
    const pending = post(method, { contents: [{ role: 'user', parts: [{ text: 'Look:' }, { text: huge }] }] });
    const health = await Promise.all(Array.from({ length: 5 }, () => fetch(`${srv.baseUrl}/healthz`).then((r) => r.status)));
    const res = await pending;
    expect(health).toEqual([200, 200, 200, 200, 200]);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: number; status: string; message: string } };
    expect(body.error.code).toBe(400);
    expect(body.error.status).toBe('INVALID_ARGUMENT');
    expect(body.error.message).toMatch(/exceeds the maximum number of tokens allowed \(1048576\)/);
    expect(body.error.message).toContain('contents[0].parts[1].text');
  });

  it('a long text under the limit is counted exactly, and countTokens equals usageMetadata', async () => {
    const words = ['alpha', 'beta', 'gamma', 'delta', '42', 'Zürich', '东京', 'end.\n'];
    let text = '';
    for (let i = 0; text.length < 50_000; i++) text += `${words[(i * 7) % words.length]} `;
    const contents = [{ role: 'user', parts: [{ text }] }];
    const count = (await (await post('countTokens', { contents })).json()) as { totalTokens: number };
    const gen = (await (await post('generateContent', { contents })).json()) as { usageMetadata: { promptTokenCount: number } };
    expect(count.totalTokens).toBeGreaterThan(10_000);
    expect(gen.usageMetadata.promptTokenCount).toBe(count.totalTokens);
  });
});
