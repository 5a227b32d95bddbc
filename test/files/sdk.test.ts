/**
 * The real `@google/genai` SDKs (2.x defaults to v1beta, 3.x to v1) against the server on
 * 127.0.0.1: upload from a path (one chunk and several 8 MiB chunks), get, list with the
 * pager, delete.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { GoogleGenAI as GenAI2 } from 'genai2';
import { GoogleGenAI as GenAI3 } from 'genai3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { harness, KEY_A, KEY_B, noisePng, removeDir, smallJpeg, tempDir, type Harness } from './helpers.js';

let h: Harness;
let baseUrl: string;
let work: string;
let bigPath: string;
let big: Buffer;
let smallPath: string;

beforeAll(async () => {
  h = await harness();
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = h.app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  baseUrl = `http://127.0.0.1:${addr.port}`;
  work = tempDir();
  big = await noisePng(2400, 1600); // ~11.5 MB: two 8 MiB chunks
  expect(big.length).toBeGreaterThan(8 * 1024 * 1024);
  bigPath = path.join(work, 'noise.png');
  writeFileSync(bigPath, big);
  smallPath = path.join(work, 'small.jpg');
  writeFileSync(smallPath, await smallJpeg());
}, 120_000);

afterAll(async () => {
  await h?.close();
  if (h) removeDir(h.dataDir);
  if (work) removeDir(work);
});

const clients = [
  ['genai2 (v1beta)', () => new GenAI2({ apiKey: KEY_A, httpOptions: { baseUrl } })],
  ['genai3 (v1)', () => new GenAI3({ apiKey: KEY_A, httpOptions: { baseUrl } })],
] as const;

describe.each(clients)('%s', (label, make) => {
  it('uploads a small file, gets, lists, deletes', async () => {
    const ai = make();
    const file = await ai.files.upload({ file: smallPath, config: { mimeType: 'image/jpeg', displayName: `small ${label}` } });
    expect(file).toMatchObject({ mimeType: 'image/jpeg', state: 'ACTIVE', displayName: `small ${label}`, source: 'UPLOADED' });
    expect(file.name).toMatch(/^files\//);
    expect(file.uri).toBe(`${baseUrl}/${label.includes('v1beta') ? 'v1beta' : 'v1'}/${file.name}`);
    const got = await ai.files.get({ name: file.name! });
    expect(got.sha256Hash).toBe(file.sha256Hash);
    await ai.files.delete({ name: file.name! });
    await expect(ai.files.get({ name: file.name! })).rejects.toMatchObject({ status: 403 });
  });

  it('uploads a file over 8 MiB in several chunks, with the right hash', async () => {
    const ai = make();
    const spy = vi.spyOn(h.files, 'uploadChunk');
    const file = await ai.files.upload({ file: bigPath, config: { mimeType: 'image/png', name: `big-${label.slice(5, 6)}` } });
    expect(file).toMatchObject({
      name: `files/big-${label.slice(5, 6)}`,
      mimeType: 'image/png',
      state: 'ACTIVE',
      sizeBytes: String(big.length),
      sha256Hash: createHash('sha256').update(big).digest('base64'),
    });
    expect(spy.mock.calls.map(([, c]) => [c.offset, c.finalize, c.contentLength])).toEqual([
      [0, false, 8 * 1024 * 1024],
      [8 * 1024 * 1024, true, big.length - 8 * 1024 * 1024],
    ]);
    spy.mockRestore();
    await ai.files.delete({ name: file.name! });
  });

  it('lists with the pager across pages, scoped to the key', async () => {
    const ai = make();
    const other = new GenAI2({ apiKey: KEY_B, httpOptions: { baseUrl } });
    const names: string[] = [];
    for (let i = 0; i < 5; i++) {
      const f = await ai.files.upload({ file: smallPath, config: { mimeType: 'image/jpeg' } });
      names.push(f.name!);
    }
    const listed: string[] = [];
    const pager = await ai.files.list({ config: { pageSize: 2 } });
    for await (const f of pager) listed.push(f.name!);
    expect([...listed].sort()).toEqual([...names].sort());
    const foreign: string[] = [];
    for await (const f of await other.files.list({ config: { pageSize: 2 } })) foreign.push(f.name!);
    expect(foreign).toEqual([]);
    await expect(other.files.get({ name: names[0]! })).rejects.toMatchObject({ status: 403 });
    for (const n of names) await ai.files.delete({ name: n });
    const empty: string[] = [];
    for await (const f of await ai.files.list()) empty.push(f.name!);
    expect(empty).toEqual([]);
  });
});
