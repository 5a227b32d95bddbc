/**
 * Requests that fail before any route runs (in Node's HTTP parser or Fastify's router) and
 * bodies nested too deep: each was answered outside Gemini's envelope, or with a 500, or by
 * a reset connection (issue 11, defects 5 and 9). Sent over raw keep-alive TCP, because
 * Node's own clients refuse to send most of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawConnection, type Outcome, type RawRequest, type RawResponse } from '../fuzz/raw-http.js';
import { envelopeProblem, warmUp } from '../fuzz/runner.js';
import { PNG_1X1 } from '../fuzz/generator.js';
import { clientErrorToApiError, rawErrorResponse } from '../../src/server/framework-errors.js';
import { errorBody } from '../../src/server/error-envelope.js';
import { parseQueryFirstWins } from '../../src/server/query.js';
import { startServer, storedBlobs, type RunningServer } from '../support/server.js';

const KEY = 'k1';
let server: RunningServer;
let port: number;

beforeAll(async () => {
  server = await startServer({ apiKeys: [KEY], flags: { engine: 'measurements' } });
  port = Number(new URL(server.baseUrl).port);
  // The tokenizer's first load holds the event loop for seconds on a busy machine; not in a test.
  await warmUp({ host: '127.0.0.1', port, apiKey: KEY });
});

afterAll(async () => {
  await server?.stop();
});

const auth: [string, string] = ['x-goog-api-key', KEY];

function responseOf(o: Outcome): RawResponse {
  if (o.kind !== 'response') throw new Error(`no response: ${o.reason}`);
  return o.response;
}

/** Sends `req` on a keep-alive connection that has just served an ordinary request. */
async function afterAGoodRequest(req: RawRequest): Promise<RawResponse> {
  const conn = new RawConnection('127.0.0.1', port, 30_000);
  try {
    expect(responseOf(await conn.send({ method: 'GET', target: '/healthz', headers: [] })).status).toBe(200);
    return responseOf(await conn.send(req));
  } finally {
    conn.close();
  }
}

function expectEnvelope(res: RawResponse, status: number, message?: RegExp): { code: number; message: string; status: string } {
  expect(res.status).toBe(status);
  expect(envelopeProblem(res), res.body.toString('utf8')).toBeUndefined();
  const error = (JSON.parse(res.body.toString('utf8')) as { error: { code: number; message: string; status: string } }).error;
  if (message) expect(error.message).toMatch(message);
  return error;
}

const generate = (body: string, model = 'gemini-2.5-flash'): RawRequest => ({
  method: 'POST',
  target: `/v1beta/models/${model}:generateContent`,
  headers: [['content-type', 'application/json'], auth],
  body: Buffer.from(body),
});

describe('errors before the routes, in the envelope, on keep-alive connections', () => {
  it('bad percent-encoding in the path is a 400', async () => {
    const res = await afterAGoodRequest({ method: 'GET', target: '/v1beta/models/gemini%zz-2.5', headers: [auth] });
    expectEnvelope(res, 400, /not valid percent-encoding/);
  });

  it('a 5,000-character model name is a 414', async () => {
    const res = await afterAGoodRequest(generate('{}', 'g'.repeat(5000)));
    expect(expectEnvelope(res, 414, /too long/).status).toBe('INVALID_ARGUMENT');
  });

  it('non-ASCII bytes in the path are answered in the envelope', async () => {
    const res = await afterAGoodRequest({ method: 'GET', target: '/v1beta/models/gemini-2.5-flash\u00e9\u6a21', headers: [auth] });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(envelopeProblem(res)).toBeUndefined();
  });

  it('20 KB of headers is a 431, and a megabyte of them is answered too, not reset', async () => {
    expectEnvelope(await afterAGoodRequest({ method: 'GET', target: '/v1beta/models', headers: [auth, ['x-big', 'a'.repeat(20_000)]] }), 431);
    const flood = await afterAGoodRequest({ method: 'GET', target: '/v1beta/models', headers: [auth, ['x-big', 'a'.repeat(1_000_000)]] });
    expect(flood.headers.connection).toBe('close');
    expectEnvelope(flood, 431, /header/);
  });

  it("a request Node's parser rejects is a 400 naming why", async () => {
    const cases: RawRequest[] = [
      { method: 'GET', target: '/healthz', headers: [['content-length', '1'], ['content-length', '2']] },
      { method: 'POST', target: '/v1beta/files', headers: [['transfer-encoding', 'chunked'], ['content-length', '3']], body: Buffer.from('0\r\n\r\n') },
      { method: 'GET', target: '/healthz', headers: [['bad header', 'x']] },
      { method: 'FOO', target: '/healthz', headers: [] },
    ];
    for (const req of cases) expectEnvelope(await afterAGoodRequest(req), 400, /^Malformed HTTP request: /);
  });

  it('an Expect other than 100-continue is a 417 in the envelope; CONNECT is a 400', async () => {
    expectEnvelope(await afterAGoodRequest({ method: 'GET', target: '/healthz', headers: [['expect', 'teapot']] }), 417, /Expect/);
    expectEnvelope(await afterAGoodRequest({ method: 'CONNECT', target: '127.0.0.1:1', headers: [] }), 400, /CONNECT/);
  });

  it('a bare OPTIONS is 204, not the CORS plugin\'s text/plain 400', async () => {
    const res = await afterAGoodRequest({ method: 'OPTIONS', target: '/v1beta/models', headers: [] });
    expect(res.status).toBe(204);
  });

  it('a repeated query parameter is read once (upload_id twice was a 500)', async () => {
    const res = await afterAGoodRequest({
      method: 'POST',
      target: '/upload/v1beta/files?upload_id=a&upload_id=b&upload_protocol=resumable',
      headers: [['x-goog-upload-command', 'query']],
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(envelopeProblem(res)).toBeUndefined();
    const protocol = await afterAGoodRequest({ method: 'POST', target: '/upload/v1beta/files?uploadType=bogus&uploadType=media', headers: [auth], body: Buffer.from('x') });
    expectEnvelope(protocol, 400, /Unsupported upload protocol "bogus"/);
  });
});

describe('found by the fuzz suite', () => {
  it("a resumable start declaring more than the file limit is the client's 400, not a full disk's 503", async () => {
    const res = await afterAGoodRequest({
      method: 'POST',
      target: '/upload/v1beta/files',
      headers: [auth, ['x-goog-upload-protocol', 'resumable'], ['x-goog-upload-command', 'start'], ['x-goog-upload-header-content-length', '9007199254740993']],
      body: Buffer.from('{"file":{"display_name":"x"}}'),
    });
    expectEnvelope(res, 400);
  });
});

describe('deep nesting is a 400 naming the path, wherever it is (was a 500)', () => {
  const deepArray = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const items = (n: number) => `${'{"type":"ARRAY","items":'.repeat(n)}{"type":"STRING"}${'}'.repeat(n)}`;

  it('2,000 levels of [ in contents', async () => {
    const res = await afterAGoodRequest(generate(`{"contents":${deepArray(2000)}}`));
    expectEnvelope(res, 400, /^Invalid JSON payload received\. Nesting is deeper than 100 levels at 'contents(\[0\])+'\.$/);
  });

  it('5,000 levels in a response schema, a JSON schema and an unknown object', async () => {
    const text = '{"contents":[{"parts":[{"text":"x"}]}]';
    expectEnvelope(await afterAGoodRequest(generate(`${text},"generationConfig":{"responseMimeType":"application/json","responseSchema":${items(5000)}}}`)), 400, /at 'generationConfig\.responseSchema(\.items)+'/);
    expectEnvelope(await afterAGoodRequest(generate(`${text},"generationConfig":{"responseJsonSchema":${items(5000)}}}`)), 400, /Nesting is deeper than 100 levels/);
    expectEnvelope(await afterAGoodRequest(generate(`${text},"somethingUnknown":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`)), 400, /at 'somethingUnknown(\.a)+'/);
  });

  it('countTokens, file metadata, resumable start and multipart metadata', async () => {
    const deepFile = `{"file":{"displayName":"x","extra":${deepArray(3000)}}}`;
    expectEnvelope(
      await afterAGoodRequest({ method: 'POST', target: '/v1beta/models/gemini-2.5-flash:countTokens', headers: [auth], body: Buffer.from(`{"contents":${deepArray(3000)}}`) }),
      400,
      /Nesting is deeper/,
    );
    expectEnvelope(await afterAGoodRequest({ method: 'POST', target: '/v1beta/files', headers: [auth, ['content-type', 'application/json']], body: Buffer.from(deepFile) }), 400, /at 'file\.extra(\[0\])+'/);
    expectEnvelope(
      await afterAGoodRequest({
        method: 'POST',
        target: '/upload/v1beta/files',
        headers: [auth, ['x-goog-upload-protocol', 'resumable'], ['x-goog-upload-command', 'start']],
        body: Buffer.from(deepFile),
      }),
      400,
      /Nesting is deeper/,
    );
    const boundary = 'b0undary';
    const multipart = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Type: application/json\r\n\r\n${deepFile}\r\n--${boundary}\r\nContent-Type: image/png\r\n\r\n`),
      Buffer.from(PNG_1X1, 'base64'),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    expectEnvelope(
      await afterAGoodRequest({ method: 'POST', target: '/upload/v1beta/files', headers: [auth, ['content-type', `multipart/related; boundary=${boundary}`]], body: multipart }),
      400,
      /Nesting is deeper/,
    );
    expect(storedBlobs(server.dataDir)).toEqual([]);
  });

  it('the server is healthy afterwards', async () => {
    const res = await afterAGoodRequest({ method: 'GET', target: '/healthz', headers: [] });
    expect(res.status).toBe(200);
  });
});

describe('framework error mapping', () => {
  it("maps Node's parser errors to Gemini statuses", () => {
    const e = (code: string, reason?: string) => clientErrorToApiError(Object.assign(new Error('x'), { code, reason }));
    expect(e('HPE_HEADER_OVERFLOW').httpStatus).toBe(431);
    expect(errorBody(e('ERR_HTTP_REQUEST_TIMEOUT')).error).toMatchObject({ code: 408, status: 'DEADLINE_EXCEEDED' });
    expect(errorBody(e('HPE_INVALID_METHOD', 'Invalid method encountered')).error).toMatchObject({
      code: 400,
      status: 'INVALID_ARGUMENT',
      message: 'Malformed HTTP request: Invalid method encountered.',
    });
  });

  it('writes a complete response that closes the connection', () => {
    const raw = rawErrorResponse(clientErrorToApiError(Object.assign(new Error('x'), { code: 'HPE_HEADER_OVERFLOW' })));
    const [head, body] = raw.split('\r\n\r\n') as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(head).toContain('Connection: close');
    expect(head).toContain(`Content-Length: ${Buffer.byteLength(body)}`);
    expect(JSON.parse(body)).toMatchObject({ error: { code: 431, status: 'INVALID_ARGUMENT' } });
  });

  it('parses query strings first-value-wins, without a prototype', () => {
    const q = parseQueryFirstWins('a=1&a=2&b=%zz&__proto__=x&c');
    expect(Object.keys(q)).toEqual(['a', 'b', '__proto__', 'c']);
    expect([q.a, q.b, q['__proto__'], q.c]).toEqual(['1', '%zz', 'x', '']);
    expect(Object.getPrototypeOf(q)).toBeNull();
  });
});
