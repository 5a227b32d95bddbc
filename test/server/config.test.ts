import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    const c = loadConfig({}, {});
    expect(c).toMatchObject({ port: 8080, host: '127.0.0.1', apiKeys: [], publicUrl: undefined });
    expect(c.limits).toMatchObject({ requestBytes: 20 * 1024 * 1024, fileBytes: 2 * 1024 ** 3, projectBytes: 20 * 1024 ** 3, imagesPerRequest: 3600 });
    expect(c.limits.fileTtlMs).toBe(48 * 3600_000);
    expect(c.dataDir).toBe(path.resolve('./data'));
  });

  it('reads OCELLUS_* variables, and flags win over them', () => {
    const env = { OCELLUS_PORT: '9000', OCELLUS_HOST: '0.0.0.0', OCELLUS_API_KEYS: 'a, b,,c', OCELLUS_PUBLIC_URL: 'https://x.example/gemini/' };
    const c = loadConfig({}, env);
    expect(c).toMatchObject({ port: 9000, host: '0.0.0.0', apiKeys: ['a', 'b', 'c'], publicUrl: 'https://x.example/gemini' });
    expect(loadConfig({ port: '1234', apiKey: ['z'] }, env)).toMatchObject({ port: 1234, apiKeys: ['z'] });
  });

  it('rejects nonsense with a message naming the setting', () => {
    expect(() => loadConfig({ port: 'abc' }, {})).toThrow(ConfigError);
    expect(() => loadConfig({ maxFileBytes: '-5' }, {})).toThrow(/fileBytes/);
    expect(() => loadConfig({ publicUrl: 'ftp://x' }, {})).toThrow(/public URL/);
  });
});
