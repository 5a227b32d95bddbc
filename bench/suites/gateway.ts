/**
 * Suite 5: what Ocellus adds as a gateway in front of an OpenAI-compatible VLM server.
 *
 * A mock OpenAI-compatible server (test/providers/openai/mock-server.ts, in this process)
 * answers instantly, so the model's time is out of the picture. Ocellus (built dist/, child
 * process) routes `answer` to it through a routing file. The same load generator then drives,
 * in alternating slices: a Gemini generateContent request to Ocellus (which decodes the
 * image, encodes the JPEG it sends, streams the chat completion from the mock and answers
 * Gemini's JSON), and, as the baseline, the exact chat-completions request Ocellus sent for
 * it (captured from the mock) straight to the mock. The difference of the medians is the
 * gateway's cost per request.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startMockOpenAi, type MockOpenAi } from '../../test/providers/openai/mock-server.js';
import { buildRequest, requestOnce, runAlternating, runLoad, type LoadResult, type LoadSpec } from '../lib/http-load.js';
import type { SuiteResult, Table } from '../lib/report.js';
import type { OverheadOptions } from './overhead.js';
import { measurementEngineArgs, startOcellus, type OcellusChild } from '../lib/servers.js';
import { fmt, median, ms, quantile, ratio } from '../lib/stats.js';

/** The same measuring window as the overhead suite (durationMs is per side here). */
export type GatewayOptions = OverheadOptions;

interface Case {
  image: 'pixel-1x1.png' | 'dog.jpg';
  mimeType: string;
  label: string;
}

const CASES: Case[] = [
  { image: 'pixel-1x1.png', mimeType: 'image/png', label: '1×1 PNG' },
  { image: 'dog.jpg', mimeType: 'image/jpeg', label: 'dog.jpg (768×576)' },
];

const MODEL = 'qwen2.5vl:7b';
const TIMEOUT_MS = 30_000;
const MAX_REQUESTS = 2_000_000;

interface Row {
  label: string;
  gatewayBytes: number;
  directBytes: number;
  gateway: LoadResult;
  direct: LoadResult;
}

function check(r: LoadResult, who: string, c: Case): LoadResult {
  if (r.errors > 0) throw new Error(`${who} answered ${r.errors} of ${r.requests} requests of "${c.label}" wrongly: ${r.firstError}`);
  if (r.requests === 0) throw new Error(`${who} completed no request of "${c.label}" in the window`);
  return r;
}

export async function runGateway(opts: GatewayOptions): Promise<Omit<SuiteResult, 'seconds' | 'cpu'>> {
  // Images are not decoded by the mock: that would add the same time to both sides and only blur the difference.
  const mock: MockOpenAi = await startMockOpenAi({ model: MODEL, checkImages: false, sizedStreams: true });
  const routes = path.join(opts.tmpDir, 'gateway-routes.json');
  writeFileSync(
    routes,
    JSON.stringify({ providers: { vlm: { type: 'openai', baseUrl: `${mock.url}/v1`, model: MODEL } }, models: { '*': { answer: ['vlm'] } } }),
  );
  const engineArgs = measurementEngineArgs();
  let server: OcellusChild | undefined;
  const rows: Row[] = [];
  try {
    server = await startOcellus({
      dataDir: path.join(opts.tmpDir, 'gateway-data'),
      logFile: path.join(opts.tmpDir, 'gateway-ocellus.log'),
      extraArgs: [...engineArgs, '--routes', routes],
    });
    const mockPort = Number(new URL(mock.url).port);
    for (const c of CASES) {
      const image = opts.readFixture(c.image);
      const gatewayBody = JSON.stringify({
        contents: [{ role: 'user', parts: [{ inlineData: { mimeType: c.mimeType, data: image.toString('base64') } }, { text: 'What is in this photo?' }] }],
      });
      const gatewayRequest = buildRequest({
        port: server.port,
        path: '/v1beta/models/gemini-2.5-flash:generateContent',
        headers: { 'Content-Type': 'application/json', 'x-goog-api-key': 'bench-key', 'User-Agent': 'ocellus-bench' },
        body: gatewayBody,
      });
      const first = await requestOnce(server.port, gatewayRequest, { timeoutMs: TIMEOUT_MS });
      if (first.status !== 200) throw new Error(`Ocellus answered ${first.status} to "${c.label}": ${first.body.toString().slice(0, 400)}`);
      const text = (JSON.parse(first.body.toString()) as { candidates: Array<{ content: { parts: Array<{ text: string }> } }> }).candidates[0]!.content.parts[0]!.text;
      if (!text.startsWith('Saw 1 image')) throw new Error(`the answer did not come from the mock: ${text}`);
      // The baseline is byte for byte what Ocellus sent the mock for this request.
      const sent = mock.requests.at(-1)!.body;
      const directRequest = buildRequest({
        port: mockPort,
        path: '/v1/chat/completions',
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'ocellus-bench' },
        body: JSON.stringify(sent),
      });
      const echo = await requestOnce(mockPort, directRequest, { timeoutMs: TIMEOUT_MS });
      if (echo.status !== 200 || !echo.body.toString().includes('data: [DONE]')) throw new Error(`the mock answered ${echo.status} to the direct request`);

      const spec = (port: number, request: Buffer): LoadSpec => ({
        port,
        request,
        concurrency: 1,
        warmupMs: opts.warmupMs,
        durationMs: opts.durationMs,
        maxRequests: MAX_REQUESTS,
        timeoutMs: TIMEOUT_MS,
      });
      await runLoad({ ...spec(server.port, gatewayRequest), warmupMs: 0, durationMs: Math.max(300, opts.warmupMs / 2) });
      mock.requests.length = 0; // the mock keeps what it got; not needed past the capture
      const [g, d] = await runAlternating(spec(server.port, gatewayRequest), spec(mockPort, directRequest), opts.slices);
      mock.requests.length = 0;
      rows.push({ label: c.label, gatewayBytes: gatewayRequest.length, directBytes: directRequest.length, gateway: check(g, 'Ocellus', c), direct: check(d, 'the mock', c) });
      opts.log(`  ${c.label}: p50 ${ms(median(g.latenciesMs))} through Ocellus vs ${ms(median(d.latenciesMs))} direct (${g.requests} + ${d.requests} requests)`);
    }
  } catch (err) {
    throw new Error(`${(err as Error).message}\nOcellus log tail:\n${server?.logTail() ?? '(not started)'}`, { cause: err });
  } finally {
    await server?.stop();
    await mock.close();
  }

  const kb = (n: number) => (n < 1024 ? `${n} B` : `${fmt(n / 1024)} KiB`);
  const table: Table = {
    head: ['image (Gemini request / chat request)', 'p50 through Ocellus', 'direct', 'added', 'ratio', 'p95 through Ocellus', 'direct', 'added'],
    rows: rows.map((r) => {
      const [g50, d50] = [median(r.gateway.latenciesMs), median(r.direct.latenciesMs)];
      const [g95, d95] = [quantile(r.gateway.latenciesMs, 0.95), quantile(r.direct.latenciesMs, 0.95)];
      return [`${r.label} (${kb(r.gatewayBytes)} / ${kb(r.directBytes)})`, ms(g50), ms(d50), ms(g50 - d50), ratio(g50, d50), ms(g95), ms(d95), ms(g95 - d95)];
    }),
  };
  const goal = 2;
  const notes = rows.map((r) => {
    const added = median(r.gateway.latenciesMs) - median(r.direct.latenciesMs);
    return `${r.label}: Ocellus adds ${ms(added)} at the median (goal: under ${goal} ms: ${added < goal ? 'met' : 'not met'}); ${r.gateway.requests.toLocaleString('en-US')} requests through Ocellus, ${r.direct.requests.toLocaleString('en-US')} direct.`;
  });
  notes.push(
    'The same photo is sent each time, so the decoded image and the JPEG Ocellus encodes from it come from its caches after the first request; ' +
      'a photo it has not seen adds its decode and one JPEG encode (a few ms for 768×576, see the decode suite).',
  );
  return {
    title: 'Gateway overhead: Ocellus in front of an OpenAI-compatible VLM server, against calling the server directly',
    method:
      `Ocellus runs from the built \`dist/\` as \`node bin/ocellus.js serve${engineArgs.length ? ` ${engineArgs.join(' ')}` : ''} --routes <file>\`, the file routing ` +
      '`answer` for every model to a provider of `type: openai`. That provider is a mock OpenAI-compatible server in the bench process ' +
      '(`test/providers/openai/mock-server.ts`) that answers at once: a streamed chat completion (SSE events, a usage chunk, `[DONE]`) sent as one sized body. ' +
      'Through Ocellus: a Gemini `generateContent` request (`inlineData` + "What is in this photo?"), which Ocellus parses, decodes, turns into a chat request ' +
      'with the image as a JPEG data URL, streams from the mock and answers as Gemini JSON. Directly: the very chat request Ocellus sent for it (captured ' +
      'from the mock), posted to the mock by the same client. Both run at concurrency 1 from the raw-socket load generator (`bench/lib/http-load.ts`), ' +
      'in alternating slices after a warm-up; latency is from request write to last response byte. "Added" is Ocellus minus direct.',
    tables: [table],
    notes,
  };
}
