/**
 * A bad part after a file reference: the request is refused, and the file open already
 * started for the earlier part must not end as an unhandled rejection (Node ends the
 * process on those by default). Found by the fuzz suite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../support/server.js';

let srv: RunningServer;
beforeAll(async () => {
  srv = await startServer({ flags: { engine: 'measurements' } });
});
afterAll(() => srv?.stop());

describe('image parts checked before any file is opened', () => {
  for (const method of ['countTokens', 'generateContent'] as const) {
    it(`${method}: an unknown file then a PDF part → one 400, no unhandled rejection`, async () => {
      const seen: unknown[] = [];
      const onRejection = (reason: unknown) => seen.push(reason);
      process.on('unhandledRejection', onRejection);
      try {
        const res = await fetch(`${srv.baseUrl}/v1beta/models/gemini-2.5-flash:${method}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            contents: [
              {
                parts: [
                  { fileData: { fileUri: 'files/doesnotexist', mimeType: 'image/png' } },
                  { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } },
                ],
              },
            ],
          }),
        });
        expect(res.status).toBe(400);
        const body = (await res.json()) as { error: { status: string; message: string } };
        expect(body.error.status).toBe('INVALID_ARGUMENT');
        expect(body.error.message).toMatch(/contents\[0\]\.parts\[1\]/);
        // Give a stray rejection time to surface.
        await new Promise((r) => setTimeout(r, 200));
        expect(seen).toEqual([]);
      } finally {
        process.off('unhandledRejection', onRejection);
      }
    });
  }
});
