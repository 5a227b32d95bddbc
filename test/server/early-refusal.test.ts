/**
 * A generateContent that the model queue would refuse is refused before its body is parsed:
 * in a burst most requests get 429, and decoding and parsing each ~150 KB body only to
 * refuse it held the event loop (bench suite "burst"). The route asks `refuseIfFull` when
 * the headers arrive and again when the body is in; a body the queue refuses is never parsed
 * (invalid JSON gets the 429, not a 400), the answer is the queue's own 429 with
 * Retry-After, and the connection stays usable. Other methods and other errors keep
 * their order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/config.js';
import { createGenerateRoutes } from '../../src/server/routes/generate.js';
import type { GenerateService } from '../../src/generate/service.js';
import { notFound, resourceExhausted } from '../../src/errors.js';
import { RawConnection, type Outcome, type RawResponse } from '../fuzz/raw-http.js';

interface Calls {
  refuseChecks: string[];
  prepared: unknown[];
  counted: number;
}

/** A service that records what reaches it; only the model name `gemini-2.5-flash` exists. */
function fakeService(calls: Calls): GenerateService {
  const service = {
    resolveModel: (name: string) => {
      if (name !== 'gemini-2.5-flash') throw notFound(`models/${name} is not found.`);
      return { id: 'gemini-2.5-flash', inputTokenLimit: 1_000_000 };
    },
    countTokens: async () => {
      calls.counted++;
      return { totalTokens: 1 };
    },
    prepare: async (_project: string, _model: unknown, body: unknown) => {
      calls.prepared.push(body);
      return { body };
    },
    generate: async () => ({ candidates: [{ content: { role: 'model', parts: [{ text: 'an answer' }] } }] }),
  };
  return service as unknown as GenerateService;
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** `full(n)` says whether the queue is full at the n-th check of a request (1: headers, 2: body in). */
async function start(full: (check: number) => boolean): Promise<{ port: number; calls: Calls }> {
  const calls: Calls = { refuseChecks: [], prepared: [], counted: 0 };
  let checks = 0;
  app = await buildApp({
    config: loadConfig({ port: 0, dataDir: '/nonexistent', apiKey: [] }, {}),
    logger: pino({ level: 'silent' }),
    apiRoutes: [
      createGenerateRoutes(fakeService(calls), {
        refuseIfFull: (modelId) => {
          calls.refuseChecks.push(modelId);
          if (full(++checks)) throw resourceExhausted('The vision engine is busy: 34 requests are running or waiting, the most it takes. Retry shortly.', 3);
        },
      }),
    ],
    uploadRoutes: [],
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address !== 'object') throw new Error('no address');
  return { port: address.port, calls };
}

function responseOf(o: Outcome): RawResponse {
  if (o.kind !== 'response') throw new Error(`no response: ${o.reason}`);
  return o.response;
}

const post = (target: string, body: string) => ({
  method: 'POST',
  target,
  headers: [['content-type', 'application/json']] as Array<[string, string]>,
  body: Buffer.from(body),
});

const header = (res: RawResponse, name: string): string | undefined => res.headers[name];

const errorOf = (res: RawResponse) => (JSON.parse(res.body.toString('utf8')) as { error: { code: number; status: string; message: string } }).error;

describe('generateContent refused by a full model queue', () => {
  it('is answered 429 with Retry-After when the headers arrive: the body (here not even JSON) is never parsed, and the connection stays usable', async () => {
    const { port, calls } = await start(() => true);
    const conn = new RawConnection('127.0.0.1', port, 10_000);
    try {
      const res = responseOf(await conn.send(post('/v1beta/models/gemini-2.5-flash:generateContent', `{"contents": [${'x'.repeat(200_000)}`)));
      expect(res.status).toBe(429);
      expect(header(res, 'retry-after')).toBe('3');
      expect(errorOf(res)).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED', message: expect.stringMatching(/busy/) });
      expect(calls.refuseChecks).toEqual(['gemini-2.5-flash']);
      expect(calls.prepared).toEqual([]);
      // The unread body was discarded, not left to be read as the next request.
      const again = responseOf(await conn.send(post('/v1beta/models/gemini-2.5-flash:streamGenerateContent', '{}')));
      expect(again.status).toBe(429);
      expect(conn.opened).toBe(1);
    } finally {
      conn.close();
    }
  });

  it('is answered 429 when the queue filled while the body arrived: checked again before parsing', async () => {
    const { port, calls } = await start((check) => check === 2);
    const conn = new RawConnection('127.0.0.1', port, 10_000);
    try {
      const res = responseOf(await conn.send(post('/v1beta/models/gemini-2.5-flash:generateContent', '{"contents": [not json')));
      expect(res.status).toBe(429);
      expect(header(res, 'retry-after')).toBe('3');
      expect(calls.refuseChecks).toHaveLength(2);
      expect(calls.prepared).toEqual([]);
    } finally {
      conn.close();
    }
  });

  it('with room in the queue, parses as before: bad JSON is a 400 naming the problem, good JSON reaches the service', async () => {
    const { port, calls } = await start(() => false);
    const conn = new RawConnection('127.0.0.1', port, 10_000);
    try {
      const bad = responseOf(await conn.send(post('/v1beta/models/gemini-2.5-flash:generateContent', '{"contents": [not json')));
      expect(bad.status).toBe(400);
      expect(errorOf(bad).message).toMatch(/Invalid JSON payload/);
      const good = responseOf(await conn.send(post('/v1beta/models/gemini-2.5-flash:generateContent', '{"contents":[{"parts":[{"text":"hi"}]}]}')));
      expect(good.status).toBe(200);
      expect(calls.prepared).toEqual([{ contents: [{ parts: [{ text: 'hi' }] }] }]);
    } finally {
      conn.close();
    }
  });

  it('leaves countTokens and unknown models alone: they never take a place, so a full queue does not refuse them', async () => {
    const { port, calls } = await start(() => true);
    const conn = new RawConnection('127.0.0.1', port, 10_000);
    try {
      const counted = responseOf(await conn.send(post('/v1beta/models/gemini-2.5-flash:countTokens', '{"contents":[{"parts":[{"text":"hi"}]}]}')));
      expect(counted.status).toBe(200);
      expect(calls.counted).toBe(1);
      const unknown = responseOf(await conn.send(post('/v1beta/models/no-such-model:generateContent', '{}')));
      expect(unknown.status).toBe(404);
      expect(calls.refuseChecks).toEqual([]);
    } finally {
      conn.close();
    }
  });
});
