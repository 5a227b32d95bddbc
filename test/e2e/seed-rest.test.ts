/**
 * The seed guide's REST examples, run as written with real bash, curl, base64, file and jq
 * against a running Ocellus. The scripts in ./seed-rest/ are copied verbatim from the seed;
 * the only edits made here, at run time, are the host (https://generativelanguage.googleapis.com
 * → the server's base URL), the sample image paths and the sample image URL. Each runs in its
 * own temp directory with GOOGLE_API_KEY / GEMINI_API_KEY set; the server enforces the key.
 *
 * Then the wire details curl users see: the exact SSE framing of
 * streamGenerateContent?alt=sse, the JSON-array stream without `alt`, and error bodies.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, readFixture } from '../support/fixtures.js';
import { startServer, type RunningServer } from '../support/server.js';
import { expectDogJpgCaption, expectEnvelope, imageTokens2x, KEY_A, startStaticServer, type StaticServer } from './helpers.js';

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const REAL_HOST = 'https://generativelanguage.googleapis.com';

let srv: RunningServer;
let web: StaticServer;
let smallJpeg: Buffer; // the seed passes inline images on the command line: they must fit in one argv string (128 KiB)
let smallPng: Buffer;
const work: string[] = [];

beforeAll(async () => {
  srv = await startServer({ apiKeys: [KEY_A] });
  smallJpeg = await sharp(readFixture('dog.jpg')).resize(384, 288).jpeg({ quality: 80 }).toBuffer();
  smallPng = await sharp(readFixture('horses.jpg')).resize(240, 159).png({ palette: true }).toBuffer();
  expect(smallJpeg.length).toBeLessThan(90_000);
  expect(smallPng.length).toBeLessThan(90_000);
  web = await startStaticServer({ 'instrument-img': { fixture: smallJpeg, type: 'image/jpeg' } });
});

afterAll(async () => {
  await web?.close();
  await srv?.stop();
  for (const dir of work) rmSync(dir, { recursive: true, force: true });
});

/** A temp cwd holding the given files at the seed's relative paths. */
function workDir(files: Record<string, Buffer> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ocellus-rest-'));
  work.push(dir);
  for (const [rel, bytes] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), bytes);
  }
  return dir;
}

/** The seed script with the host (and the given sample paths/URLs) replaced. */
function seedScript(name: string, replace: Record<string, string> = {}): string {
  let script = readFileSync(path.join(HERE, 'seed-rest', name), 'utf8');
  expect(script).toContain(REAL_HOST);
  script = script.replaceAll(REAL_HOST, srv.baseUrl);
  for (const [from, to] of Object.entries(replace)) {
    expect(script).toContain(from);
    script = script.replaceAll(from, to);
  }
  return script;
}

async function bash(script: string, cwd: string): Promise<string> {
  const { stdout } = await run('bash', ['-c', script], {
    cwd,
    env: { ...process.env, GOOGLE_API_KEY: KEY_A, GEMINI_API_KEY: KEY_A },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 30_000,
  });
  return stdout;
}

interface WireResponse {
  candidates: Array<{ content: { role: string; parts: Array<{ text?: string }> }; finishReason?: string; index: number }>;
  usageMetadata: { promptTokenCount: number; candidatesTokenCount: number; totalTokenCount: number; promptTokensDetails: Array<{ modality: string; tokenCount: number }> };
  modelVersion: string;
  responseId: string;
}

function expectCandidateText(res: WireResponse): string {
  expect(res.candidates).toHaveLength(1);
  const c = res.candidates[0]!;
  expect(c.content.role).toBe('model');
  expect(c.finishReason).toBe('STOP');
  const text = c.content.parts.map((p) => p.text ?? '').join('');
  expect(text.trim().length).toBeGreaterThan(0);
  expect(res.modelVersion).toBe('gemini-2.5-flash');
  expect(res.responseId).toEqual(expect.any(String));
  return text;
}

const imageTokensOf = (res: WireResponse) => res.usageMetadata.promptTokensDetails.find((d) => d.modality === 'IMAGE')?.tokenCount;

/**
 * Captions of the 384-px, quality-80 copy of dog.jpg the seed's inline examples send.
 * SSD-MobileNetV2 alone called this copy's dog a cat (cat 0.80, dog 0.58; the full-size
 * photo is dog 0.87, cat 0.64); the default since issue 9 (SSD + CenterNet fused) calls it
 * a dog (0.70) with cat close behind (0.48), which the confidence policy says as "a dog (or
 * possibly a cat)". These tests are about the seed's wire, so they accept the animal under
 * either name, and nothing else that dog.jpg does not show.
 */
function expectSmallDogCaption(caption: string): void {
  expect(caption).toMatch(/\b(dog|cat)\b/);
  expectDogJpgCaption(caption.replace(/\bcat\b/g, 'dog'));
}

describe('the small copy of dog.jpg the seed examples send', () => {
  it('is captioned with its dog; a cat only as the hedge "(or possibly a cat)" after it (issue 9)', async () => {
    const res = JSON.parse((await curl(GEN, inlineRequest('image/jpeg', smallJpeg.toString('base64')))).body.toString('utf8')) as WireResponse;
    const caption = expectCandidateText(res);
    // The label is the dog; a runner-up may follow it in parentheses, as the policy words it.
    expect(caption).toMatch(/\ba dog\b/);
    expectDogJpgCaption(caption.replace(/ \(or possibly an? [a-z ]+\)/g, ''));
  });
});

describe('seed REST examples via curl', () => {
  it('inline base64 image (the seed JSON has a trailing comma, which must be accepted)', async () => {
    const cwd = workDir({ 'your/image1.jpg': smallJpeg });
    const script = seedScript('inline.sh', { '/path/to/your/image1.jpg': path.join(cwd, 'your/image1.jpg') });
    expect(script).toMatch(/\{"text": "Caption this image."\},\n\]/); // the trailing comma is still there
    const out = await bash(script, cwd);
    const res = JSON.parse(out) as WireResponse;
    expectSmallDogCaption(expectCandidateText(res));
    expect(imageTokensOf(res)).toBe(imageTokens2x(384, 288));
  });

  it('image bytes fetched from a URL (HEAD for the MIME type, then base64 of the body)', async () => {
    const cwd = workDir();
    const out = await bash(seedScript('url.sh', { 'https://goo.gle/instrument-img': web.url('instrument-img') }), cwd);
    const res = JSON.parse(out) as WireResponse;
    expectSmallDogCaption(expectCandidateText(res));
    expect(imageTokensOf(res)).toBe(imageTokens2x(384, 288));
  });

  it('Files API: resumable start with -D upload-header.tmp and a single-quoted body, --data-binary upload, then file_data', async () => {
    const cwd = workDir({ 'path/to/sample.jpg': readFixture('dog.jpg') });
    const out = await bash(seedScript('files-api.sh'), cwd);
    const info = JSON.parse(readFileSync(path.join(cwd, 'file_info.json'), 'utf8')) as { file: Record<string, string> };
    expect(info.file).toMatchObject({ mimeType: 'image/jpeg', displayName: 'IMAGE', state: 'ACTIVE', sizeBytes: String(readFixture('dog.jpg').length) });
    expect(info.file.uri).toMatch(new RegExp(`^${srv.baseUrl}/v1beta/files/[a-z0-9-]+$`));
    expect(out).toContain(`file_uri=${info.file.uri}\n`);
    const res = JSON.parse(readFileSync(path.join(cwd, 'response.json'), 'utf8')) as WireResponse;
    const text = expectCandidateText(res);
    expectDogJpgCaption(text);
    expect(imageTokensOf(res)).toBe(1032);
    // The script's last line: jq prints each text part as a JSON string.
    const jqLines = out.trimEnd().split('\n').slice(-res.candidates[0]!.content.parts.length);
    expect(jqLines.map((l) => JSON.parse(l) as string).join('')).toBe(text);
    expect(readFileSync(path.join(cwd, 'response.json'), 'utf8').length).toBeGreaterThan(0);
  });

  it('multiple images: an uploaded JPEG (file_uri spliced in as a JSON string) and an inline PNG', async () => {
    const cwd = workDir({ 'path/to/image1.jpg': readFixture('dog.jpg'), 'path/to/image2.png': smallPng });
    const out = await bash(seedScript('multi-image.sh'), cwd);
    expect(out).toMatch(/^file1_uri="http:\/\/127\.0\.0\.1:\d+\/v1beta\/files\/[a-z0-9-]+"$/m);
    const res = JSON.parse(readFileSync(path.join(cwd, 'response.json'), 'utf8')) as WireResponse;
    const text = expectCandidateText(res);
    expect(text).toMatch(/Only image 1 has [^.]*\bdog\b/);
    expect(text).toMatch(/Only image 2 has [^.]*\bhorses?\b/);
    expect(text).toMatch(/Images 1 and 2 differ in about \d+% of their area/);
    expect(text).toContain('768×576 and 240×159');
    expect(imageTokensOf(res)).toBe(1032 + 258);
  });
});

/** One curl call: status, headers and raw body. */
async function curl(
  urlPath: string,
  body: string | Buffer,
  extra: string[] = [],
): Promise<{ status: number; contentType: string; headers: string; body: Buffer }> {
  const cwd = workDir({ 'req.json': Buffer.isBuffer(body) ? body : Buffer.from(body) });
  const out = await bash(
    `curl -sS -N -o body.bin -D headers.txt -w '%{http_code}' -H 'Content-Type: application/json' ${extra.join(' ')} ` +
      `--data-binary @req.json "${srv.baseUrl}${urlPath}${urlPath.includes('?') ? '&' : '?'}key=$GOOGLE_API_KEY"`,
    cwd,
  );
  const headers = readFileSync(path.join(cwd, 'headers.txt'), 'latin1');
  const contentType = /^content-type:\s*(.*?)\r?$/im.exec(headers)?.[1] ?? '';
  return { status: Number(out), contentType, headers, body: readFileSync(path.join(cwd, 'body.bin')) };
}

const GEN = '/v1beta/models/gemini-2.5-flash:generateContent';
const STREAM = '/v1beta/models/gemini-2.5-flash:streamGenerateContent';
const inlineRequest = (mimeType: string, data: string, text = 'Caption this image.') =>
  JSON.stringify({ contents: [{ parts: [{ inline_data: { mime_type: mimeType, data } }, { text }] }] });

describe('streaming via curl', () => {
  it('alt=sse: the raw body is exactly a sequence of `data: {...}\\r\\n\\r\\n` events', async () => {
    const r = await curl(`${STREAM}?alt=sse`, inlineRequest('image/jpeg', smallJpeg.toString('base64')));
    expect(r.status).toBe(200);
    expect(r.contentType).toMatch(/^text\/event-stream/);
    const raw = r.body.toString('utf8');
    expect(raw).toMatch(/^(data: \{[^\r\n]*\}\r\n\r\n)+$/);
    const events = raw.split('\r\n\r\n').slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)) as WireResponse);
    expect(events.length).toBeGreaterThanOrEqual(2);
    events.forEach((e, i) => {
      expect(e.candidates[0]!.content.role).toBe('model');
      expect(e.candidates[0]!.content.parts.length).toBeGreaterThan(0);
      expect(e.candidates[0]!.finishReason).toBe(i === events.length - 1 ? 'STOP' : undefined);
      expect(e.responseId).toBe(events[0]!.responseId);
    });
    const whole = await curl(GEN, inlineRequest('image/jpeg', smallJpeg.toString('base64')));
    const wholeText = expectCandidateText(JSON.parse(whole.body.toString('utf8')) as WireResponse);
    expectSmallDogCaption(wholeText);
    expect(events.map((e) => e.candidates[0]!.content.parts.map((p) => p.text).join('')).join('')).toBe(wholeText);
  });

  it('without alt: one JSON array that JSON.parses, the last element finished', async () => {
    const r = await curl(STREAM, inlineRequest('image/jpeg', smallJpeg.toString('base64')));
    expect(r.status).toBe(200);
    expect(r.contentType).toMatch(/^application\/json/);
    const arr = JSON.parse(r.body.toString('utf8')) as WireResponse[];
    expect(Array.isArray(arr)).toBe(true);
    expect(arr.length).toBeGreaterThanOrEqual(2);
    expect(arr.at(-1)!.candidates[0]!.finishReason).toBe('STOP');
    expect(arr.slice(0, -1).every((c) => c.candidates[0]!.finishReason === undefined)).toBe(true);
    expectSmallDogCaption(arr.map((c) => c.candidates[0]!.content.parts.map((p) => p.text ?? '').join('')).join(''));
  });
});

describe('error bodies via curl', () => {
  const jpegB64 = () => readFixture('dog.jpg').toString('base64');
  const cases: Array<{ name: string; path?: string; body: () => string; code: number; status: string; message: RegExp }> = [
    {
      name: 'bad JSON',
      body: () => '{"contents": [{"parts": [{"text": "hi"}]}',
      code: 400,
      status: 'INVALID_ARGUMENT',
      message: /^Invalid JSON payload received\..*position \d+/,
    },
    {
      name: 'an unknown field',
      body: () => JSON.stringify({ contents: [{ parts: [{ text: 'hi', bogus_field: 1 }] }] }),
      code: 400,
      status: 'INVALID_ARGUMENT',
      message: /Unknown name "bogus_field" at 'contents\[0\]\.parts\[0\]': Cannot find field/,
    },
    {
      name: 'bad base64',
      body: () => inlineRequest('image/jpeg', 'this is *not* base64!'),
      code: 400,
      status: 'INVALID_ARGUMENT',
      message: /contents\[0\]\.parts\[0\]\.inline_?[dD]ata\.data/,
    },
    {
      name: 'a truncated image',
      body: () => inlineRequest('image/jpeg', readFixture('dog-truncated.jpg').toString('base64')),
      code: 400,
      status: 'INVALID_ARGUMENT',
      message: /contents\[0\]\.parts\[0\]/,
    },
    {
      name: 'a MIME type that does not match the bytes',
      body: () => inlineRequest('image/png', jpegB64()),
      code: 400,
      status: 'INVALID_ARGUMENT',
      message: /contents\[0\]\.parts\[0\][\s\S]*(image\/png[\s\S]*(JPEG|image\/jpeg)|(JPEG|image\/jpeg)[\s\S]*image\/png)/i,
    },
    {
      name: 'an unknown model',
      path: '/v1beta/models/no-such-model:generateContent',
      body: () => inlineRequest('image/jpeg', jpegB64()),
      code: 404,
      status: 'NOT_FOUND',
      message: /models\/no-such-model is not found/,
    },
  ];

  it.each(cases)('$name → $code $status, JSON envelope naming the field or part', async (c) => {
    const r = await curl(c.path ?? GEN, c.body());
    expect(r.status).toBe(c.code);
    expect(r.contentType).toMatch(/^application\/json/);
    const env = expectEnvelope(JSON.parse(r.body.toString('utf8')), c.code, c.status);
    expect(env.error.message).toMatch(c.message);
  });

  it('the same error on streamGenerateContent?alt=sse is a plain JSON error response, not a 200 stream', async () => {
    const r = await curl(`${STREAM}?alt=sse`, inlineRequest('image/png', jpegB64()));
    expect(r.status).toBe(400);
    expect(r.contentType).toMatch(/^application\/json/);
    expectEnvelope(JSON.parse(r.body.toString('utf8')), 400, 'INVALID_ARGUMENT');
  });

  it('fixture sanity: the truncated JPEG really is cut short', () => {
    expect(readFixture('dog-truncated.jpg').length).toBeLessThan(readFixture('dog.jpg').length);
    expect(fixturePath('dog-truncated.jpg')).toMatch(/dog-truncated\.jpg$/);
  });
});
