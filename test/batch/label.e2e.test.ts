/**
 * `ocellus label` as a user runs it (node + tsx on src/main.ts) against the real server:
 * a folder of packaged photos (one in a subfolder) becomes COCO that passes the checks
 * pycocotools relies on, with masks as RLE when the prompt asks for segmentation; a re-run
 * continues from the state file instead of labelling again; YOLO writes one file per
 * image plus classes.txt; the list-file form and a bad --format are covered too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, REPO_ROOT } from '../support/fixtures.js';
import { startServer, type RunningServer } from '../support/server.js';
import { DETECT, rest, until } from './helpers.js';

const SEGMENT = 'Give the segmentation masks for the objects. Output a JSON list of segmentation masks where each entry contains the 2D bounding box in the key "box_2d", the segmentation mask in key "mask", and the text label in the key "label".';
const SIZES: Record<string, [number, number]> = { 'dog.jpg': [768, 576], 'sub/person.jpg': [640, 424], 'horses.jpg': [773, 512] };

let srv: RunningServer;
let dir: string;
let photos: string;

beforeAll(async () => {
  srv = await startServer({ flags: { ocr: false } });
  dir = mkdtempSync(path.join(os.tmpdir(), 'ocellus-label-'));
  photos = path.join(dir, 'photos');
  mkdirSync(path.join(photos, 'sub'), { recursive: true });
  copyFileSync(fixturePath('dog.jpg'), path.join(photos, 'dog.jpg'));
  copyFileSync(fixturePath('person.jpg'), path.join(photos, 'sub', 'person.jpg'));
  copyFileSync(fixturePath('horses.jpg'), path.join(photos, 'horses.jpg'));
  writeFileSync(path.join(photos, 'notes.txt'), 'not an image');
});
afterAll(async () => {
  await srv?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function spawnLabel(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string }> } {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('OCELLUS_')) delete env[k];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'label', ...args, '--url', srv.baseUrl, '--poll-ms', '200'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
  return { child, done };
}

const label = (args: string[]) => spawnLabel(args).done;

interface Coco {
  images: Array<{ id: number; file_name: string; width: number; height: number }>;
  annotations: Array<{ id: number; image_id: number; category_id: number; bbox: number[]; area: number; iscrowd: number; segmentation?: { size: [number, number]; counts: number[] } }>;
  categories: Array<{ id: number; name: string }>;
}

/** What pycocotools' COCO() and COCOeval take for granted of a detection file. */
function checkCoco(coco: Coco): void {
  const unique = (ids: number[]) => new Set(ids).size === ids.length;
  expect(unique(coco.images.map((i) => i.id))).toBe(true);
  expect(unique(coco.annotations.map((a) => a.id))).toBe(true);
  expect(unique(coco.categories.map((c) => c.id))).toBe(true);
  const images = new Map(coco.images.map((i) => [i.id, i]));
  const categories = new Set(coco.categories.map((c) => c.id));
  for (const a of coco.annotations) {
    const img = images.get(a.image_id)!;
    expect(img, `annotation ${a.id} image`).toBeDefined();
    expect(categories.has(a.category_id), `annotation ${a.id} category`).toBe(true);
    const [x, y, w, h] = a.bbox as [number, number, number, number];
    expect(w).toBeGreaterThan(0);
    expect(h).toBeGreaterThan(0);
    expect(x).toBeGreaterThanOrEqual(0);
    expect(y).toBeGreaterThanOrEqual(0);
    expect(x + w).toBeLessThanOrEqual(img.width);
    expect(y + h).toBeLessThanOrEqual(img.height);
    expect(a.area).toBeGreaterThan(0);
    expect(a.iscrowd).toBe(0);
    if (a.segmentation) {
      expect(a.segmentation.size).toEqual([img.height, img.width]);
      expect(a.segmentation.counts.reduce((s, n) => s + n, 0)).toBe(img.height * img.width);
      expect(a.segmentation.counts.slice(1).every((n) => n > 0)).toBe(true);
    }
  }
}

describe('ocellus label', () => {
  it('a folder becomes COCO with masks as RLE; a re-run continues from the state file', { timeout: 600_000 }, async () => {
    const out = path.join(dir, 'coco', 'labels.json');
    const first = await label([photos, '--prompt', SEGMENT, '--format', 'coco', '--out', out]);
    expect(first.stderr).toMatch(/wrote .*labels\.json/);
    expect(first.code).toBe(0);
    const coco = JSON.parse(readFileSync(out, 'utf8')) as Coco;
    checkCoco(coco);
    expect(coco.images.map((i) => i.file_name)).toEqual(['dog.jpg', 'horses.jpg', 'sub/person.jpg']);
    for (const i of coco.images) expect([i.width, i.height]).toEqual(SIZES[i.file_name]);
    const names = new Set(coco.categories.map((c) => c.name));
    expect(names.has('dog')).toBe(true);
    expect(names.has('horse')).toBe(true);
    expect(coco.annotations.some((a) => a.segmentation)).toBe(true);
    const dogId = coco.categories.find((c) => c.name === 'dog')!.id;
    expect(coco.annotations.some((a) => a.image_id === 1 && a.category_id === dogId)).toBe(true);

    // The state file holds every answer: a second run sends nothing and writes the same labels.
    const state = JSON.parse(readFileSync(`${out}.ocellus-label.json`, 'utf8'));
    expect(Object.keys(state.answers).sort()).toEqual(['dog.jpg', 'horses.jpg', 'sub/person.jpg']);
    expect(state.batch).toBeUndefined();
    const batchesBefore = (await rest(srv.baseUrl, '/v1beta/batches?pageSize=100')).json.operations.length;
    const again = await label([photos, '--prompt', SEGMENT, '--format', 'coco', '--out', out]);
    expect(again.code).toBe(0);
    expect((await rest(srv.baseUrl, '/v1beta/batches?pageSize=100')).json.operations.length).toBe(batchesBefore);
    const second = JSON.parse(readFileSync(out, 'utf8')) as Coco;
    expect(second.annotations).toEqual(coco.annotations);
  });

  it('YOLO from a list file: one txt per image with normalised boxes, and classes.txt', { timeout: 300_000 }, async () => {
    const list = path.join(photos, 'list.txt');
    writeFileSync(list, '# two photos\ndog.jpg\nsub/person.jpg\n');
    const out = path.join(dir, 'yolo');
    const r = await label([list, '--prompt', DETECT, '--format', 'yolo', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const classes = readFileSync(path.join(out, 'classes.txt'), 'utf8').trim().split('\n');
    expect(classes).toContain('dog');
    for (const f of ['dog.txt', 'sub/person.txt']) {
      const lines = readFileSync(path.join(out, f), 'utf8').trim().split('\n');
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) {
        const [cls, ...nums] = line.split(' ').map(Number);
        expect(Number.isInteger(cls) && cls! >= 0 && cls! < classes.length).toBe(true);
        expect(nums).toHaveLength(4);
        for (const n of nums) expect(n).toBeGreaterThan(0), expect(n).toBeLessThanOrEqual(1);
      }
    }
    expect(readFileSync(path.join(out, 'dog.txt'), 'utf8')).toMatch(new RegExp(`^${classes.indexOf('dog')} `, 'm'));
    expect(existsSync(path.join(out, 'horses.txt'))).toBe(false);
  });

  it('killed while its batch runs, a re-run picks the same batch up and finishes it', { timeout: 300_000 }, async () => {
    const out = path.join(dir, 'resume', 'labels.jsonl');
    const statePath = `${out}.ocellus-label.json`;
    const first = spawnLabel([photos, '--prompt', DETECT, '--format', 'jsonl', '--out', out]);
    const batch = await until('the batch to be in the state file', async () => {
      if (!existsSync(statePath)) return undefined;
      return (JSON.parse(readFileSync(statePath, 'utf8')) as { batch?: string }).batch;
    }, 120_000, 50);
    first.child.kill('SIGKILL');
    await first.done;
    expect(existsSync(out)).toBe(false);
    const batchesBefore = (await rest(srv.baseUrl, '/v1beta/batches?pageSize=100')).json.operations.length;

    const again = await label([photos, '--prompt', DETECT, '--format', 'jsonl', '--out', out]);
    expect(again.code, again.stderr).toBe(0);
    expect((await rest(srv.baseUrl, '/v1beta/batches?pageSize=100')).json.operations.length).toBe(batchesBefore);
    expect((await rest(srv.baseUrl, `/v1beta/${batch}`)).json.metadata.state).toBe('BATCH_STATE_SUCCEEDED');
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.file)).toEqual(['dog.jpg', 'horses.jpg', 'sub/person.jpg']);
    expect(lines.every((l) => l.items.length > 0)).toBe(true);
  });

  it('a bad --format is refused before anything is sent', async () => {
    const r = await label([photos, '--format', 'voc', '--out', path.join(dir, 'x.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--format must be one of coco, yolo, jsonl/);
  });
});
