/**
 * `ocellus label DIR|LIST --prompt … --format coco|yolo|jsonl --out FILE|DIR`: labels a
 * folder of images (or the images a list file names, one path a line) with one batch.
 * Each image goes up through the Files API, the requests go as a JSONL file batch, a
 * progress bar follows the batch, and the responses file becomes COCO JSON, YOLO txt
 * files (plus classes.txt) or JSONL.
 *
 * Resumable: a state file next to --out (`<out>.ocellus-label.json`) keeps the prompt,
 * the uploaded files, the batch's name and the answers already in. Re-running the same
 * command continues: the batch is polled again if the server still has it, otherwise only
 * the images without an answer are sent. Without --url the in-process server keeps its
 * data next to --out too (`<out>.ocellus-label-data/`), so its durable queue carries an
 * interrupted batch over to the next run.
 */
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import sharp from 'sharp';
import { itemsOfAnswer, box2dToPixels } from '../overlay/answer-items.js';
import { categoriesOf, toCoco, toYoloLines, type LabelledImage } from '../batch/export/dataset.js';
import { inspectImage } from '../media/decode.js';
import { loadConfig } from '../config.js';
import { createServer } from '../server/create-server.js';
import { createGeminiClient, GeminiApiError } from './gemini-client.js';
import { openImageInput } from './image-inputs.js';
import { localServerEnv, checkLocalServer } from './local-server.js';
import { createProgress } from './progress.js';

export const DEFAULT_LABEL_PROMPT = 'Detect all of the prominent items in the image. The box_2d should be [ymin, xmin, ymax, xmax] normalized to 0-1000.';
const IMAGE_EXT = /\.(jpe?g|png|webp|gif|tiff?|avif|heic|heif|bmp)$/i;
const FORMATS = ['coco', 'yolo', 'jsonl'] as const;
type Format = (typeof FORMATS)[number];

export interface LabelOptions {
  prompt: string;
  format: string;
  out: string;
  model: string;
  url?: string;
  key?: string;
  pollMs?: string;
}

type Env = Record<string, string | undefined>;

/** A failure worded for the user. */
class LabelError extends Error {}

interface Answer {
  text?: string;
  error?: { code?: number; message?: string; status?: string };
}

interface State {
  version: 1;
  prompt: string;
  model: string;
  /** files/{id} uri per key, for images already uploaded. */
  uploaded: Record<string, { uri: string; mimeType: string }>;
  batch?: string;
  /** The keys the batch holds. */
  batchKeys?: string[];
  answers: Record<string, Answer>;
}

export function registerLabel(program: Command): void {
  program
    .command('label')
    .description('label a folder of images with one batch: ocellus label DIR --format coco --out labels.json')
    .argument('<dir-or-list>', 'a folder of images (walked recursively) or a text file naming one image path a line')
    .addOption(new Option('--prompt <text>', 'what to ask of every image').default(DEFAULT_LABEL_PROMPT))
    .addOption(new Option('--format <format>', 'coco | yolo | jsonl').default('coco'))
    .addOption(new Option('--out <path>', 'COCO/JSONL: the file to write; YOLO: the folder').makeOptionMandatory())
    .addOption(new Option('--model <name>', 'model name').default('gemini-2.5-flash'))
    .addOption(new Option('--url <url>', 'base URL of a running server (OCELLUS_URL); without it a server is started in-process'))
    .addOption(new Option('--key <key>', 'API key (GEMINI_API_KEY or OCELLUS_API_KEY)'))
    .addOption(new Option('--poll-ms <ms>', 'how often to ask for the batch state').default('1000'))
    .action(async (source: string, opts: LabelOptions) => {
      process.exitCode = await runLabel(source, opts, { stderr: process.stderr, env: process.env });
    });
}

export async function runLabel(source: string, opts: LabelOptions, deps: { stderr: NodeJS.WriteStream; env: Env }): Promise<number> {
  const say = (line: string) => deps.stderr.write(`${line}\n`);
  let stopServer: (() => Promise<void>) | undefined;
  try {
    if (!(FORMATS as readonly string[]).includes(opts.format)) throw new LabelError(`--format must be one of ${FORMATS.join(', ')}`);
    const format = opts.format as Format;
    const images = await listImages(source);
    if (images.length === 0) throw new LabelError(`no images found in ${source}`);
    const out = path.resolve(opts.out);
    const statePath = `${out}.ocellus-label.json`;
    const state = await loadState(statePath, opts);

    const baseUrl = opts.url ?? deps.env.OCELLUS_URL;
    let base: string;
    if (baseUrl) base = baseUrl.replace(/\/+$/, '');
    else {
      checkLocalServer(deps.env);
      const local = await startPersistentServer(`${out}.ocellus-label-data`, deps);
      base = local.baseUrl;
      stopServer = local.close;
    }
    const apiKey = opts.key ?? deps.env.GEMINI_API_KEY ?? deps.env.OCELLUS_API_KEY;
    const api = batchApi(base, apiKey);
    const save = () => saveState(statePath, state);

    if (state.batch && !(await api.exists(state.batch))) {
      say(`ocellus: ${state.batch} is no longer on the server; sending the images without an answer again`);
      delete state.batch;
      delete state.batchKeys;
    }
    const todo = images.filter((i) => state.answers[i.key] === undefined);
    if (!state.batch && todo.length > 0) {
      const client = createGeminiClient({ baseUrl: base, ...(apiKey ? { apiKey } : {}) });
      const upload = createProgress({ label: 'upload', total: todo.length, unit: 'items', stream: deps.stderr });
      let n = 0;
      for (const img of todo) {
        if (!state.uploaded[img.key]) {
          const input = await openImageInput(img.file);
          try {
            const f = await client.uploadFile(input, { mimeType: input.mimeType, displayName: img.key });
            state.uploaded[img.key] = { uri: f.uri ?? `${base}/v1beta/${f.name}`, mimeType: f.mimeType ?? input.mimeType };
          } finally {
            await input.close();
          }
          await save();
        }
        upload.update(++n, todo.length);
      }
      upload.done(`${todo.length} images uploaded`);
      const lines = todo.map((img) =>
        JSON.stringify({
          key: img.key,
          request: { contents: [{ role: 'user', parts: [{ fileData: { mimeType: state.uploaded[img.key]!.mimeType, fileUri: state.uploaded[img.key]!.uri } }, { text: opts.prompt }] }] },
        }),
      );
      const jsonl = Buffer.from(`${lines.join('\n')}\n`);
      const inputName = await api.uploadJsonl(jsonl);
      state.batch = await api.create(opts.model, inputName, `ocellus label ${path.basename(out)}`);
      state.batchKeys = todo.map((i) => i.key);
      await save();
    }

    if (state.batch) {
      const total = state.batchKeys?.length ?? 0;
      const progress = createProgress({ label: 'label', total, unit: 'items', stream: deps.stderr });
      const op = await api.waitFor(state.batch, Number(opts.pollMs ?? 1000), (done) => progress.update(done, total));
      if (op.state !== 'BATCH_STATE_SUCCEEDED') {
        progress.fail(op.state);
        throw new LabelError(`${state.batch} ended ${op.state}${op.error ? `: ${op.error}` : ''}; delete ${statePath} to start over`);
      }
      progress.done(`${total} images labelled`);
      for (const line of (await api.download(op.responsesFile!)).split('\n')) {
        if (!line.trim()) continue;
        const r = JSON.parse(line) as { key: string; response?: { candidates?: Array<{ content?: { parts?: Array<{ text?: string }> } }> }; error?: Answer['error'] };
        state.answers[r.key] = r.error ? { error: r.error } : { text: (r.response?.candidates?.[0]?.content?.parts ?? []).map((p) => p.text ?? '').join('') };
      }
      delete state.batch;
      delete state.batchKeys;
      await save();
    }

    const failed = images.filter((i) => state.answers[i.key]?.error);
    for (const f of failed.slice(0, 10)) say(`ocellus: ${f.key}: ${state.answers[f.key]!.error!.message ?? 'failed'}`);
    const written = await writeOutput(format, out, images, state, opts.prompt);
    say(`ocellus: wrote ${written}${failed.length ? ` (${failed.length} image${failed.length === 1 ? '' : 's'} without an answer)` : ''}`);
    return 0;
  } catch (err) {
    if (err instanceof GeminiApiError) say(`ocellus: ${err.message} (${err.code} ${err.status})`);
    else if (err instanceof LabelError) say(`ocellus: ${err.message}`);
    else say(`ocellus: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  } finally {
    await stopServer?.();
  }
}

interface ImageEntry {
  key: string;
  file: string;
}

/** A folder walked recursively, or a list file of paths (relative to the list's folder). Keys are '/'-separated relative paths. */
export async function listImages(source: string): Promise<ImageEntry[]> {
  let info;
  try {
    info = await stat(source);
  } catch {
    throw new LabelError(`cannot read ${source}`);
  }
  if (info.isDirectory()) {
    const root = path.resolve(source);
    const entries = (await readdir(root, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile() && IMAGE_EXT.test(e.name))
      .map((e) => path.join(e.parentPath, e.name));
    return entries.map((file) => ({ key: path.relative(root, file).split(path.sep).join('/'), file })).sort((a, b) => a.key.localeCompare(b.key));
  }
  const dir = path.dirname(path.resolve(source));
  const names = (await readFile(source, 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const seen = new Set<string>();
  return names.flatMap((name) => {
    const key = name.split(path.sep).join('/');
    if (seen.has(key)) return [];
    seen.add(key);
    return [{ key, file: path.resolve(dir, name) }];
  });
}

async function loadState(file: string, opts: LabelOptions): Promise<State> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { version: 1, prompt: opts.prompt, model: opts.model, uploaded: {}, answers: {} };
  }
  const state = JSON.parse(text) as State;
  if (state.prompt !== opts.prompt || state.model !== opts.model)
    throw new LabelError(`${file} belongs to a run with another prompt or model; delete it or choose another --out`);
  return state;
}

/** Written whole to a temp file and renamed: an interrupted write leaves the previous state. */
async function saveState(file: string, state: State): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, JSON.stringify(state));
  await rename(`${file}.tmp`, file);
}

/** The in-process server on a data dir that outlives the run, so its queue resumes an interrupted batch. */
async function startPersistentServer(dataDir: string, deps: { stderr: NodeJS.WriteStream; env: Env }) {
  const config = loadConfig({ port: 0, host: '127.0.0.1', dataDir, logLevel: 'silent' }, localServerEnv(deps.env));
  const server = await createServer(config);
  const progress = createProgress({ label: 'models', stream: deps.stderr });
  progress.note('loading the offline models…');
  try {
    const address = await server.listen();
    progress.done('ready');
    return { baseUrl: address.replace('://localhost', '://127.0.0.1'), close: () => server.close() };
  } catch (err) {
    progress.fail((err as Error).message);
    await server.close().catch(() => undefined);
    throw err;
  }
}

interface BatchOp {
  state: string;
  done: number;
  responsesFile?: string;
  error?: string;
}

/** The few Batch API calls label makes, on fetch. */
function batchApi(base: string, apiKey: string | undefined) {
  const headers = { 'content-type': 'application/json', ...(apiKey ? { 'x-goog-api-key': apiKey } : {}) };
  const call = async (method: string, p: string, body?: unknown): Promise<Response> => {
    const res = await fetch(`${base}/v1beta/${p}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    if (!res.ok && res.status !== 404) {
      const e = ((await res.json().catch(() => ({}))) as { error?: { message?: string; status?: string } }).error;
      throw new GeminiApiError(res.status, e?.status ?? 'UNKNOWN', e?.message ?? `HTTP ${res.status}`);
    }
    return res;
  };
  const read = async (name: string): Promise<BatchOp | undefined> => {
    const res = await call('GET', name);
    if (res.status === 404) return undefined;
    const j = (await res.json()) as { metadata: { state: string; batchStats?: Record<string, string>; output?: { responsesFile?: string } }; error?: { message?: string } };
    const s = j.metadata.batchStats ?? {};
    return {
      state: j.metadata.state,
      done: Number(s.successfulRequestCount ?? 0) + Number(s.failedRequestCount ?? 0),
      ...(j.metadata.output?.responsesFile ? { responsesFile: j.metadata.output.responsesFile } : {}),
      ...(j.error?.message ? { error: j.error.message } : {}),
    };
  };
  return {
    exists: async (name: string) => (await read(name)) !== undefined,
    async create(model: string, fileName: string, displayName: string): Promise<string> {
      const res = await call('POST', `models/${model}:batchGenerateContent`, { batch: { displayName, inputConfig: { fileName } } });
      if (res.status === 404) throw new LabelError(`the server has no model ${model}`);
      return ((await res.json()) as { name: string }).name;
    },
    async waitFor(name: string, pollMs: number, onProgress: (done: number) => void): Promise<BatchOp> {
      for (;;) {
        const op = await read(name);
        if (!op) throw new LabelError(`${name} disappeared from the server`);
        onProgress(op.done);
        if (op.state !== 'BATCH_STATE_PENDING' && op.state !== 'BATCH_STATE_RUNNING') return op;
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
    /**
     * The requests file, as one raw upload: the Files API keeps a JSONL file (its bytes are
     * a batch's input) though it reports non-images FAILED, which the resumable client
     * would take for a failed upload.
     */
    async uploadJsonl(bytes: Buffer): Promise<string> {
      const res = await fetch(`${base}/upload/v1beta/files?uploadType=media`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/jsonl', 'x-goog-upload-protocol': 'raw' },
        body: new Uint8Array(bytes),
      });
      if (!res.ok) {
        const e = ((await res.json().catch(() => ({}))) as { error?: { message?: string; status?: string } }).error;
        throw new GeminiApiError(res.status, e?.status ?? 'UNKNOWN', e?.message ?? `HTTP ${res.status}`);
      }
      return ((await res.json()) as { file: { name: string } }).file.name;
    },
    async download(fileName: string): Promise<string> {
      const res = await call('GET', `${fileName}:download?alt=media`);
      if (res.status === 404) throw new LabelError(`the responses file ${fileName} is gone`);
      return res.text();
    },
  };
}

async function writeOutput(format: Format, out: string, images: readonly ImageEntry[], state: State, prompt: string): Promise<string> {
  if (format === 'jsonl') {
    const lines = images.map((i) => {
      const a = state.answers[i.key];
      return JSON.stringify({ file: i.key, ...(a?.error ? { error: a.error } : { text: a?.text ?? '', items: itemsOfAnswer(a?.text ?? '') }) });
    });
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, `${lines.join('\n')}\n`);
    return out;
  }
  const labelled: LabelledImage[] = [];
  for (const i of images) {
    const bytes = await readFile(i.file);
    const info = await inspectImage(bytes, { partLabel: i.key, maxPixels: Number.MAX_SAFE_INTEGER });
    const items = itemsOfAnswer(state.answers[i.key]?.text ?? '');
    labelled.push({ fileName: i.key, width: info.width, height: info.height, items, masks: await masksOf(items, info.width, info.height) });
  }
  if (format === 'coco') {
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, JSON.stringify(toCoco(labelled, `ocellus label: ${prompt}`)));
    return out;
  }
  const classes = categoriesOf(labelled);
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, 'classes.txt'), classes.map((c) => `${c}\n`).join(''));
  for (const img of labelled) {
    const file = path.join(out, img.fileName.replace(/\.[^./]+$/, '') + '.txt');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, toYoloLines(img, classes));
  }
  return `${images.length} label files and classes.txt in ${out}`;
}

/** The answer's masks (PNG probability maps of each box) as full-image binary masks, threshold 127. */
async function masksOf(items: LabelledImage['items'], width: number, height: number): Promise<Map<number, Uint8Array> | undefined> {
  const masks = new Map<number, Uint8Array>();
  for (const [j, it] of items.entries()) {
    if (!it.mask) continue;
    const b = box2dToPixels(it.box_2d, width, height);
    const w = b.x1 - b.x0;
    const h = b.y1 - b.y0;
    if (w <= 0 || h <= 0) continue;
    const grey = await sharp(Buffer.from(it.mask.slice(it.mask.indexOf(',') + 1), 'base64'))
      .extractChannel(0)
      .resize(w, h, { fit: 'fill' })
      .raw()
      .toBuffer();
    const full = new Uint8Array(width * height);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (grey[y * w + x]! > 127) full[(b.y0 + y) * width + b.x0 + x] = 1;
    masks.set(j, full);
  }
  return masks.size ? masks : undefined;
}
