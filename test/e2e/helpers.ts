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

// ---- what the offline vision engine must see in the fixtures ---------------------------

/** A `box_2d` as Gemini writes it: [ymin, xmin, ymax, xmax], integers 0..1000. */
export type Box2d = [number, number, number, number];

/**
 * Where the dog lies in dog.jpg (read off the photo by eye: x 0.15–0.42, y 0.36–0.94 of the
 * frame), as a box_2d. A detected dog must overlap it.
 */
export const DOG_JPG_DOG: Box2d = [360, 150, 940, 420];

/**
 * The same region in the upright frame of dog-exif6.jpg / dog-irot.heic, which show dog.jpg
 * turned 90° clockwise: a point (x, y) moves to (1 − y, x).
 */
export const DOG_JPG_DOG_TURNED_CW: Box2d = [DOG_JPG_DOG[1], 1000 - DOG_JPG_DOG[2], DOG_JPG_DOG[3], 1000 - DOG_JPG_DOG[0]];

/** What dog.jpg really shows, as COCO classes: a dog, a bicycle and a pickup truck (which a detector may call a car). */
export const DOG_JPG_CLASSES = ['dog', 'bicycle', 'car', 'truck'] as const;

/** Intersection over union of two box_2d. */
export function iou(a: readonly number[], b: readonly number[]): number {
  const inter = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!)) * Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const area = (x: readonly number[]) => (x[2]! - x[0]!) * (x[3]! - x[1]!);
  return inter / (area(a) + area(b) - inter);
}

/** Asserts a Gemini-style detection list and returns it: `[{box_2d: [4 ints 0..1000, min < max], label}]`. */
export function expectDetections(value: unknown): Array<{ box_2d: Box2d; label: string }> {
  expect(Array.isArray(value), `a JSON list, got ${JSON.stringify(value)}`).toBe(true);
  const items = value as Array<{ box_2d: Box2d; label: string }>;
  for (const item of items) {
    expect(Object.keys(item).sort()).toEqual(['box_2d', 'label']);
    expect(item.label).toEqual(expect.any(String));
    expect(item.box_2d).toHaveLength(4);
    for (const v of item.box_2d) {
      expect(Number.isInteger(v), `box_2d ${JSON.stringify(item.box_2d)} must hold integers`).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1000);
    }
    expect(item.box_2d[0]).toBeLessThan(item.box_2d[2]);
    expect(item.box_2d[1]).toBeLessThan(item.box_2d[3]);
  }
  return items;
}

/** Asserts that `items` hold a dog whose box overlaps dog.jpg's dog; returns that item. */
export function expectDogFound<T extends { box_2d: readonly number[]; label: string }>(items: T[], region: Box2d = DOG_JPG_DOG): T {
  const dogs = items.filter((i) => i.label === 'dog');
  expect(dogs.length, `a dog among ${JSON.stringify(items.map((i) => i.label))}`).toBeGreaterThan(0);
  const best = dogs.reduce((a, b) => (iou(a.box_2d, region) >= iou(b.box_2d, region) ? a : b));
  expect(iou(best.box_2d, region), `dog box ${JSON.stringify(best.box_2d)} against ${JSON.stringify(region)}`).toBeGreaterThan(0.6);
  return best;
}

/** Darknet's coco.names spells six classes differently from the COCO API the answers use. */
const COCO_SPELLING: Record<string, string> = {
  motorbike: 'motorcycle',
  aeroplane: 'airplane',
  sofa: 'couch',
  pottedplant: 'potted plant',
  diningtable: 'dining table',
  tvmonitor: 'tv',
};
const IRREGULAR_PLURAL: Record<string, string> = { person: 'people', knife: 'knives', mouse: 'mice' };

/** The 80 COCO classes (from the coco.names fixture), as answers spell them. */
export function cocoClasses(): string[] {
  return readFixture('coco.names')
    .toString('utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((n) => COCO_SPELLING[n] ?? n);
}

/** Matches a class name in a sentence, singular or plural, as a whole word. */
export function classPattern(name: string): RegExp {
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const forms = [`${esc}(?:s|es)?`, ...(IRREGULAR_PLURAL[name] ? [IRREGULAR_PLURAL[name]] : [])];
  return new RegExp(`\\b(?:${forms.join('|')})\\b`, 'i');
}

/**
 * The object words of a caption: without the colour sentence (colour names such as
 * "orange" are also COCO classes) and without quoted text the reader found.
 */
function objectWords(caption: string): string {
  return caption.replace(/The image is [^.]*\./g, ' ').replace(/The text reads: "[^"]*"\./g, ' ');
}

/**
 * A caption of dog.jpg (or a copy of it): it names the dog and the bicycle, and no COCO
 * class the photo does not show (no "cat", "horse", "person", "parking meter"…).
 */
export function expectDogJpgCaption(caption: string): void {
  expect(caption).toMatch(classPattern('dog'));
  expect(caption).toMatch(classPattern('bicycle'));
  expectOnlyDogJpgClasses(caption);
}

/** Names no COCO class that dog.jpg does not show. */
export function expectOnlyDogJpgClasses(caption: string): void {
  const words = objectWords(caption);
  const named = cocoClasses().filter((c) => !(DOG_JPG_CLASSES as readonly string[]).includes(c) && classPattern(c).test(words));
  expect(named, `classes not in dog.jpg named in: ${caption}`).toEqual([]);
}
