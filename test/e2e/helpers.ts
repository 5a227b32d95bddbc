/**
 * Shared bits of the end-to-end tests: the SDK majors under test, the documented 2.x image
 * token rule (written out here independently of src/ so the server is checked against the
 * docs, not against itself), a loopback static file server standing in for the seed's
 * image URLs, and the Gemini error envelope check.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as genai2 from 'genai2';
import * as genai3 from 'genai3';
import { expect } from 'vitest';
import { readFixture, type FixtureName } from '../support/fixtures.js';

export const KEY_A = 'e2e-key-a-0001';
export const KEY_B = 'e2e-key-b-0002';

export const MODEL = 'gemini-2.5-flash';

/** Both SDK majors: 2.x defaults to v1beta, 3.x to v1 (uploads included). */
export const SDKS = [
  { label: '@google/genai 2.32 (v1beta)', sdk: genai2 as unknown as typeof genai3, version: 'v1beta' },
  { label: '@google/genai 3.3 (v1)', sdk: genai3, version: 'v1' },
] as const;
export type Sdk = (typeof SDKS)[number]['sdk'];

/**
 * The documented Gemini 2.0/2.5 rule: 258 if both sides ≤ 384, else
 * crop = floor(min(w,h)/1.5) and ceil(w/crop)·ceil(h/crop) tiles of 258 tokens.
 */
export function tiles2x(width: number, height: number): number {
  if (width <= 384 && height <= 384) return 1;
  const crop = Math.floor(Math.min(width, height) / 1.5);
  return Math.ceil(width / crop) * Math.ceil(height / crop);
}
export const imageTokens2x = (width: number, height: number): number => 258 * tiles2x(width, height);

/** Upright sizes of the fixtures used here (read off the files with `file`/exiftool). */
export const SIZES = {
  'dog.jpg': [768, 576],
  'horses.jpg': [773, 512],
  'person.jpg': [640, 424],
  'big.png': [2048, 1536],
} as const;

export interface StaticServer {
  url(name: string): string;
  close(): Promise<void>;
}

/** Serves fixtures (or given bytes) at `/<name>` with their image Content-Type, on 127.0.0.1. */
export async function startStaticServer(files: Record<string, { fixture: FixtureName | Buffer; type: string }>): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '/').split('?')[0]!.slice(1));
    const f = files[name];
    if (!f) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const body = Buffer.isBuffer(f.fixture) ? f.fixture : readFixture(f.fixture);
    res.writeHead(200, { 'content-type': f.type, 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (name) => `http://127.0.0.1:${port}/${name}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

export interface ErrorEnvelope {
  error: { code: number; message: string; status: string; details: unknown[] };
}

/** Asserts Gemini's error envelope with the given HTTP code and canonical status. */
export function expectEnvelope(body: unknown, code: number, status: string): ErrorEnvelope {
  expect(body).toMatchObject({ error: { code, status, message: expect.any(String), details: expect.any(Array) } });
  const env = body as ErrorEnvelope;
  expect(Object.keys(env)).toEqual(['error']);
  expect(env.error.message.length).toBeGreaterThan(0);
  return env;
}

/** The SDK's ApiError carries the HTTP status and the JSON body as its message. */
export function parseApiErrorMessage(err: unknown): ErrorEnvelope {
  const message = (err as Error).message;
  const start = message.indexOf('{');
  expect(start, `ApiError message should carry the JSON body: ${message}`).toBeGreaterThanOrEqual(0);
  return JSON.parse(message.slice(start)) as ErrorEnvelope;
}

/** Runs `fn`, expects it to throw the SDK's ApiError, returns it. */
export async function apiError(fn: () => Promise<unknown>): Promise<Error & { status: number }> {
  try {
    await fn();
  } catch (err) {
    expect((err as Error).name).toBe('ApiError');
    return err as Error & { status: number };
  }
  throw new Error('expected an ApiError, but the call succeeded');
}

export function imageTokensOf(usage: { promptTokensDetails?: Array<{ modality?: string; tokenCount?: number }> } | undefined): number | undefined {
  return usage?.promptTokensDetails?.find((d) => d.modality === 'IMAGE')?.tokenCount;
}
