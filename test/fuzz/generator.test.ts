/**
 * The fuzz generator is only useful if a printed seed replays the same requests: these
 * check that it is deterministic, that it covers every endpoint, API version and mutation,
 * and that it includes the malformed requests issue 11 found by hand.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { API_VERSIONS, createRng, ENDPOINTS, fuzzCases, generateCases, pngHeaderClaiming, type FuzzCase } from './generator.js';
import { parseResponse, serialise } from './raw-http.js';

const OPTS = { apiKey: 'k' };

function digest(cases: FuzzCase[]): string {
  const h = createHash('sha256');
  for (const c of cases) h.update(serialise(c.request, 'h')).update(`|${c.endpoint}|${c.mutations.join()}|${c.outOfScope}\n`);
  return h.digest('hex');
}

describe('createRng', () => {
  it('repeats its sequence for a seed and differs between seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.next())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('keeps int and range within bounds', () => {
    const r = createRng(1);
    for (let i = 0; i < 1000; i++) {
      expect(r.int(7)).toBeLessThan(7);
      const v = r.range(3, 5);
      expect(v >= 3 && v <= 5).toBe(true);
    }
  });
});

describe('fuzzCases', () => {
  const N = 1500;
  const cases = generateCases(20261203, N, OPTS);

  it('gives the same requests, byte for byte, for the same seed', () => {
    expect(digest(generateCases(20261203, N, OPTS))).toBe(digest(cases));
    // The lazy form yields exactly the same cases.
    expect(digest([...fuzzCases(20261203, N, OPTS)])).toBe(digest(cases));
  });

  it('gives different requests for another seed', () => {
    expect(digest(generateCases(20261204, N, OPTS))).not.toBe(digest(cases));
  });

  it('is a prefix: fewer cases from a seed are the first ones of more', () => {
    expect(digest(generateCases(20261203, 200, OPTS))).toBe(digest(cases.slice(0, 200)));
  });

  it('numbers the cases and covers every endpoint, API version and mutation', () => {
    expect(cases.map((c) => c.id)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(new Set(cases.map((c) => c.endpoint))).toEqual(new Set(ENDPOINTS));
    for (const v of API_VERSIONS) expect(cases.some((c) => c.request.target.startsWith(`/${v}/`))).toBe(true);
    for (const v of API_VERSIONS) expect(cases.some((c) => c.request.target.startsWith(`/upload/${v}/`))).toBe(true);
    const mutations = new Set(cases.flatMap((c) => c.mutations));
    for (const m of ['none', 'wrongMethod', 'badJson', 'wrongType', 'deepNesting', 'hugeWidth', 'badBase64', 'wrongMime', 'badKeys', 'badQuery', 'percentEncoding', 'longName', 'nonAscii', 'oddHeaders', 'truncatedBody', 'badAuth', 'uploadHeaders', 'badMultipart', 'shortBody'])
      expect(mutations, m).toContain(m);
    expect(cases.some((c) => c.request.target.includes('alt=sse'))).toBe(true);
    // A short body declares more than it sends, and the client half-closes.
    const short = cases.find((c) => c.mutations.includes('shortBody'))!;
    const declared = Number(short.request.headers.find(([n]) => n === 'content-length')![1]);
    expect(declared).toBeGreaterThan(short.request.body?.length ?? 0);
    expect(short.request.halfClose).toBe(true);
  });

  it("includes the issue's hand-found cases (each several times in a run of 10,000)", () => {
    const found = { percent: 0, longModel: 0, nonAscii: 0, bigHeader: 0, deepArray: 0, deepSchema: 0 };
    for (const c of fuzzCases(20261203, 6000, OPTS)) {
      const path = c.request.target.split('?')[0]!;
      const body = c.request.body?.toString('latin1') ?? '';
      // Bad percent-encoding in the path, a model name thousands of characters long, non-ASCII path bytes.
      if (/%(?![0-9A-Fa-f]{2})/.test(path)) found.percent++;
      if (/\/models\/[^/?]{5000,}/.test(path)) found.longModel++;
      if (/[^\x00-\x7f]/.test(path)) found.nonAscii++;
      // Headers past Node's 16 KB, and 2,000+ levels of nesting in a body.
      if (c.request.headers.some(([, v]) => v.length >= 17_000)) found.bigHeader++;
      if (body.includes('['.repeat(2000))) found.deepArray++;
      if (body.includes('{"type":"ARRAY","items":'.repeat(1000))) found.deepSchema++;
    }
    for (const [what, n] of Object.entries(found)) expect(n, what).toBeGreaterThanOrEqual(3);
  });
});

describe('pngHeaderClaiming', () => {
  it('writes a PNG signature and an IHDR with the claimed size', () => {
    const png = pngHeaderClaiming(50_000, 40_000);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
    expect(png.readUInt32BE(16)).toBe(50_000);
    expect(png.readUInt32BE(20)).toBe(40_000);
  });
});

describe('raw HTTP framing', () => {
  it('adds Host and Content-Length unless the case set them', () => {
    const auto = serialise({ method: 'POST', target: '/x', headers: [], body: Buffer.from('ab') }, 'h:1').toString();
    expect(auto).toBe('POST /x HTTP/1.1\r\nHost: h:1\r\nContent-Length: 2\r\n\r\nab');
    const manual = serialise({ method: 'GET', target: '/é', headers: [['Host', 'x'], ['content-length', '9']], body: Buffer.from('ab') }, 'h:1');
    expect(manual.toString('utf8')).toBe('GET /é HTTP/1.1\r\nHost: x\r\ncontent-length: 9\r\n\r\nab');
  });

  it('parses length-delimited, chunked and 100-continue responses, and waits for incomplete ones', () => {
    const plain = Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}');
    expect(parseResponse(plain, 'GET', false)?.response.status).toBe(400);
    expect(parseResponse(plain.subarray(0, plain.length - 1), 'GET', false)).toBeUndefined();
    const chunked = Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
    const parsed = parseResponse(chunked, 'POST', false)!;
    expect(parsed.response.status).toBe(200);
    expect(parsed.response.body.toString()).toBe('abcde');
    expect(parsed.used).toBe(chunked.length);
    expect(parseResponse(Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n'), 'HEAD', false)?.response.body.length).toBe(0);
  });
});
