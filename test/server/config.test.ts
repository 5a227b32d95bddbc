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

  it('has timeouts, a connection cap, a disk floor and closed access by default; env and flags set them', () => {
    const c = loadConfig({}, {});
    expect(c.http).toEqual({ headersTimeoutMs: 30_000, bodyIdleTimeoutMs: 10_000, requestTimeoutMs: 120_000, keepAliveTimeoutMs: 5_000, maxConnections: 512 });
    expect(c.access).toEqual({ allowedHosts: [], corsOrigins: [], trustProxy: false });
    expect(c.limits.minFreeDiskBytes).toBe(256 * 1024 * 1024);
    const env = {
      OCELLUS_BODY_IDLE_TIMEOUT_MS: '2000',
      OCELLUS_MAX_CONNECTIONS: '64',
      OCELLUS_ALLOWED_HOSTS: 'Box.lan, .corp.example',
      OCELLUS_CORS_ORIGINS: 'http://localhost:5173/',
      OCELLUS_TRUST_PROXY: '1',
      OCELLUS_MIN_FREE_DISK_MB: '0',
    };
    const e = loadConfig({}, env);
    expect(e.http).toMatchObject({ bodyIdleTimeoutMs: 2000, maxConnections: 64 });
    expect(e.access).toEqual({ allowedHosts: ['box.lan', '.corp.example'], corsOrigins: ['http://localhost:5173'], trustProxy: true });
    expect(e.limits.minFreeDiskBytes).toBe(0);
    const f = loadConfig({ allowedHosts: ['a.example,b.example', 'c.example'], trustProxy: false, keepAliveTimeoutMs: '75000' }, env);
    expect(f.access.allowedHosts).toEqual(['a.example', 'b.example', 'c.example']);
    expect(f.access.trustProxy).toBe(false);
    expect(f.http.keepAliveTimeoutMs).toBe(75_000);
    expect(() => loadConfig({ corsOrigins: ['http://x.example/path'] }, {})).toThrow(/CORS origins/);
    expect(() => loadConfig({ maxConnections: '0' }, {})).toThrow(/max connections/);
  });

  it('runs the detector on onnxruntime where it can unless told otherwise, and refuses runtimes a detector has none for', () => {
    expect(loadConfig({}, {}).vision.detectorRuntime).toBeUndefined();
    expect(loadConfig({ detector: 'centernet' }, { OCELLUS_DETECTOR_RUNTIME: 'tfjs' }).vision).toMatchObject({ detector: 'centernet', detectorRuntime: 'tfjs' });
    expect(loadConfig({ detector: 'ssd-mobilenet', detectorRuntime: 'onnx' }, { OCELLUS_DETECTOR_RUNTIME: 'tfjs' }).vision.detectorRuntime).toBe('onnx');
    expect(() => loadConfig({ detectorRuntime: 'tfjs' }, {})).toThrow(/ssd-centernet runs on onnx only/);
    expect(() => loadConfig({ detector: 'nanodet', detectorRuntime: 'onnx' }, {})).toThrow(/nanodet has no ONNX conversion/);
    expect(() => loadConfig({ detectorRuntime: 'gpu' }, {})).toThrow(/detector runtime must be onnx or tfjs/);
  });

  it('checks labels and looks closer at doubtful boxes by default; each can be turned off', () => {
    expect(loadConfig({}, {}).vision).toMatchObject({ verifyLabels: true, closerLook: true });
    expect(loadConfig({}, { OCELLUS_CLOSER_LOOK: '0' }).vision.closerLook).toBe(false);
    expect(loadConfig({ closerLook: true }, { OCELLUS_CLOSER_LOOK: '0' }).vision.closerLook).toBe(true);
  });

  it('lets SAM’s encoder take every core when nothing else runs unless told a number (0: off)', () => {
    expect(loadConfig({}, {}).vision.samWideThreads).toBeUndefined();
    expect(loadConfig({}, { OCELLUS_SAM_WIDE_THREADS: '0' }).vision.samWideThreads).toBe(0);
    expect(loadConfig({ samWideThreads: '4' }, { OCELLUS_SAM_WIDE_THREADS: '0' }).vision.samWideThreads).toBe(4);
    expect(() => loadConfig({ samWideThreads: '-1' }, {})).toThrow(/SAM wide threads must be 0/);
  });

  it('lets heaps grow 200 % past their live size before V8 collects them in full unless told (0: V8’s own)', () => {
    expect(loadConfig({}, {}).vision.heapGrowthPercent).toBe(200);
    expect(loadConfig({}, { OCELLUS_HEAP_GROWTH: '0' }).vision.heapGrowthPercent).toBe(0);
    expect(loadConfig({ heapGrowth: '300' }, { OCELLUS_HEAP_GROWTH: '0' }).vision.heapGrowthPercent).toBe(300);
    expect(() => loadConfig({ heapGrowth: '-1' }, {})).toThrow(/heap growth must be 0/);
    expect(() => loadConfig({ heapGrowth: '50.5' }, {})).toThrow(/whole percentage/);
  });

  it('rejects nonsense with a message naming the setting', () => {
    expect(() => loadConfig({ port: 'abc' }, {})).toThrow(ConfigError);
    expect(() => loadConfig({ maxFileBytes: '-5' }, {})).toThrow(/fileBytes/);
    expect(() => loadConfig({ publicUrl: 'ftp://x' }, {})).toThrow(/public URL/);
  });
});
