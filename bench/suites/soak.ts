/**
 * Suite "soak": the server's memory over time under a mixed load, for a bounded time.
 *
 * A real `ocellus serve` child (detector and safety model) takes, from 8 clients at once,
 * a mix chosen to hit every cache a client controls the key of: captions of a photo (the
 * vision pool), captions of always-new small images (the decode cache), countTokens of
 * always-new 20 K-character texts (the token-count cache and the chunked tokenizer),
 * structured output with an always-new response schema (the schema validators), and a
 * text part far over the model's input limit (refused from the estimate). RSS is sampled
 * every second; the table shows it at fixed points of the run. The baseline is the same
 * child's RSS after warm-up, before the load, in the same run: a flat line after warm-up
 * is the target.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { buildRequest, requestOnce } from '../lib/http-load.js';
import type { SuiteResult } from '../lib/report.js';
import { procMemory, startOcellus } from '../lib/servers.js';
import { fmt, mib } from '../lib/stats.js';

export interface SoakOptions {
  photoPath: string;
  tmpDir: string;
  durationMs: number;
  clients: number;
  log: (line: string) => void;
}

const GEN = '/v1beta/models/gemini-2.5-flash:generateContent';
const COUNT = '/v1beta/models/gemini-2.5-flash:countTokens';

const json = (parts: unknown[], generationConfig?: unknown) => JSON.stringify({ contents: [{ role: 'user', parts }], ...(generationConfig ? { generationConfig } : {}) });
const inline = (mimeType: string, b: Buffer) => ({ inlineData: { mimeType, data: b.toString('base64') } });

export async function runSoak(o: SoakOptions): Promise<Omit<SuiteResult, 'seconds' | 'cpu'>> {
  const photo = readFileSync(o.photoPath);
  const args = ['--vision-queue', '32', '--no-segment', '--no-ocr', '--no-people', '--log-level', 'warn'];
  o.log(`soak: starting ocellus serve ${args.join(' ')}`);
  const child = await startOcellus({ dataDir: path.join(o.tmpDir, 'soak-data'), logFile: path.join(o.tmpDir, 'soak.log'), extraArgs: args });
  const port = child.port;
  const words = 'the quick brown fox jumps over a lazy dog near 42 red boats while children watch'.split(' ');
  const text = (n: number) => {
    let s = '';
    while (s.length < n) s += `${words[Math.floor(Math.random() * words.length)]} `;
    return s;
  };
  const noise = async () =>
    sharp(randomBytes(128 * 128 * 3), { raw: { width: 128, height: 128, channels: 3 } })
      .png()
      .toBuffer();
  const kinds: Array<[string, () => Promise<{ path: string; body: string; expect: number }>]> = [
    ['caption of a photo', async () => ({ path: GEN, body: json([inline('image/jpeg', photo), { text: 'Caption this image.' }]), expect: 200 })],
    ['caption of a new image', async () => ({ path: GEN, body: json([inline('image/png', await noise()), { text: 'What colours are in this image?' }]), expect: 200 })],
    ['countTokens of a new 20 K text', async () => ({ path: COUNT, body: json([{ text: text(20_000) }]), expect: 200 })],
    [
      'a new response schema',
      async () => {
        const key = `k${randomBytes(6).toString('hex')}`;
        const schema = { type: 'object', properties: { [key]: { type: 'string', description: text(2000) } } };
        // The engine may not be able to fill a made-up schema (400 FAILED_PRECONDITION); the schema is compiled either way.
        return { path: GEN, body: json([inline('image/jpeg', photo), { text: 'Describe it.' }], { responseMimeType: 'application/json', responseJsonSchema: schema }), expect: 0 };
      },
    ],
    ['a text over the input limit', async () => ({ path: COUNT, body: json([{ text: 'word '.repeat(2_000_000) }]), expect: 400 })],
  ];
  const counts = new Map<string, { ok: number; other: Map<number, number> }>(kinds.map(([k]) => [k, { ok: 0, other: new Map() }]));
  try {
    // Warm-up: a few of each, then the baseline.
    for (const [, make] of kinds) {
      const m = await make();
      await requestOnce(port, buildRequest({ port, path: m.path, body: m.body, headers: { 'Content-Type': 'application/json' } }), { timeoutMs: 120_000 });
    }
    await sleep(1000);
    const baseline = procMemory(child.pid).rssBytes;
    const samples: Array<{ t: number; rss: number }> = [];
    const t0 = performance.now();
    const sampler = setInterval(() => samples.push({ t: performance.now() - t0, rss: procMemory(child.pid).rssBytes }), 1000);
    let i = 0;
    await Promise.all(
      Array.from({ length: o.clients }, async () => {
        while (performance.now() - t0 < o.durationMs) {
          const [name, make] = kinds[i++ % kinds.length]!;
          const m = await make();
          const r = await requestOnce(port, buildRequest({ port, path: m.path, body: m.body, headers: { 'Content-Type': 'application/json' } }), { timeoutMs: 120_000 });
          const c = counts.get(name)!;
          if (r.status === m.expect || (m.expect === 0 && r.status < 500)) c.ok++;
          else c.other.set(r.status, (c.other.get(r.status) ?? 0) + 1);
        }
      }),
    );
    clearInterval(sampler);
    samples.push({ t: performance.now() - t0, rss: procMemory(child.pid).rssBytes });
    const at = (f: number) => samples.reduce((best, s) => (Math.abs(s.t - f * o.durationMs) < Math.abs(best.t - f * o.durationMs) ? s : best), samples[0]!);
    const points = [0.1, 0.25, 0.5, 0.75, 1].map(at);
    const peak = Math.max(...samples.map((s) => s.rss));
    const last = points[points.length - 1]!.rss;
    const half = points[2]!.rss;
    return {
      title: `Soak: RSS over ${Math.round(o.durationMs / 1000)} s of mixed load`,
      method:
        `A real \`ocellus serve\` (detector and safety model) under ${o.clients} clients sending, in turn: ${kinds.map(([k]) => k).join('; ')}. ` +
        'RSS of the server process sampled every second; the baseline is its RSS after one of each request, before the load, in the same run.',
      tables: [
        {
          head: ['time', 'RSS', 'vs baseline'],
          rows: [['baseline (after warm-up)', mib(baseline), ''], ...points.map((p) => [`${fmt(p.t / 1000)} s`, mib(p.rss), `${p.rss >= baseline ? '+' : ''}${mib(p.rss - baseline)}`]), ['peak', mib(peak), `+${mib(peak - baseline)}`]],
        },
        {
          head: ['request', 'as expected', 'other statuses'],
          rows: [...counts].map(([k, c]) => [k, String(c.ok), [...c.other].map(([s, n]) => `${n}×${s}`).join(', ') || '0']),
        },
      ],
      notes: [`Second half of the run: RSS moved ${last >= half ? '+' : ''}${mib(last - half)} (from ${mib(half)} to ${mib(last)}); flat is the target.`],
    };
  } finally {
    await child.stop();
  }
}
