import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../support/server.js';

describe('CORS for browser clients', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    s = await startServer({ apiKeys: ['k'] });
  });
  afterAll(() => s.stop());

  it('answers a preflight without a key, and exposes the upload headers', async () => {
    const pre = await fetch(`${s.baseUrl}/upload/v1beta/files`, {
      method: 'OPTIONS',
      headers: { origin: 'http://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-goog-api-key,content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('http://app.example');
    const start = await fetch(`${s.baseUrl}/upload/v1beta/files`, {
      method: 'POST',
      headers: { origin: 'http://app.example', 'x-goog-api-key': 'k', 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start' },
      body: '{}',
    });
    expect(start.status).toBe(200);
    expect(start.headers.get('access-control-expose-headers')).toContain('x-goog-upload-url');
  });
});
