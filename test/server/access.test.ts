/**
 * Open mode safe by default (issue 11, defect 6): foreign Hosts (DNS rebinding) and foreign
 * browser origins are refused; X-Forwarded-* counts only behind --trust-proxy. Keyed servers
 * keep CORS open for browser apps (the key is the credential).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type ConfigFlags } from '../../src/config.js';
import { createAccessCheck, splitHost } from '../../src/server/access.js';
import { startServer, type RunningServer } from '../support/server.js';

const textTokens = { count: (t: string) => Math.ceil(t.length / 4) };

function check(flags: ConfigFlags, keyed = false) {
  const config = loadConfig({ ...flags, ...(keyed ? { apiKey: ['k'] } : {}) }, {});
  return createAccessCheck({ access: config.access, keyed, publicUrl: config.publicUrl, bindHost: config.host });
}

describe('access check (unit)', () => {
  it('splits Host into name and port, IPv6 included', () => {
    expect(splitHost('LocalHost:8080')).toEqual({ name: 'localhost', port: '8080' });
    expect(splitHost('[::1]:9')).toEqual({ name: '[::1]', port: '9' });
    expect(splitHost('example.com.')).toEqual({ name: 'example.com', port: undefined });
  });

  it('open mode: loopback names, IP literals, the public URL and --allowed-hosts pass; other names are 403', () => {
    const open = check({});
    for (const host of ['127.0.0.1:8080', 'localhost', 'localhost:1234', '[::1]:8080', 'app.localhost', '192.168.1.20:8080'])
      expect(open({ headers: { host } }), host).toBeUndefined();
    const refused = open({ headers: { host: 'evil.example:8080' } });
    expect(refused?.httpStatus).toBe(403);
    expect(refused?.status).toBe('PERMISSION_DENIED');
    expect(refused?.message).toMatch(/--allowed-hosts/);
    const configured = check({ publicUrl: 'https://ocellus.example/api', allowedHosts: ['lan-box,.corp.example', 'exact.example:81'] });
    for (const host of ['ocellus.example', 'lan-box:8080', 'a.corp.example', 'corp.example', 'exact.example:81'])
      expect(configured({ headers: { host } }), host).toBeUndefined();
    expect(configured({ headers: { host: 'exact.example:82' } })?.httpStatus).toBe(403);
    expect(check({ allowedHosts: ['*'] })({ headers: { host: 'anything.example' } })).toBeUndefined();
  });

  it('X-Forwarded-Host is checked (and only trusted) behind --trust-proxy', () => {
    const headers = { host: '127.0.0.1:8080', 'x-forwarded-host': 'evil.example' };
    expect(check({})({ headers })).toBeUndefined();
    expect(check({ trustProxy: true })({ headers })?.httpStatus).toBe(403);
  });

  it('open mode: only the own origin and --cors-origins; keyed: any origin unless --cors-origins narrows it', () => {
    const open = check({});
    expect(open({ headers: { host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' } })).toBeUndefined();
    expect(open({ headers: { host: '127.0.0.1:8080', origin: 'https://127.0.0.1:8080' } })).toBeUndefined();
    expect(open({ headers: { host: '127.0.0.1:8080', origin: 'http://evil.example' } })?.httpStatus).toBe(403);
    expect(open({ headers: { host: '127.0.0.1:8080', origin: 'null' } })?.httpStatus).toBe(403);
    expect(open({ headers: { host: '127.0.0.1:8080', origin: 'http://localhost:5173' } })?.message).toMatch(/--cors-origins/);
    const withList = check({ corsOrigins: ['http://localhost:5173/'] });
    expect(withList({ headers: { host: '127.0.0.1:8080', origin: 'http://localhost:5173' } })).toBeUndefined();
    expect(check({}, true)({ headers: { host: 'any.example', origin: 'http://app.example' } })).toBeUndefined();
    const narrowed = check({ corsOrigins: ['https://app.example'] }, true);
    expect(narrowed({ headers: { host: 'api.example', origin: 'https://app.example' } })).toBeUndefined();
    expect(narrowed({ headers: { host: 'api.example', origin: 'https://other.example' } })?.httpStatus).toBe(403);
  });
});

describe('open mode on the real server', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer({ flags: { engine: 'measurements' }, textTokens });
  });
  afterAll(() => s.stop());
  const inject = (url: string, headers: Record<string, string>, method: 'GET' | 'POST' | 'OPTIONS' = 'GET') =>
    s.server.app.inject({ method, url, headers: { host: '127.0.0.1:8080', ...headers } });

  it('refuses a foreign Host (DNS rebinding) with 403 in the envelope, before the file list or a preview', async () => {
    for (const url of ['/v1beta/files', '/v1beta/models']) {
      const res = await inject(url, { host: 'evil.example' });
      expect(res.statusCode).toBe(403);
      expect(res.json().error).toMatchObject({ code: 403, status: 'PERMISSION_DENIED' });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    }
    expect((await inject('/v1beta/files', {})).statusCode).toBe(200);
  });

  it('refuses a foreign Origin (also its preflight) and answers the own origin with CORS', async () => {
    const foreign = await inject('/v1beta/files', { origin: 'http://evil.example' });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
    const pre = await inject('/v1beta/files', { origin: 'http://evil.example', 'access-control-request-method': 'POST' }, 'OPTIONS');
    expect(pre.statusCode).toBe(403);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    const own = await inject('/v1beta/files', { origin: 'http://127.0.0.1:8080' });
    expect(own.statusCode).toBe(200);
    expect(own.headers['access-control-allow-origin']).toBe('http://127.0.0.1:8080');
  });

  it('builds File.uri and upload URLs from Host, not from X-Forwarded-* (no --trust-proxy)', async () => {
    const res = await s.server.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files',
      headers: {
        host: '127.0.0.1:8080',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        'x-goog-upload-protocol': 'resumable',
        'x-goog-upload-command': 'start',
      },
      payload: '{}',
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-goog-upload-url']).toMatch(/^http:\/\/127\.0\.0\.1:8080\/upload\/v1beta\/files\?upload_id=/);
  });
});

describe('configured origins on the real server', () => {
  it('--cors-origins lets that page call an open server, with the upload headers exposed', async () => {
    const s = await startServer({ flags: { engine: 'measurements', corsOrigins: ['http://localhost:5173'] } as ConfigFlags, textTokens });
    try {
      const res = await fetch(`${s.baseUrl}/upload/v1beta/files`, {
        method: 'POST',
        headers: { origin: 'http://localhost:5173', 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start' },
        body: '{}',
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
      expect(res.headers.get('access-control-expose-headers')).toContain('x-goog-upload-url');
    } finally {
      await s.stop();
    }
  });
});
