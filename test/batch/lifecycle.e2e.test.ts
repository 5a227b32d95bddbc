/**
 * The rest of a batch's life through both SDK majors and curl: a file batch (JSONL uploaded
 * through the Files API) whose responses file downloads through `ai.files.download` with
 * one line per request; cancel; delete; list paging. The engine is real: photos go to the
 * offline models where the answer matters (file batch, cancel), text-only requests to a
 * server without models where only the API is under test (paging, delete).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../support/server.js';
import { SDKS } from '../e2e/helpers.js';
import { contentOf, MODEL, photoRequests, rest, until } from './helpers.js';

const run = promisify(execFile);
let vision: RunningServer;
let plain: RunningServer;
let tmp: string;

beforeAll(async () => {
  [vision, plain] = await Promise.all([
    startServer({ flags: { segment: false, ocr: false } }),
    startServer({ flags: { engine: 'measurements' } }),
  ]);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ocellus-batch-'));
});
afterAll(async () => {
  await Promise.all([vision?.stop(), plain?.stop()]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const finished = (j: { state?: string }) => j.state !== 'JOB_STATE_PENDING' && j.state !== 'JOB_STATE_RUNNING';
const textRequest = (text: string) => ({ contents: [{ role: 'user', parts: [{ text }] }] });

describe.each(SDKS)('$label', ({ sdk, version }) => {
  const client = (srv: RunningServer) => new sdk.GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: srv.baseUrl, apiVersion: version } });

  it('a file batch writes a responses file that ai.files.download fetches, one line per request', { timeout: 300_000 }, async () => {
    const ai = client(vision);
    const requests = photoRequests(3);
    const lines = [
      ...requests.map((request, i) => JSON.stringify({ key: `photo-${i}`, request })),
      JSON.stringify({ key: 'broken', request: { contents: [{ parts: [{ inlineData: { mimeType: 'image/png', data: 'AAAA' } }] }] } }),
    ];
    const input = path.join(tmp, `input-${version}.jsonl`);
    writeFileSync(input, `${lines.join('\n')}\n`);
    const uploaded = await ai.files.upload({ file: input, config: { mimeType: 'application/jsonl' } });
    const job = await ai.batches.create({ model: MODEL, src: uploaded.name! });
    const done = await until('the file batch to finish', async () => {
      const j = await ai.batches.get({ name: job.name! });
      return finished(j) ? j : undefined;
    });
    expect(done.state).toBe('JOB_STATE_SUCCEEDED');
    const fileName = done.dest?.fileName;
    expect(fileName).toMatch(/^files\/batch-[a-z0-9]+$/);

    const out = path.join(tmp, `responses-${version}.jsonl`);
    await ai.files.download({ file: fileName!, downloadPath: out });
    await until('the download to be written', async () => (readFileSync(out, 'utf8').endsWith('\n') ? true : undefined), 10_000, 50);
    const answers = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(answers.map((a) => a.key)).toEqual(['photo-0', 'photo-1', 'photo-2', 'broken']);
    for (const [i, r] of requests.entries()) {
      const direct = await ai.models.generateContent({ model: MODEL, contents: r.contents as never });
      expect(contentOf(answers[i].response)).toEqual(contentOf(direct));
    }
    expect(answers[3].response).toBeUndefined();
    expect(answers[3].error).toEqual({ code: 3, message: expect.any(String), details: [] });

    // The responses file is an ACTIVE file of the Files API; an uploaded file cannot be downloaded.
    const meta = await ai.files.get({ name: fileName! });
    expect(meta.state).toBe('ACTIVE');
    const refused = await rest(vision.baseUrl, `/${version}/${uploaded.name}:download?alt=media`);
    expect(refused.status).toBe(400);
    expect(refused.json.error.message).toMatch(/Only generated files can be downloaded/);
  });

  it('cancel stops the remaining requests; delete removes the batch', { timeout: 120_000 }, async () => {
    const ai = client(vision);
    const job = await ai.batches.create({
      model: MODEL,
      src: photoRequests(6).map((r, i) => ({ contents: r.contents as never, metadata: { key: `k${i}` } })),
    });
    await ai.batches.cancel({ name: job.name! });
    const cancelled = await ai.batches.get({ name: job.name! });
    expect(cancelled.state).toBe('JOB_STATE_CANCELLED');
    const statsOf = async () => (await rest(vision.baseUrl, `/v1beta/${job.name}`)).json.metadata.batchStats;
    const first = await statsOf();
    await new Promise((r) => setTimeout(r, 3000));
    const later = await statsOf();
    expect(later).toEqual(first);
    expect(Number(later.successfulRequestCount)).toBeLessThan(6);

    await ai.batches.delete({ name: job.name! });
    const gone = await rest(vision.baseUrl, `/v1beta/${job.name}`);
    expect(gone.status).toBe(404);
    expect(gone.json.error.status).toBe('NOT_FOUND');
  });

  it('lists batches newest first in pages', { timeout: 120_000 }, async () => {
    const ai = client(plain);
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      const j = await ai.batches.create({ model: MODEL, src: [{ ...textRequest(`hello ${i}`) } as never], config: { displayName: `page-${version}-${i}` } });
      made.push(j.name!);
    }
    const first = await rest(plain.baseUrl, `/${version}/batches?pageSize=2`);
    expect(first.json.operations).toHaveLength(2);
    expect(first.json.nextPageToken).toBeTruthy();
    const pager = await ai.batches.list({ config: { pageSize: 2 } });
    const seen: string[] = [];
    for await (const j of pager) seen.push(j.name!);
    // Newest first; earlier tests' batches on this server come after.
    expect(seen.slice(0, 3)).toEqual([...made].reverse());
    expect(new Set(seen).size).toBe(seen.length);
    const bad = await rest(plain.baseUrl, `/${version}/batches?pageToken=nonsense`);
    expect(bad.status).toBe(400);
  });
});

describe('curl', () => {
  it('create, poll and read an inline batch; the responses carry their keys', { timeout: 60_000 }, async () => {
    const body = JSON.stringify({
      batch: { display_name: 'curl', input_config: { requests: { requests: [{ request: textRequest('one'), metadata: { key: 'a' } }, { request: textRequest('two'), metadata: { key: 'b' } }] } } },
    });
    const curl = async (...args: string[]) => JSON.parse((await run('curl', ['-sS', ...args])).stdout);
    const created = await curl('-X', 'POST', '-H', 'content-type: application/json', '-d', body, `${plain.baseUrl}/v1beta/models/${MODEL}:batchGenerateContent`);
    expect(created.name).toMatch(/^batches\//);
    expect(created.metadata.state).toMatch(/BATCH_STATE_(PENDING|RUNNING)/);
    const done = await until('the curl batch to finish', async () => {
      const j = await curl(`${plain.baseUrl}/v1beta/${created.name}`);
      return j.done ? j : undefined;
    });
    expect(done.metadata.state).toBe('BATCH_STATE_SUCCEEDED');
    const answers = done.metadata.output.inlinedResponses.inlinedResponses;
    expect(answers.map((a: { metadata: { key: string } }) => a.metadata.key)).toEqual(['a', 'b']);
    expect(done.response.inlinedResponses.inlinedResponses).toEqual(answers);
    const cancelFinished = await curl('-X', 'POST', `${plain.baseUrl}/v1beta/${created.name}:cancel`);
    expect(cancelFinished).toEqual({});
  });
});
