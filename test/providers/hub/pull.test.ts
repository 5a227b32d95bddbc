import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HubError, hubEndpoint } from '../../../src/providers/hub/hub-api.js';
import { pullModel } from '../../../src/providers/hub/pull.js';
import { listInstalled, readManifest } from '../../../src/providers/hub/store.js';
import { florenceLikeRepo, sha256, startMockHub, type MockHub } from './mock-hub.js';

const REPO = 'onnx-community/Florence-2-base-ft';
let hub: MockHub;
let dir: string;

beforeAll(async () => {
  hub = await startMockHub({
    [REPO]: florenceLikeRepo(),
    'gated-org/secret-model': { ...florenceLikeRepo('b'.repeat(40)), token: 'hf_good' },
    'plain/weights-only': { commit: 'c'.repeat(40), files: { 'config.json': { content: Buffer.from('{}'), lfs: false }, 'model.safetensors': { content: Buffer.alloc(100, 1), lfs: true } } },
  });
});
afterAll(() => hub.close());
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ocellus-pull-'));
  hub.requests.length = 0;
  hub.faults.clear();
  hub.pageSize = 0;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const pull = (extra: Partial<Parameters<typeof pullModel>[0]> = {}) =>
  pullModel({ repo: REPO, modelsDir: dir, endpoint: hub.url, retryDelayMs: 10, ...extra });

const modelFile = (p: string) => path.join(dir, 'onnx-community', 'Florence-2-base-ft', p);
const source = (p: string) => hub.repos.get(REPO)!.files[p]!.content;

async function allFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(path.relative(root, path.join(e.parentPath, e.name)));
  return out.sort();
}

describe('ocellus pull against a mock hub', () => {
  it('fetches configs and only the chosen dtype, verified, with a manifest', async () => {
    const seen: Array<[number, number | undefined]> = [];
    const r = await pull({ dtype: 'q4', progress: { update: (d, t) => seen.push([d, t]), note: () => undefined } });
    const files = await allFiles(path.join(dir, 'onnx-community', 'Florence-2-base-ft'));
    expect(files).toEqual(
      [
        'config.json',
        'generation_config.json',
        'ocellus-manifest.json',
        'onnx/decoder_model_merged_q4.onnx',
        'onnx/embed_tokens_q4.onnx',
        'onnx/encoder_model_q4.onnx',
        'onnx/vision_encoder_q4.onnx',
        'preprocessor_config.json',
        'tokenizer.json',
      ].sort(),
    );
    for (const f of files.filter((f) => f !== 'ocellus-manifest.json')) expect(readFileSync(modelFile(f)).equals(source(f)), f).toBe(true);
    const m = (await readManifest(dir, REPO))!;
    expect(m).toMatchObject({ repo: REPO, revision: 'main', commit: 'a'.repeat(40), dtype: 'q4', adapter: 'florence2', modelType: 'florence2', endpoint: hub.url });
    expect(m.modules).toEqual(['decoder_model_merged', 'embed_tokens', 'encoder_model', 'vision_encoder']);
    expect(m.files.find((f) => f.path === 'onnx/embed_tokens_q4.onnx')?.sha256).toBe(sha256(source('onnx/embed_tokens_q4.onnx')));
    expect(m.files.find((f) => f.path === 'config.json')?.gitOid).toMatch(/^[0-9a-f]{40}$/);
    expect(r.totalBytes).toBe(m.files.reduce((n, f) => n + f.size, 0));
    expect(seen.at(-1)).toEqual([r.totalBytes, r.totalBytes]);
    // LFS files went through the 302 to the CDN path, pinned to the commit.
    expect(hub.requests.some((q) => q.url.startsWith('/cdn-lfs/'))).toBe(true);
    expect(hub.requests.filter((q) => q.url.includes('/resolve/')).every((q) => q.url.includes(`/resolve/${'a'.repeat(40)}/`))).toBe(true);
    expect(existsSync(modelFile('README.md'))).toBe(false);
    expect(existsSync(modelFile('onnx/decoder_model_q4.onnx'))).toBe(false); // superseded by the merged decoder
  });

  it('follows paged tree listings', async () => {
    hub.pageSize = 7;
    const r = await pull({ dtype: 'fp16' });
    expect(r.manifest.files.map((f) => f.path)).toContain('onnx/vision_encoder_fp16.onnx');
    expect(hub.requests.filter((q) => q.url.includes('/tree/')).length).toBeGreaterThan(2);
  });

  it('a re-run skips verified files without fetching them', async () => {
    await pull({ dtype: 'q8' });
    hub.requests.length = 0;
    const r = await pull({ dtype: 'q8' });
    expect(r.fetchedBytes).toBe(0);
    expect(r.skippedFiles).toBe(r.manifest.files.length);
    expect(hub.requests.some((q) => q.url.includes('/resolve/'))).toBe(false);
  });

  it('a dropped connection leaves a .part file; the re-run resumes it with Range', async () => {
    const big = 'onnx/vision_encoder.onnx';
    hub.faults.set(`${REPO}/${big}`, { dropAfter: 70_000 });
    const err = await pull({ dtype: 'fp32', retries: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).kind).toBe('interrupted');
    expect((err as HubError).message).toMatch(/run the same pull again to resume/);
    expect(existsSync(modelFile(big))).toBe(false);
    const kept = (await stat(modelFile(`${big}.part`))).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(200_000);
    expect(await readManifest(dir, REPO)).toBeUndefined(); // not installed until complete

    hub.requests.length = 0;
    const r = await pull({ dtype: 'fp32', retries: 0 });
    // The Range header goes to the resolve URL and survives the 302 to the CDN.
    const ranged = hub.requests.filter((q) => q.range);
    expect(ranged.map((q) => [q.url.split('?')[0]!.replace(/[0-9a-f]{64}/, 'SHA').replace(/[0-9a-f]{40}/, 'COMMIT'), q.range])).toEqual([
      ['/onnx-community/Florence-2-base-ft/resolve/COMMIT/onnx/vision_encoder.onnx', `bytes=${kept}-`],
      ['/cdn-lfs/SHA', `bytes=${kept}-`],
    ]);
    expect(readFileSync(modelFile(big)).equals(source(big))).toBe(true);
    expect(existsSync(modelFile(`${big}.part`))).toBe(false);
    expect(r.resumedFiles).toBe(1);
    expect(r.fetchedBytes).toBeLessThan(r.totalBytes);
  });

  it('retries a dropped connection within the run, resuming', async () => {
    const big = 'onnx/vision_encoder.onnx';
    hub.faults.set(`${REPO}/${big}`, { dropAfter: 50_000 });
    const r = await pull({ dtype: 'fp32', retries: 2 });
    expect(readFileSync(modelFile(big)).equals(source(big))).toBe(true);
    expect(hub.requests.some((q) => q.range?.startsWith('bytes='))).toBe(true);
    expect(r.resumedFiles).toBe(1);
  });

  it('a checksum mismatch fails, deletes the bad bytes and leaves no final file', async () => {
    const f = 'onnx/encoder_model_q4.onnx';
    hub.faults.set(`${REPO}/${f}`, { corrupt: true });
    const err = await pull({ dtype: 'q4' }).catch((e: unknown) => e);
    expect((err as HubError).kind).toBe('checksum');
    expect((err as HubError).message).toMatch(/sha256 [0-9a-f]{64}, expected [0-9a-f]{64}/);
    expect(existsSync(modelFile(f))).toBe(false);
    expect(existsSync(modelFile(`${f}.part`))).toBe(false);
    expect(await readManifest(dir, REPO)).toBeUndefined();
  });

  it('a corrupt small file is caught by its git blob id', async () => {
    hub.faults.set(`${REPO}/tokenizer.json`, { corrupt: true });
    const err = await pull({ dtype: 'q4' }).catch((e: unknown) => e);
    expect((err as HubError).kind).toBe('checksum');
    expect((err as HubError).message).toMatch(/git blob id/);
    expect(existsSync(modelFile('tokenizer.json'))).toBe(false);
  });

  it('unknown repo → not-found naming the id', async () => {
    const err = (await pull({ repo: 'nobody/no-such-model' }).catch((e: unknown) => e)) as HubError;
    expect(err.kind).toBe('not-found');
    expect(err.message).toMatch(/nobody\/no-such-model was not found/);
  });

  it('unknown revision → not-found naming the revision', async () => {
    const err = (await pull({ revision: 'v9' }).catch((e: unknown) => e)) as HubError;
    expect(err.kind).toBe('not-found');
    expect(err.message).toMatch(/no revision "v9"/);
  });

  it('gated repo without a token says to set HF_TOKEN; with it, the pull works and the token never reaches the CDN', async () => {
    const err = (await pull({ repo: 'gated-org/secret-model' }).catch((e: unknown) => e)) as HubError;
    expect(err.kind).toBe('gated');
    expect(err.message).toMatch(/HF_TOKEN/);
    hub.requests.length = 0;
    await pull({ repo: 'gated-org/secret-model', token: 'hf_good', dtype: 'q4' });
    expect(hub.requests.filter((q) => q.url.startsWith('/api/')).every((q) => q.authorization === 'Bearer hf_good')).toBe(true);
    // Same origin here, so the CDN hop carries it too; the cross-origin rule is tested on hubFetch below.
  });

  it('a dtype the repo lacks lists the ones it has', async () => {
    const err = (await pull({ dtype: 'bnb4' }).catch((e: unknown) => e)) as HubError;
    expect(err.kind).toBe('dtype');
    expect(err.message).toMatch(/fp16, fp32, q4, q8/);
    const bad = (await pull({ dtype: 'fp64' }).catch((e: unknown) => e)) as HubError;
    expect(bad.kind).toBe('dtype');
  });

  it('a repo without ONNX graphs is refused with a hint', async () => {
    const err = (await pull({ repo: 'plain/weights-only' }).catch((e: unknown) => e)) as HubError;
    expect(err.kind).toBe('no-onnx');
    expect(err.message).toMatch(/onnx-community/);
  });

  it('network down → a network error naming the endpoint', async () => {
    const net = await import('node:net');
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as import('node:net').AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const err = (await pull({ endpoint: `http://127.0.0.1:${closed}` }).catch((e: unknown) => e)) as HubError;
    expect(err.kind).toBe('network');
    expect(err.message).toContain(`cannot reach http://127.0.0.1:${closed} (ECONNREFUSED)`);
    expect(err.message).toMatch(/HF_ENDPOINT/);
  });

  it('pulling another dtype replaces the earlier variant', async () => {
    await pull({ dtype: 'q4' });
    const r = await pull({ dtype: 'q8' });
    expect(r.removedFiles).toContain('onnx/vision_encoder_q4.onnx');
    expect(existsSync(modelFile('onnx/vision_encoder_q4.onnx'))).toBe(false);
    expect(existsSync(modelFile('onnx/vision_encoder_quantized.onnx'))).toBe(true);
    const { models } = await listInstalled(dir);
    expect(models.map((m) => [m.manifest.repo, m.manifest.dtype, m.missingFiles])).toEqual([[REPO, 'q8', []]]);
  });

  it('an over-long stale .part is discarded, not appended to', async () => {
    const f = 'onnx/embed_tokens_q4.onnx';
    await import('node:fs/promises').then((fs) => fs.mkdir(path.dirname(modelFile(f)), { recursive: true }));
    await writeFile(modelFile(`${f}.part`), Buffer.alloc(source(f).length + 10, 7));
    await pull({ dtype: 'q4' });
    expect(readFileSync(modelFile(f)).equals(source(f))).toBe(true);
  });
});

describe('hub endpoint', () => {
  it('HF_ENDPOINT wins, trailing slashes dropped; default is huggingface.co', () => {
    expect(hubEndpoint({ HF_ENDPOINT: 'https://hf-mirror.com/' })).toBe('https://hf-mirror.com');
    expect(hubEndpoint({})).toBe('https://huggingface.co');
  });

  it('the token goes to the endpoint only, not to a redirect on another origin', async () => {
    const { hubFetch } = await import('../../../src/providers/hub/hub-api.js');
    const seen: Array<[string, string | undefined]> = [];
    const fake: typeof fetch = async (input, init) => {
      const url = String(input);
      seen.push([url, (init?.headers as Record<string, string>).authorization]);
      if (url.startsWith('https://hub.example')) return new Response(null, { status: 302, headers: { location: 'https://cdn.example/obj?sig=1', 'x-repo-commit': 'f'.repeat(40) } });
      return new Response('bytes', { status: 200 });
    };
    const r = await hubFetch({ endpoint: 'https://hub.example', token: 'hf_x', fetch: fake }, 'https://hub.example/a/b/resolve/main/model.onnx', { range: 'bytes=5-' });
    expect(seen).toEqual([
      ['https://hub.example/a/b/resolve/main/model.onnx', 'Bearer hf_x'],
      ['https://cdn.example/obj?sig=1', undefined],
    ]);
    expect(r.commit).toBe('f'.repeat(40));
  });
});
