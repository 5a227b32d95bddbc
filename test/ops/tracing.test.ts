/**
 * Tracing: with OTEL_EXPORTER_OTLP_ENDPOINT set, a request's spans (request → provider →
 * vision analysis → model stages, store operations) reach an OTLP/HTTP receiver, children
 * of the caller's traceparent, and log lines carry the trace id. The receiver is a small
 * HTTP server on 127.0.0.1 standing in for a remote collector. Without the variable,
 * tracing is off.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixture } from '../support/fixtures.js';
import { openTracing } from '../../src/tracing/setup.js';
import { startOn } from './support.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
}

/** Collects what OTLP/HTTP exporters POST to /v1/traces (JSON encoding). */
async function startReceiver(): Promise<{ url: string; spans: OtlpSpan[]; paths: string[]; close(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const doc = JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
      for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    paths,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('tracing', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let dataDir: string;
  beforeAll(async () => {
    receiver = await startReceiver();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'ocellus-trace-'));
  });
  afterAll(async () => {
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('exports request → plan → provider → vision → model stage spans under the caller\'s trace, with the trace id in the logs', async () => {
    const lines: string[] = [];
    const logs = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const { baseUrl, server } = await startOn(
      dataDir,
      { engine: 'vision', detector: 'ssd-mobilenet', segment: false, ocr: false, people: false, safety: false, visionThreads: 1, warm: false, logLevel: 'debug' },
      { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'ocellus-test' }, logDestination: logs },
    );
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    try {
      const res = await fetch(`${baseUrl}/v1beta/models/gemini-2.5-flash:generateContent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
        body: JSON.stringify({
          contents: [{ parts: [{ inlineData: { mimeType: 'image/jpeg', data: readFixture('dog.jpg').toString('base64') } }, { text: 'Detect all of the prominent items in the image.' }] }],
        }),
      });
      expect(res.status).toBe(200);
      // An invalid body is logged (request rejected) inside its traced request.
      await fetch(`${baseUrl}/v1beta/models/gemini-2.5-flash:generateContent`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"contents": 5}' });
    } finally {
      await server.close(); // flushes the batch of spans
    }

    expect(receiver.paths[0]).toMatch(/^POST \/v1\/traces application\/json/);
    const mine = receiver.spans.filter((s) => s.traceId === traceId);
    const byName = (re: RegExp) => mine.filter((s) => re.test(s.name));
    const attr = (s: OtlpSpan, key: string) => s.attributes?.find((a) => a.key === key)?.value;
    const request = byName(/^POST \/v1beta\/models\/:target$/);
    expect(request).toHaveLength(1);
    expect(request[0]!.parentSpanId).toBe('00f067aa0ba902b7');
    const plan = byName(/^plan$/);
    expect(plan).toHaveLength(1);
    expect(plan[0]!.parentSpanId).toBe(request[0]!.spanId);
    expect(attr(plan[0]!, 'ocellus.task')).toEqual({ stringValue: 'detect' });
    const provider = byName(/^provider offline$/);
    expect(provider).toHaveLength(1);
    expect(provider[0]!.parentSpanId).toBe(request[0]!.spanId);
    const analyse = byName(/^vision analyse$/);
    expect(analyse.length).toBeGreaterThanOrEqual(1);
    expect(analyse.every((s) => s.parentSpanId === provider[0]!.spanId)).toBe(true);
    const detect = byName(/^model detect$/);
    expect(detect.length).toBeGreaterThanOrEqual(1);
    expect(analyse.map((s) => s.spanId)).toContain(detect[0]!.parentSpanId);
    expect(attr(detect[0]!, 'ocellus.model')).toEqual({ stringValue: 'ssd-mobilenet' });
    expect(attr(request[0]!, 'http.response.status_code')).toEqual({ intValue: 200 });

    // The rejected request has its own trace; its log line carries that trace's id.
    const rejected = lines.map((l) => JSON.parse(l) as { msg?: string; trace_id?: string }).find((l) => l.msg === 'request rejected');
    expect(rejected?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(receiver.spans.some((s) => s.traceId === rejected?.trace_id && /^POST /.test(s.name))).toBe(true);
  });

  it('is off, with no spans and nothing exported, without OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    const off = await openTracing({ endpoint: undefined, serviceName: 'x' });
    expect(off.spans.enabled).toBe(false);
    const before = receiver.spans.length;
    const { baseUrl, server } = await startOn(dataDir);
    try {
      expect((await fetch(`${baseUrl}/v1beta/models`)).status).toBe(200);
    } finally {
      await server.close();
    }
    expect(receiver.spans.length).toBe(before);
  });
});
