/**
 * Inline batches through both SDK majors against the real server with the offline vision
 * engine: 20 photo requests reach JOB_STATE_SUCCEEDED with 20 answers in request order,
 * each the same content as the same request sent to generateContent; keys come back with
 * their answers; a bad request is its own error, not the batch's.
 */
import * as genai3 from 'genai3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../support/server.js';
import { SDKS } from '../e2e/helpers.js';
import { contentOf, MODEL, photoRequests, rest, until } from './helpers.js';

let srv: RunningServer;

beforeAll(async () => {
  srv = await startServer({ flags: { segment: false, ocr: false } });
});
afterAll(async () => srv?.stop());

const sdk3 = SDKS[1];

describe('inline batch', () => {
  it('20 photo requests succeed with answers equal to the same requests sent directly (SDK 3.x)', { timeout: 600_000 }, async () => {
    const ai = new genai3.GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: srv.baseUrl, apiVersion: sdk3.version } });
    const requests = photoRequests(20);
    const job = await ai.batches.create({
      model: MODEL,
      src: requests.map((r, i) => ({ contents: r.contents as genai3.Content[], metadata: { key: `req-${i}` } })),
      config: { displayName: 'twenty photos' },
    });
    expect(job.name).toMatch(/^batches\/[a-z0-9]+$/);
    expect(job.displayName).toBe('twenty photos');
    expect(['JOB_STATE_PENDING', 'JOB_STATE_RUNNING']).toContain(job.state);

    const done = await until('the batch to finish', async () => {
      const j = await ai.batches.get({ name: job.name! });
      return j.state === 'JOB_STATE_PENDING' || j.state === 'JOB_STATE_RUNNING' ? undefined : j;
    });
    expect(done.state).toBe('JOB_STATE_SUCCEEDED');
    const answers = done.dest?.inlinedResponses ?? [];
    expect(answers).toHaveLength(20);

    for (const [i, r] of requests.entries()) {
      const answer = answers[i]!;
      expect(answer.metadata).toEqual({ key: `req-${i}` });
      expect(answer.error).toBeUndefined();
      const direct = await ai.models.generateContent({ model: MODEL, contents: r.contents as genai3.Content[] });
      expect(contentOf(answer.response), `request ${i}`).toEqual(contentOf(direct));
      expect(answer.response?.candidates?.[0]?.content?.parts?.[0]?.text).toBeTruthy();
    }
  });

  it('SDK 2.x: keys echo, a bad request is that request’s error and the batch still succeeds', { timeout: 300_000 }, async () => {
    const sdk = SDKS[0];
    const ai = new sdk.sdk.GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: srv.baseUrl, apiVersion: sdk.version } });
    const [good] = photoRequests(1);
    const job = await ai.batches.create({
      model: MODEL,
      src: [
        { contents: good!.contents as genai3.Content[], metadata: { key: 'good' } },
        { contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'image/jpeg', data: 'bm90IGFuIGltYWdl' } }, { text: 'what?' }] }], metadata: { key: 'bad' } },
      ],
    });
    const done = await until('the batch to finish', async () => {
      const j = await ai.batches.get({ name: job.name! });
      return j.state === 'JOB_STATE_PENDING' || j.state === 'JOB_STATE_RUNNING' ? undefined : j;
    });
    expect(done.state).toBe('JOB_STATE_SUCCEEDED');
    const [a, b] = done.dest!.inlinedResponses!;
    expect(a!.metadata).toEqual({ key: 'good' });
    expect(a!.response?.candidates?.[0]?.content?.parts?.[0]?.text).toBeTruthy();
    expect(b!.metadata).toEqual({ key: 'bad' });
    expect(b!.response).toBeUndefined();
    // A google.rpc.Status, as Gemini writes a request's error in a batch: the gRPC code (3,
    // INVALID_ARGUMENT), not the HTTP status of a failed call's envelope, and no `status`.
    expect(b!.error).toEqual({ code: 3, message: expect.any(String), details: [] });
    expect(String(b!.error?.message)).toMatch(/contents\[0\]\.parts\[0\]|image/i);
    const raw = await rest(srv.baseUrl, `/v1beta/${job.name}`);
    expect(raw.json.metadata.batchStats).toEqual({ requestCount: '2', successfulRequestCount: '1', failedRequestCount: '1', pendingRequestCount: '0' });
  });

  it('a bad batch is a 400 naming the field, and nothing is created', async () => {
    const before = await rest(srv.baseUrl, '/v1beta/batches?pageSize=100');
    const cases: Array<[unknown, RegExp]> = [
      [{}, /batch/],
      [{ batch: { inputConfig: {} } }, /batch\.input_config must set exactly one of requests and file_name/],
      [{ batch: { inputConfig: { requests: { requests: [] } } } }, /batch\.input_config\.requests\.requests/],
      [{ batch: { inputConfig: { requests: { requests: [{ metadata: { key: 'a' } }] } } } }, /requests\[0\]\.request/],
      [
        { batch: { inputConfig: { requests: { requests: [{ request: { contents: [] }, metadata: { key: 'a' } }, { request: { contents: [] }, metadata: { key: 'a' } }] } } } },
        /requests\[1\]\.metadata\.key "a" is used by an earlier request/,
      ],
      [{ batch: { inputConfig: { fileName: 'nope' } } }, /batch\.input_config\.file_name/],
    ];
    for (const [body, message] of cases) {
      const r = await rest(srv.baseUrl, `/v1beta/models/${MODEL}:batchGenerateContent`, { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error.status).toBe('INVALID_ARGUMENT');
      expect(r.json.error.message).toMatch(message);
    }
    const unknownModel = await rest(srv.baseUrl, '/v1beta/models/no-such-model:batchGenerateContent', {
      body: { batch: { inputConfig: { requests: { requests: [{ request: { contents: [] } }] } } } },
    });
    expect(unknownModel.status).toBe(404);
    expect((await rest(srv.baseUrl, '/v1beta/batches/doesnotexist')).status).toBe(404);
    // Paging as every list route pages (src/server/paging.ts): the field named as sent, a token of another list refused.
    const badSize = await rest(srv.baseUrl, '/v1beta/batches?page_size=-1');
    expect([badSize.status, badSize.json.error.message]).toEqual([400, expect.stringMatching(/Invalid page_size "-1"/)]);
    const filesToken = Buffer.from('files:1').toString('base64url');
    expect((await rest(srv.baseUrl, `/v1beta/batches?pageToken=${filesToken}`)).status).toBe(400);
    expect(await rest(srv.baseUrl, '/v1beta/batches?pageSize=100')).toEqual(before);
  });
});
