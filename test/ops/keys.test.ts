/**
 * `ocellus keys`: a key made by the command works with the real SDK, is stored only as a
 * hash, and once revoked is refused with Gemini's 400 API_KEY_INVALID within a second, on
 * two servers sharing the data dir (replicas on one volume). --api-key keys keep working.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as genai2 from 'genai2';
import { runCli, startOn } from './support.js';
import type { OcellusServer } from '../../src/server/create-server.js';

const MODEL = 'gemini-2.5-flash';

describe('ocellus keys', () => {
  let dataDir: string;
  const servers: Array<{ baseUrl: string; server: OcellusServer }> = [];
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'ocellus-keys-'));
    // Two replicas on one data dir, one of them also with a flag key.
    servers.push(await startOn(dataDir));
    servers.push(await startOn(dataDir, { apiKey: ['flag-key-1'] }));
  });
  afterAll(async () => {
    for (const s of servers) await s.server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const ask = (baseUrl: string, apiKey: string) =>
    new genai2.GoogleGenAI({ apiKey, httpOptions: { baseUrl } }).models.generateContent({
      model: MODEL,
      contents: [{ text: 'How bright is this image?' }, { inlineData: { mimeType: 'image/png', data: PNG_1X1 } }],
    });

  it('create → the SDK works with the key; revoke → 400 API_KEY_INVALID on every replica within 1 s', async () => {
    const created = await runCli(['keys', 'create', '--name', 'ci', '--rpm', '120', '--storage-bytes', '1000000', '--data-dir', dataDir]);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^ocl_[\w-]{43}$/);
    expect(created.stderr).toMatch(/only time the key is shown/);
    // Only the hash is stored.
    expect(readFileSync(path.join(dataDir, 'keys.sqlite')).includes(Buffer.from(key))).toBe(false);

    for (const { baseUrl } of servers) {
      const r = await ask(baseUrl, key);
      expect(r.candidates?.[0]?.content?.parts?.[0]?.text).toBeTruthy();
      // Keys exist now: a key that is none of them is refused, as Gemini does.
      await expect(ask(baseUrl, 'ocl_not-a-key')).rejects.toMatchObject({ status: 400 });
    }
    expect((await ask(servers[1]!.baseUrl, 'flag-key-1')).candidates?.length).toBe(1);

    const listed = await runCli(['keys', 'list', '--json', '--data-dir', dataDir]);
    const list = JSON.parse(listed.stdout) as Array<{ name: string; rpm: number; storageBytes: number; revokedAt?: number; prefix: string }>;
    expect(list).toEqual([expect.objectContaining({ name: 'ci', rpm: 120, storageBytes: 1000000, prefix: key.slice(0, 10) })]);
    expect(listed.stdout).not.toContain(key);

    const revoked = await runCli(['keys', 'revoke', 'ci', '--data-dir', dataDir]);
    expect(revoked.code, revoked.stderr).toBe(0);
    const revokedAt = performance.now();
    // Each replica refuses it within a second of the command's end.
    for (const { baseUrl } of servers) {
      let refusedAfter: number | undefined;
      while (refusedAfter === undefined && performance.now() - revokedAt < 3000) {
        const res = await fetch(`${baseUrl}/v1beta/models?key=${encodeURIComponent(key)}`);
        if (res.status === 400) {
          const body = (await res.json()) as { error: { status: string; message: string; details?: Array<{ reason?: string }> } };
          expect(body.error.status).toBe('INVALID_ARGUMENT');
          expect(JSON.stringify(body.error.details)).toContain('API_KEY_INVALID');
          refusedAfter = performance.now() - revokedAt;
        } else expect(res.status).toBe(200);
      }
      expect(refusedAfter).toBeDefined();
      expect(refusedAfter!).toBeLessThan(1000);
      await expect(ask(baseUrl, key)).rejects.toMatchObject({ status: 400 });
    }
    expect((await ask(servers[1]!.baseUrl, 'flag-key-1')).candidates?.length).toBe(1);
    const after = JSON.parse((await runCli(['keys', 'list', '--json', '--data-dir', dataDir])).stdout) as Array<{ revokedAt?: number }>;
    expect(after[0]!.revokedAt).toBeGreaterThan(0);
  }, 240_000); // four CLI runs, each a node + tsx start of the whole CLI (~5-10 s on a loaded machine)

  it('refuses bad input with a message naming the flag', async () => {
    const [bad, unknown] = await Promise.all([
      runCli(['keys', 'create', '--name', 'x', '--rpm', 'lots', '--data-dir', dataDir]),
      runCli(['keys', 'revoke', 'nobody', '--data-dir', dataDir]),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--rpm must be a positive whole number/);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no live key/);
  }, 120_000);
});

/** A 1x1 white PNG. */
const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC';
