import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerFetch } from '../../src/providers/provider-fetch.js';

/** A socket error as undici reports it: the code sits on the cause. */
function reset(code = 'ECONNRESET'): Error {
  return Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('other side closed'), { code }) });
}

describe('providerFetch', () => {
  it('sends a replayable request again once when the pooled socket was reset before any answer', async () => {
    let calls = 0;
    const fetchImpl = (async () => {
      calls++;
      if (calls === 1) throw reset();
      return new Response('{"ok":true}', { status: 200 });
    }) as typeof fetch;
    const res = await providerFetch('http://127.0.0.1:9/x', { method: 'POST', body: '{}' }, { provider: 'p', timeoutMs: 1000, fetch: fetchImpl });
    expect(await res.json()).toEqual({ ok: true });
    expect(calls).toBe(2);
  });

  it('does not send a streamed body twice, and a second reset is the provider being unreachable', async () => {
    let calls = 0;
    const fetchImpl = (async () => {
      calls++;
      throw reset();
    }) as typeof fetch;
    const stream = new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    await expect(providerFetch('http://127.0.0.1:9/x', { method: 'POST', body: stream }, { provider: 'p', timeoutMs: 1000, fetch: fetchImpl })).rejects.toThrow(
      /unreachable \(ECONNRESET\)/,
    );
    expect(calls).toBe(1);
    calls = 0;
    await expect(providerFetch('http://127.0.0.1:9/x', { method: 'POST', body: '{}' }, { provider: 'p', timeoutMs: 1000, fetch: fetchImpl })).rejects.toThrow(
      /unreachable/,
    );
    expect(calls).toBe(2);
  });

  it('does not retry a refused connection (the server is down, not racing)', async () => {
    let calls = 0;
    const fetchImpl = (async () => {
      calls++;
      throw reset('ECONNREFUSED');
    }) as typeof fetch;
    await expect(providerFetch('http://127.0.0.1:9/x', {}, { provider: 'p', timeoutMs: 1000, fetch: fetchImpl })).rejects.toThrow(/ECONNREFUSED/);
    expect(calls).toBe(1);
  });

  describe('against a real server that closes idle keep-alive sockets', () => {
    let server: Server;
    let base: string;
    beforeAll(async () => {
      server = createServer((req, res) => {
        req.resume();
        req.on('end', () => res.end('ok'));
      });
      // Shorter than undici's own idle time, so the client may reuse a socket the server is closing.
      server.keepAliveTimeout = 50;
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('answers every request when requests land as sockets close', async () => {
      for (let i = 0; i < 20; i++) {
        const res = await providerFetch(`${base}/x`, { method: 'POST', body: 'x' }, { provider: 'p', timeoutMs: 5000 });
        expect(await res.text()).toBe('ok');
        await new Promise((r) => setTimeout(r, 45 + (i % 5) * 2));
      }
    });
  });
});
