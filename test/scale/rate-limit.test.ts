/**
 * --requests-per-minute across replicas: three real servers share the counter (Redis, or
 * PostgreSQL alone), so with a limit of 10 the 11th request of a key is refused whichever
 * replica gets it, with Gemini's 429 (QuotaFailure, RetryInfo, Retry-After); another key
 * keeps its own count. Without shared state, each server counts alone (single node).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ConfigFlags } from '../../src/config.js';
import { startServer, type RunningServer } from '../support/server.js';
import { freshDatabase, scaleServers } from '../support/scale/context.js';

const textTokens = { count: (t: string) => Math.ceil(t.length / 4) };
const KEYS = ['rate-key-one', 'rate-key-two'];

async function replicas(n: number, flags: ConfigFlags): Promise<RunningServer[]> {
  return Promise.all(
    Array.from({ length: n }, () =>
      startServer({ apiKeys: KEYS, flags: { engine: 'measurements', warm: false, ...flags } as ConfigFlags, textTokens }),
    ),
  );
}

const listModels = (s: RunningServer, key: string) => fetch(`${s.baseUrl}/v1beta/models`, { headers: { 'x-goog-api-key': key } });

async function expectRefusal(res: Response): Promise<void> {
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  const body = (await res.json()) as { error: { code: number; status: string; message: string; details: Array<Record<string, unknown>> } };
  expect(body.error.code).toBe(429);
  expect(body.error.status).toBe('RESOURCE_EXHAUSTED');
  expect(body.error.message).toMatch(/10 requests per minute/);
  expect(body.error.details).toEqual([
    {
      '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
      violations: [{ quotaMetric: 'ocellus/requests', quotaId: 'RequestsPerMinutePerApiKey', quotaValue: '10' }],
    },
    { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfter}s` },
  ]);
}

/** 10 requests of key one spread over the replicas all pass; the 11th, 12th and 13th fail on each replica. */
async function checkSharedLimit(servers: RunningServer[]): Promise<void> {
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) statuses.push((await listModels(servers[i % servers.length]!, KEYS[0]!)).status);
  expect(statuses).toEqual(Array(10).fill(200));
  for (const s of servers) await expectRefusal(await listModels(s, KEYS[0]!));
  // The other key has its own minute.
  expect((await listModels(servers[1]!, KEYS[1]!)).status).toBe(200);
  // An unknown key is refused as unknown, not counted.
  expect((await listModels(servers[2]!, 'not-a-key')).status).toBe(400);
}

describe('per-key request limit', () => {
  const started: RunningServer[] = [];
  afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()));
  });

  it('is shared through Redis by three replicas', async () => {
    const servers = await replicas(3, { requestsPerMinute: 10, redisUrl: scaleServers().redisUrl });
    started.push(...servers);
    expect(servers[0]!.server.config.scale.redisUrl).toBe(scaleServers().redisUrl);
    await checkSharedLimit(servers);
  });

  it('is shared through PostgreSQL alone (no Redis) by three replicas', async () => {
    const databaseUrl = await freshDatabase('ratelimit');
    const servers = await replicas(3, { requestsPerMinute: 10, databaseUrl });
    started.push(...servers);
    await checkSharedLimit(servers);
  });

  it('is counted in memory by a single node without shared state', async () => {
    const [a, b] = await replicas(2, { requestsPerMinute: 10 });
    started.push(a!, b!);
    for (let i = 0; i < 10; i++) expect((await listModels(a!, KEYS[0]!)).status).toBe(200);
    await expectRefusal(await listModels(a!, KEYS[0]!));
    // The other server keeps its own count: this is what the shared stores are for.
    expect((await listModels(b!, KEYS[0]!)).status).toBe(200);
  });

  it('is off by default', async () => {
    const [a] = await replicas(1, {});
    started.push(a!);
    const statuses = await Promise.all(Array.from({ length: 15 }, () => listModels(a!, KEYS[0]!).then((r) => r.status)));
    expect(statuses).toEqual(Array(15).fill(200));
  });
});
