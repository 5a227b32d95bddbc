/**
 * /metrics after real SDK traffic: every counter this traffic touches moves by exactly what
 * was sent (requests by route/model/status, tokens from the answers' usageMetadata, images
 * by format, provider calls, upload bytes and sessions), the model stage times and the
 * queue gauges are there, and --metrics-port moves /metrics off the API port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as genai2 from 'genai2';
import { readFixture, fixturePath } from '../support/fixtures.js';
import { startServer, type RunningServer, type StartServerOptions } from '../support/server.js';
import { scrape, total, type Sample } from './prom-text.js';

const MODEL = 'gemini-2.5-flash';
const GEN_ROUTE = '/v1beta/models/{model}:generateContent';
const STREAM_ROUTE = '/v1beta/models/{model}:streamGenerateContent';

describe('metrics after SDK traffic', () => {
  let srv: RunningServer;
  beforeAll(async () => {
    // The real detector in one thread (segmentation and text readers off: not asked for here).
    srv = await startServer({ flags: { segment: false, ocr: false } });
  });
  afterAll(async () => srv?.stop());

  it('counts exactly the requests, tokens, images, provider calls and uploads sent', async () => {
    const ai = new genai2.GoogleGenAI({ apiKey: 'any', httpOptions: { baseUrl: srv.baseUrl } });
    const dog = readFixture('dog.jpg').toString('base64');
    const png = readFixture('dog.png').toString('base64');
    const before = await scrape(`${srv.baseUrl}/metrics`);

    const usages: Array<{ promptTokenCount?: number; candidatesTokenCount?: number }> = [];
    for (const [mimeType, data] of [['image/jpeg', dog], ['image/png', png]] as const) {
      const r = await ai.models.generateContent({
        model: MODEL,
        contents: [{ inlineData: { mimeType, data } }, { text: 'Detect all of the prominent items in the image.' }],
      });
      usages.push(r.usageMetadata ?? {});
    }
    let lastStreamUsage: (typeof usages)[number] = {};
    for await (const chunk of await ai.models.generateContentStream({
      model: MODEL,
      contents: [{ inlineData: { mimeType: 'image/jpeg', data: dog } }, { text: 'Caption this image.' }],
    }))
      lastStreamUsage = chunk.usageMetadata ?? lastStreamUsage;
    usages.push(lastStreamUsage);
    // A bad request: counted with its status and the model, no tokens.
    await expect(
      ai.models.generateContent({ model: MODEL, contents: [{ inlineData: { mimeType: 'image/jpeg', data: 'AAAA' } }, { text: 'Caption this image.' }] }),
    ).rejects.toThrow(/400|INVALID_ARGUMENT/);
    const file = await ai.files.upload({ file: fixturePath('dog.png'), config: { mimeType: 'image/png' } });

    const after = await scrape(`${srv.baseUrl}/metrics`);
    const delta = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);

    expect(delta('ocellus_http_requests_total', { route: GEN_ROUTE, model: MODEL, status: '200' })).toBe(2);
    expect(delta('ocellus_http_requests_total', { route: STREAM_ROUTE, model: MODEL, status: '200' })).toBe(1);
    expect(delta('ocellus_http_requests_total', { route: GEN_ROUTE, model: MODEL, status: '400' })).toBe(1);
    expect(delta('ocellus_http_request_duration_seconds_count', { route: GEN_ROUTE, model: MODEL })).toBe(3);

    const tokensIn = usages.reduce((s, u) => s + (u.promptTokenCount ?? 0), 0);
    const tokensOut = usages.reduce((s, u) => s + (u.candidatesTokenCount ?? 0), 0);
    expect(tokensIn).toBeGreaterThan(0);
    expect(tokensOut).toBeGreaterThan(0);
    expect(delta('ocellus_tokens_total', { model: MODEL, direction: 'in' })).toBe(tokensIn);
    expect(delta('ocellus_tokens_total', { model: MODEL, direction: 'out' })).toBe(tokensOut);

    expect(delta('ocellus_images_total', { format: 'jpeg' })).toBe(2);
    expect(delta('ocellus_images_total', { format: 'png' })).toBe(1);
    expect(delta('ocellus_provider_calls_total', { provider: 'offline' })).toBe(3);
    expect(delta('ocellus_provider_errors_total')).toBe(0);

    // The detector ran in the worker and reported its time (cached analyses do not run it again).
    expect(delta('ocellus_model_inference_seconds_count', { stage: 'detect', model: 'ssd-centernet' })).toBeGreaterThanOrEqual(1);
    expect(after.some((s) => s.name === 'ocellus_vision_queue_depth')).toBe(true);
    expect(total(after, 'ocellus_vision_rejections_total')).toBe(0);

    const size = readFixture('dog.png').length;
    expect(file.sizeBytes).toBe(String(size));
    expect(delta('ocellus_upload_bytes_total')).toBe(size);
    expect(delta('ocellus_upload_sessions_total', { event: 'started' })).toBe(1);
    expect(delta('ocellus_upload_sessions_total', { event: 'finalized' })).toBe(1);
    expect(delta('ocellus_store_operation_seconds_count', { store: 'blobs' })).toBeGreaterThan(0);

    // Default process metrics, prefixed.
    expect(after.some((s: Sample) => s.name === 'ocellus_process_resident_memory_bytes')).toBe(true);
  });

  it('answers /readyz with the checks and /healthz as before', async () => {
    const ready = await fetch(`${srv.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', ready: true, checks: { models: 'ok', metadata: 'ok', store: 'ok' } });
    expect((await fetch(`${srv.baseUrl}/healthz`)).status).toBe(200);
  });

  it('turns /readyz to 503 while draining', async () => {
    const other = await startServer({ flags: { engine: 'measurements' } });
    try {
      other.server.readiness.startDraining();
      const r = await fetch(`${other.baseUrl}/readyz`);
      expect(r.status).toBe(503);
      expect(await r.json()).toMatchObject({ ready: false, draining: true });
    } finally {
      await other.stop();
    }
  });
});

describe('metrics and API keys', () => {
  it('serves /metrics without a key on the API port, like /healthz, while the API wants one', async () => {
    const srv = await startServer({ apiKeys: ['k-1'], flags: { engine: 'measurements' } });
    try {
      expect((await fetch(`${srv.baseUrl}/metrics`)).status).toBe(200);
      expect((await fetch(`${srv.baseUrl}/v1beta/models`)).status).toBe(403);
    } finally {
      await srv.stop();
    }
  });

  it('--metrics-port serves them on their own port and not on the API port; registries are per server', async () => {
    const a = await startServer({ flags: { engine: 'measurements', metricsPort: 0 } as StartServerOptions['flags'] });
    const b = await startServer({ flags: { engine: 'measurements' } });
    try {
      const url = a.server.metricsUrl();
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${a.baseUrl}/metrics`)).status).toBe(404);
      await fetch(`${b.baseUrl}/v1beta/models`);
      await fetch(`${b.baseUrl}/v1beta/models`);
      const onA = await scrape(`${url}/metrics`);
      const onB = await scrape(`${b.baseUrl}/metrics`);
      expect(total(onA, 'ocellus_http_requests_total', { route: '/v1beta/models' })).toBe(0);
      expect(total(onB, 'ocellus_http_requests_total', { route: '/v1beta/models' })).toBe(2);
      expect((await fetch(`${url}/other`)).status).toBe(404);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
