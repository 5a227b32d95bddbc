/**
 * Keys on replicas that share PostgreSQL (`--database-url`) and nothing else (each has its
 * own data dir): `ocellus keys create --database-url` makes a key both accept through the
 * SDK, and `keys revoke` makes both refuse it with 400 API_KEY_INVALID within a second.
 * PostgreSQL 15 is a real throwaway cluster on 127.0.0.1, started and stopped here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as genai2 from 'genai2';
import { ensureInstalled } from '../support/scale/install.js';
import { startPostgres, type RunningPostgres } from '../support/scale/postgres.js';
import { runCli, startOn } from './support.js';
import type { OcellusServer } from '../../src/server/create-server.js';

describe('keys on replicas sharing PostgreSQL', () => {
  let root: string;
  let postgres: RunningPostgres;
  const replicas: Array<{ baseUrl: string; server: OcellusServer; dataDir: string }> = [];
  beforeAll(async () => {
    await ensureInstalled();
    root = mkdtempSync(path.join(os.tmpdir(), 'ocellus-keys-pg-'));
    postgres = await startPostgres(root);
    for (const name of ['a', 'b']) {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), `ocellus-replica-${name}-`));
      replicas.push({ ...(await startOn(dataDir, { databaseUrl: postgres.url })), dataDir });
    }
  }, 300_000);
  afterAll(async () => {
    for (const r of replicas) {
      await r.server.close();
      rmSync(r.dataDir, { recursive: true, force: true });
    }
    await postgres?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const list = (baseUrl: string, apiKey: string) => new genai2.GoogleGenAI({ apiKey, httpOptions: { baseUrl } }).models.list();

  it('a key made once works on both replicas; revoked, both refuse it within 1 s', async () => {
    const created = await runCli(['keys', 'create', '--name', 'team-a', '--rpm', '100', '--database-url', postgres.url]);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    for (const { baseUrl } of replicas) {
      const pager = await list(baseUrl, key);
      expect(pager.page.length).toBeGreaterThan(0);
    }
    // Only the hash is in the database.
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ hash: string; rpm: number }>('SELECT hash, rpm FROM ocellus_api_keys');
      expect(rows).toHaveLength(1);
      expect(rows[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(rows[0]!.hash).not.toContain(key);
      expect(rows[0]!.rpm).toBe(100);
    } finally {
      await client.end();
    }

    const revoked = await runCli(['keys', 'revoke', 'team-a', '--database-url', postgres.url]);
    expect(revoked.code, revoked.stderr).toBe(0);
    const revokedAt = performance.now();
    for (const { baseUrl } of replicas) {
      let refusedAfter: number | undefined;
      while (refusedAfter === undefined && performance.now() - revokedAt < 3000) {
        const res = await fetch(`${baseUrl}/v1beta/models`, { headers: { 'x-goog-api-key': key } });
        if (res.status === 400) {
          expect(JSON.stringify(await res.json())).toContain('API_KEY_INVALID');
          refusedAfter = performance.now() - revokedAt;
        } else expect(res.status).toBe(200);
      }
      expect(refusedAfter).toBeDefined();
      expect(refusedAfter!).toBeLessThan(1000);
      await expect(list(baseUrl, key)).rejects.toMatchObject({ status: 400 });
    }
  }, 180_000);
});
