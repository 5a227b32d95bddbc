/**
 * `--batch-expiry-hours`: a batch not finished in time ends BATCH_STATE_EXPIRED (the SDK's
 * JOB_STATE_EXPIRED) with the answers already written kept and its remaining requests never
 * started. A server without models and an expiry of 1.5 s, against a batch far too large to
 * finish in that time.
 */
import { GoogleGenAI } from 'genai3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConfigFlags } from '../../src/config.js';
import { startServer, type RunningServer, type StartServerOptions } from '../support/server.js';
import { MODEL, rest, until } from './helpers.js';

const N = 4000;
let srv: RunningServer;

beforeAll(async () => {
  // The helper's `flags` type picks the limits flags only; any config flag reaches loadConfig.
  const flags: ConfigFlags = { engine: 'measurements', batchExpiryHours: 1.5 / 3600 };
  srv = await startServer({ flags: flags as StartServerOptions['flags'] });
});
afterAll(async () => {
  await srv?.stop();
});

it('a batch past its expiry ends EXPIRED with what was answered kept and the rest never started', { timeout: 120_000 }, async () => {
  const ai = new GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: srv.baseUrl } });
  const src = Array.from({ length: N }, (_, i) => ({ contents: [{ role: 'user', parts: [{ text: `count to ${i}` }] }], metadata: { key: `k${i}` } }));
  const job = await ai.batches.create({ model: MODEL, src: src as never });
  const done = await until('the batch to end', async () => {
    const j = await ai.batches.get({ name: job.name! });
    return j.state === 'JOB_STATE_PENDING' || j.state === 'JOB_STATE_RUNNING' ? undefined : j;
  }, 60_000);
  expect(done.state).toBe('JOB_STATE_EXPIRED');
  const raw = await rest(srv.baseUrl, `/v1beta/${job.name}`);
  const stats = raw.json.metadata.batchStats;
  const answered = Number(stats.successfulRequestCount) + Number(stats.failedRequestCount);
  expect(Number(stats.pendingRequestCount)).toBeGreaterThan(0);
  expect(answered + Number(stats.pendingRequestCount)).toBe(N);
  expect(raw.json.done).toBe(true);
  expect(raw.json.metadata.endTime).toBeDefined();
  // What was answered before the expiry is kept, each with its key.
  const kept = (done.dest?.inlinedResponses ?? []) as Array<{ metadata?: { key?: string } }>;
  expect(kept).toHaveLength(answered);
  for (const r of kept) expect(r.metadata?.key).toMatch(/^k\d+$/);
  // Nothing more starts: the counts stay as they are.
  await new Promise((r) => setTimeout(r, 1500));
  expect((await rest(srv.baseUrl, `/v1beta/${job.name}`)).json.metadata.batchStats).toEqual(stats);
});
