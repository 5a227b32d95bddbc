import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('overload and pixel-budget settings', () => {
  it('defaults: 30 s queue-time budget, 150 MP per request', () => {
    const c = loadConfig({}, {});
    expect(c.vision.queueTimeoutMs).toBe(30_000);
    expect(c.limits.requestPixels).toBe(150_000_000);
  });

  it('flags win over the environment, which wins over the defaults', () => {
    const env = { OCELLUS_VISION_QUEUE_TIMEOUT: '7.5', OCELLUS_MAX_REQUEST_PIXELS: '2000000' };
    expect(loadConfig({}, env)).toMatchObject({ vision: { queueTimeoutMs: 7500 }, limits: { requestPixels: 2_000_000 } });
    expect(loadConfig({ visionQueueTimeout: '2', maxRequestPixels: 1000 }, env)).toMatchObject({
      vision: { queueTimeoutMs: 2000 },
      limits: { requestPixels: 1000 },
    });
  });

  it('analysis cache: 512 entries by default, 0 turns it off, the flag wins over the environment', () => {
    expect(loadConfig({}, {}).vision.analysisCacheEntries).toBe(512);
    expect(loadConfig({}, { OCELLUS_ANALYSIS_CACHE: '0' }).vision.analysisCacheEntries).toBe(0);
    expect(loadConfig({ analysisCache: '64' }, { OCELLUS_ANALYSIS_CACHE: '0' }).vision.analysisCacheEntries).toBe(64);
    expect(() => loadConfig({ analysisCache: '-1' }, {})).toThrow(/analysis cache/);
    expect(() => loadConfig({ analysisCache: 'many' }, {})).toThrow(/analysis cache/);
  });

  it('refuses nonsense', () => {
    expect(() => loadConfig({ visionQueueTimeout: '0' }, {})).toThrow(ConfigError);
    expect(() => loadConfig({ maxRequestPixels: 'lots' }, {})).toThrow(/max request pixels/);
  });
});
