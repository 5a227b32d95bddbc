/**
 * Seeded generator of malformed requests for every endpoint Ocellus serves. Pure: the same
 * seed and count give the same requests byte for byte, so a failure printed with its seed
 * and case id can be replayed. Each case starts from a request the endpoint would accept
 * and applies one or two mutations (wrong method, bad JSON, wrong types, deep nesting, bad
 * base64, odd headers, …); the runner only checks invariants that hold whatever the
 * mutation: no 5xx, every error in Gemini's envelope, no connection dropped.
 *
 * Ids the server hands out at run time are placeholders the runner fills in:
 * `{FILE}` (a live file id) and `{UPLOAD}` (a live resumable upload id).
 */
import type { RawRequest } from './raw-http.js';

// ---------------------------------------------------------------- random numbers

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

/** mulberry32: tiny, fast, and good enough to spread fuzz cases. */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    range: (lo, hi) => lo + int(hi - lo + 1),
    pick: (items) => items[int(items.length)]!,
    chance: (p) => next() < p,
  };
}

// ---------------------------------------------------------------- fixed inputs

/** A valid 1×1 PNG and GIF: enough for every image path without decoding cost. */
export const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
export const GIF_1X1 = 'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';
const PNG_BYTES = Buffer.from(PNG_1X1, 'base64');

/** A PNG header that claims `w`×`h` pixels and has no image data: a decompression-bomb probe. */
export function pngHeaderClaiming(w: number, h: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const type = Buffer.from('IHDR', 'latin1');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(13);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([type, ihdr])));
  return Buffer.concat([PNG_BYTES.subarray(0, 8), len, type, ihdr, crc]);
}

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

export const API_VERSIONS = ['v1beta', 'v1', 'v1alpha'] as const;
const MODELS = ['gemini-2.5-flash', 'gemini-2.0-flash', 'gemini-2.5-pro', 'gemini-1.5-flash', 'gemini-3-pro-preview', 'models/gemini-2.5-flash'];
/** Methods the server deliberately answers with 501 UNIMPLEMENTED. */
export const OUT_OF_SCOPE_METHODS = ['embedContent', 'batchEmbedContents', 'batchGenerateContent', 'predict'];

// ---------------------------------------------------------------- endpoints

export type EndpointName =
  | 'generateContent'
  | 'streamGenerateContent'
  | 'streamGenerateContentSse'
  | 'countTokens'
  | 'modelsList'
  | 'modelsGet'
  | 'filesCreate'
  | 'filesList'
  | 'filesGet'
  | 'filesDelete'
  | 'filesDownload'
  | 'uploadStart'
  | 'uploadChunk'
  | 'uploadFinalize'
  | 'uploadQuery'
  | 'uploadCancel'
  | 'uploadMultipart'
  | 'uploadRaw'
  | 'previewPost'
  | 'previewFile'
  | 'healthz'
  | 'root'
  | 'unknown';

export const ENDPOINTS: readonly EndpointName[] = [
  'generateContent',
  'streamGenerateContent',
  'streamGenerateContentSse',
  'countTokens',
  'modelsList',
  'modelsGet',
  'filesCreate',
  'filesList',
  'filesGet',
  'filesDelete',
  'filesDownload',
  'uploadStart',
  'uploadChunk',
  'uploadFinalize',
  'uploadQuery',
  'uploadCancel',
  'uploadMultipart',
  'uploadRaw',
  'previewPost',
  'previewFile',
  'healthz',
  'root',
  'unknown',
];

/** A request the endpoint accepts, as parts the mutations can reach. */
interface Base {
  method: string;
  /** Path without query. */
  path: string;
  query: Array<[string, string]>;
  headers: Array<[string, string]>;
  /** JSON body as a value (mutated structurally), or raw bytes. */
  json?: unknown;
  bytes?: Buffer;
  /** Where in the path the endpoint's name or id sits, for the path mutations. */
  pathSlot?: { prefix: string; value: string; suffix: string };
}

function imagePart(rng: Rng): Record<string, unknown> {
  return rng.chance(0.5)
    ? { inlineData: { mimeType: 'image/png', data: PNG_1X1 } }
    : { inline_data: { mime_type: 'image/gif', data: GIF_1X1 } };
}

function generateBody(rng: Rng): Record<string, unknown> {
  const body: Record<string, unknown> = {
    contents: [{ role: 'user', parts: rng.chance(0.5) ? [imagePart(rng), { text: 'Caption this image.' }] : [{ text: 'What colour is it?' }, imagePart(rng)] }],
  };
  if (rng.chance(0.5))
    body.generationConfig = {
      temperature: 0.4,
      maxOutputTokens: 64,
      ...(rng.chance(0.5)
        ? { responseMimeType: 'application/json', responseSchema: { type: 'OBJECT', properties: { caption: { type: 'STRING' } }, required: ['caption'] } }
        : {}),
      ...(rng.chance(0.3) ? { thinkingConfig: { thinkingBudget: 0 } } : {}),
    };
  if (rng.chance(0.3)) body.safetySettings = [{ category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT', threshold: 'BLOCK_NONE' }];
  if (rng.chance(0.3)) body.systemInstruction = { parts: [{ text: 'Answer briefly.' }] };
  if (rng.chance(0.2)) body.tools = [{ functionDeclarations: [{ name: 'f', parameters: { type: 'OBJECT', properties: { x: { type: 'STRING' } } } }] }];
  if (rng.chance(0.2)) body.contents = [...(body.contents as unknown[]), { role: 'model', parts: [{ text: 'A dot.' }] }, { role: 'user', parts: [{ fileData: { fileUri: 'files/{FILE}', mimeType: 'image/png' } }] }];
  return body;
}

const apiKeyHeader = (key: string): [string, string] => ['x-goog-api-key', key];

function multipartBody(boundary: string, metadata: string, media: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${metadata}\r\n--${boundary}\r\nContent-Type: image/png\r\n\r\n`),
    media,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

function baseFor(endpoint: EndpointName, rng: Rng, key: string): Base {
  const v = rng.pick(API_VERSIONS);
  const model = rng.pick(MODELS).replace(/^models\//, '');
  const json: [string, string] = ['content-type', rng.pick(['application/json', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded', 'text/plain'])];
  const auth = apiKeyHeader(key);
  const fileId = rng.chance(0.7) ? '{FILE}' : rng.pick(['abc123', 'nonexistent', '0', 'a'.repeat(40)]);
  const uploadQuery: Array<[string, string]> = [
    ['upload_id', rng.chance(0.8) ? '{UPLOAD}' : rng.pick(['bogus', '', 'A'.repeat(64), '../../etc/passwd'])],
    ['upload_protocol', 'resumable'],
  ];
  const modelSlot = (method: string) => ({ prefix: `/${v}/models/`, value: model, suffix: method });
  switch (endpoint) {
    case 'generateContent':
    case 'streamGenerateContent':
    case 'streamGenerateContentSse': {
      const method = endpoint === 'generateContent' ? ':generateContent' : ':streamGenerateContent';
      return {
        method: 'POST',
        path: `/${v}/models/${model}${method}`,
        query: endpoint === 'streamGenerateContentSse' ? [['alt', 'sse']] : [],
        headers: [json, auth],
        json: generateBody(rng),
        pathSlot: modelSlot(method),
      };
    }
    case 'countTokens':
      return {
        method: 'POST',
        path: `/${v}/models/${model}:countTokens`,
        query: [],
        headers: [json, auth],
        json: rng.chance(0.5) ? { contents: (generateBody(rng).contents as unknown[]) } : { generateContentRequest: { model: `models/${model}`, ...generateBody(rng) } },
        pathSlot: modelSlot(':countTokens'),
      };
    case 'modelsList':
      return { method: 'GET', path: `/${v}/models`, query: rng.chance(0.5) ? [['pageSize', '5']] : [], headers: [auth] };
    case 'modelsGet':
      return { method: 'GET', path: `/${v}/models/${model}`, query: [], headers: [auth], pathSlot: modelSlot('') };
    case 'filesCreate':
      return { method: 'POST', path: `/${v}/files`, query: [], headers: [json, auth], json: { file: { displayName: 'fuzz', mimeType: 'image/png' } } };
    case 'filesList':
      return { method: 'GET', path: `/${v}/files`, query: rng.chance(0.5) ? [['pageSize', '3']] : [], headers: [auth] };
    case 'filesGet':
      return { method: 'GET', path: `/${v}/files/${fileId}`, query: [], headers: [auth], pathSlot: { prefix: `/${v}/files/`, value: fileId, suffix: '' } };
    case 'filesDelete':
      return { method: 'DELETE', path: `/${v}/files/${fileId}`, query: [], headers: [auth], pathSlot: { prefix: `/${v}/files/`, value: fileId, suffix: '' } };
    case 'filesDownload':
      return { method: 'GET', path: `/${v}/files/${fileId}:download`, query: [['alt', 'media']], headers: [auth], pathSlot: { prefix: `/${v}/files/`, value: fileId, suffix: ':download' } };
    case 'uploadStart':
      return {
        method: 'POST',
        path: `/upload/${v}/files`,
        query: [],
        headers: [
          json,
          auth,
          ['x-goog-upload-protocol', 'resumable'],
          ['x-goog-upload-command', 'start'],
          ['x-goog-upload-header-content-length', String(PNG_BYTES.length)],
          ['x-goog-upload-header-content-type', 'image/png'],
        ],
        json: { file: { display_name: 'fuzz upload' } },
      };
    case 'uploadChunk':
    case 'uploadFinalize':
      return {
        method: 'POST',
        path: `/upload/${v}/files`,
        query: uploadQuery,
        headers: [
          ['content-type', 'application/octet-stream'],
          ['x-goog-upload-command', endpoint === 'uploadChunk' ? 'upload' : 'upload, finalize'],
          ['x-goog-upload-offset', '0'],
        ],
        bytes: endpoint === 'uploadChunk' ? PNG_BYTES.subarray(0, 16) : PNG_BYTES,
      };
    case 'uploadQuery':
    case 'uploadCancel':
      return {
        method: 'POST',
        path: `/upload/${v}/files`,
        query: uploadQuery,
        headers: [['x-goog-upload-command', endpoint === 'uploadQuery' ? 'query' : 'cancel']],
      };
    case 'uploadMultipart': {
      const boundary = 'fuzzboundary';
      return {
        method: 'POST',
        path: `/upload/${v}/files`,
        query: rng.chance(0.5) ? [['uploadType', 'multipart']] : [],
        headers: [['content-type', `multipart/related; boundary=${boundary}`], auth],
        bytes: multipartBody(boundary, '{"file":{"display_name":"fuzz multipart"}}', PNG_BYTES),
      };
    }
    case 'uploadRaw':
      return {
        method: 'POST',
        path: `/upload/${v}/files`,
        query: [['uploadType', 'media']],
        headers: [['content-type', 'image/png'], auth],
        bytes: PNG_BYTES,
      };
    case 'previewPost':
      return { method: 'POST', path: '/playground/preview', query: [], headers: [['content-type', 'image/png'], auth], bytes: PNG_BYTES };
    case 'previewFile':
      return {
        method: 'GET',
        path: `/playground/preview/files/${fileId}`,
        query: [],
        headers: [auth],
        pathSlot: { prefix: '/playground/preview/files/', value: fileId, suffix: '' },
      };
    case 'healthz':
      return { method: 'GET', path: '/healthz', query: [], headers: [] };
    case 'root':
      return { method: 'GET', path: rng.pick(['/', '/index.html']), query: [], headers: [] };
    case 'unknown':
      return {
        method: rng.pick(['GET', 'POST']),
        path: rng.pick([`/${v}/nothing`, `/${v}/models/${model}/extra`, '/v2/models', '/upload', `/upload/${v}`, '/playground', '/.env', '/healthz/x', `/${v}/tunedModels`, `/${v}/cachedContents`, '/assets/x.js']),
        query: [],
        headers: [auth],
        json: rng.chance(0.3) ? { a: 1 } : undefined,
      };
  }
}

// ---------------------------------------------------------------- mutations

export type MutationName =
  | 'none'
  | 'wrongMethod'
  | 'badJson'
  | 'wrongType'
  | 'deepNesting'
  | 'hugeWidth'
  | 'badBase64'
  | 'wrongMime'
  | 'badKeys'
  | 'badQuery'
  | 'percentEncoding'
  | 'longName'
  | 'nonAscii'
  | 'oddHeaders'
  | 'truncatedBody'
  | 'badAuth'
  | 'uploadHeaders'
  | 'badMultipart'
  | 'shortBody';

/** A JSON body on its way to the wire; `splices` replace marker strings with raw text (deep nesting, bad JSON). */
interface Draft extends Base {
  splices: Map<string, string>;
  /** Body text replacing the JSON altogether. */
  rawText?: string;
  /** Declared body bytes beyond those sent; the client then half-closes (it gave up, and says so). */
  missingBytes?: number;
}

const WRONG_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  '',
  'x',
  '💥',
  'NaN',
  '-0',
  '1e999',
  [],
  [null],
  [1, 'a', {}],
  {},
  { unexpected: 1 },
  { text: 1 },
  '\u0000',
  'a'.repeat(5000),
];

/** Every path to a value inside `v` (object keys and array indices). */
function pathsOf(v: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = [], depth = 0): Array<Array<string | number>> {
  if (depth > 12 || v === null || typeof v !== 'object') return out;
  for (const [k, child] of Array.isArray(v) ? v.map((c, i) => [i, c] as const) : Object.entries(v)) {
    const p = [...prefix, k];
    out.push(p);
    pathsOf(child, p, out, depth + 1);
  }
  return out;
}

function setAt(root: unknown, path: ReadonlyArray<string | number>, value: unknown): void {
  let node = root as Record<string | number, unknown>;
  for (const seg of path.slice(0, -1)) node = node[seg] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = value;
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** A random object or array node in `v` (the root included), to hang new content on. */
function randomContainer(rng: Rng, v: unknown): Record<string | number, unknown> | unknown[] | undefined {
  const containers = [[] as Array<string | number>, ...pathsOf(v)].filter((p) => {
    let node = v as Record<string | number, unknown>;
    for (const seg of p) node = node[seg] as Record<string | number, unknown>;
    return node !== null && typeof node === 'object';
  });
  if (containers.length === 0) return undefined;
  let node = v as Record<string | number, unknown>;
  for (const seg of rng.pick(containers)) node = node[seg] as Record<string | number, unknown>;
  return node;
}

function attach(rng: Rng, d: Draft, value: unknown, key = rng.pick(['extra', 'contents', 'parts', 'response_schema', 'args', 'labels', 'file', 'x'])): void {
  if (d.json === undefined || d.json === null || typeof d.json !== 'object') {
    d.json = { [key]: value };
    return;
  }
  const node = randomContainer(rng, d.json);
  if (Array.isArray(node)) node.push(value);
  else if (node) node[key] = value;
}

/** Places deliberately deep nesting where the schema validators and key normaliser will see it. */
const DEEP_SPOTS: ReadonlyArray<(marker: string) => Record<string, unknown>> = [
  (m) => ({ contents: m }),
  (m) => ({ contents: [{ parts: m }] }),
  (m) => ({ contents: [{ parts: [{ text: 'x' }, { functionCall: { name: 'f', args: m } }] }] }),
  (m) => ({ contents: [{ parts: [{ text: 'x' }] }], generationConfig: { responseMimeType: 'application/json', responseSchema: m } }),
  (m) => ({ contents: [{ parts: [{ text: 'x' }] }], generationConfig: { responseMimeType: 'application/json', responseJsonSchema: m } }),
  (m) => ({ contents: [{ parts: [{ text: 'x' }] }], tools: m }),
  (m) => ({ contents: [{ parts: [{ text: 'x' }] }], unknownField: m }),
  (m) => ({ file: m }),
  (m) => ({ file: { displayName: 'x', extra: m } }),
  (m) => ({ generateContentRequest: { contents: m } }),
  (m) => ({ labels: m }),
];

function deepText(rng: Rng, depth: number): string {
  switch (rng.int(5)) {
    case 0:
      return '['.repeat(depth) + ']'.repeat(depth);
    case 1:
      return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    case 2:
      // The shape a recursive Schema walker follows: items inside items.
      return '{"type":"ARRAY","items":'.repeat(depth) + '{"type":"STRING"}' + '}'.repeat(depth);
    case 3:
      return '{"type":"OBJECT","properties":{"p":'.repeat(depth) + '{"type":"STRING"}' + '}}'.repeat(depth);
    default:
      // Unbalanced: the parser must fail cleanly, not overflow.
      return '['.repeat(depth);
  }
}

function setQuery(d: Draft, name: string, value: string): void {
  d.query = [...d.query.filter(([n]) => n !== name), [name, value]];
}

const MUTATIONS: Record<Exclude<MutationName, 'none'>, (rng: Rng, d: Draft, key: string) => void> = {
  wrongMethod(rng, d) {
    d.method = rng.pick(['GET', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'POST', 'TRACE', 'PROPFIND', 'get', 'FOO', 'CONNECT'].filter((m) => m !== d.method));
    if (d.method === 'CONNECT') {
      // CONNECT takes an authority, not a path.
      d.path = '127.0.0.1:1';
      d.query = [];
    }
  },
  badJson(rng, d) {
    const valid = JSON.stringify(d.json ?? { a: 1 });
    const choices = [
      () => valid.slice(0, rng.int(Math.max(1, valid.length))),
      () => valid + rng.pick(['}', ']', ',', 'x', '{}', '\u0000']),
      () => valid.replace(/"/g, "'"),
      () => valid.replace(/:/, '::'),
      () => rng.pick(['null', 'true', '0', '-1', '"text"', '[]', '[{}]', '1e999', 'NaN', 'Infinity', 'undefined']),
      () => rng.pick(['{', '}', '[', '{"a"', '{"a":}', '{,}', '{"a":1,,}', "{'a':'b", '{"a":"\\x41"}', '{"a":"\\u12"}', '{"a":"\\ud800"}', '{"a":01}', '{"a":.5}', '{a:1}', '/* c */{}', '{"a":1}//']),
      () => `\uFEFF${valid}`,
      () => valid.replace(/,/g, ',\n'),
      () => `${valid}${valid}`,
      () => Buffer.from(valid).toString('base64'),
      () => Array.from({ length: rng.range(1, 200) }, () => String.fromCharCode(rng.int(0x250))).join(''),
      () => `{"contents":${'"'.repeat(rng.range(1, 9))}}`,
      () => `{"a":"${'\\'.repeat(rng.range(1, 5))}"}`,
    ];
    d.rawText = rng.pick(choices)();
    if (d.method === 'GET' || d.method === 'DELETE') d.headers = [...d.headers, ['content-type', 'application/json']];
  },
  wrongType(rng, d) {
    if (d.json === undefined) {
      d.json = clone(rng.pick(WRONG_VALUES));
      return;
    }
    const paths = pathsOf(d.json);
    const value = clone(rng.pick(WRONG_VALUES));
    if (paths.length === 0) d.json = value;
    else setAt(d.json, rng.pick(paths), value);
  },
  deepNesting(rng, d) {
    // Past the 100 levels Gemini's parser takes, up to far past a recursive walker's stack.
    const depth = rng.pick([101, 128, 500, 1000, 2000, 5000]);
    const marker = '"__DEEP__"';
    d.splices.set(marker, rng.chance(0.05) ? '['.repeat(100_000) + ']'.repeat(100_000) : deepText(rng, depth));
    if (d.json === undefined || rng.chance(0.5)) d.json = rng.pick(DEEP_SPOTS)('__DEEP__');
    else attach(rng, d, '__DEEP__');
    if (d.bytes && rng.chance(0.5)) d.bytes = undefined;
  },
  hugeWidth(rng, d) {
    const n = rng.pick([500, 1000, 5000]);
    const wide = rng.chance(0.5)
      ? Array.from({ length: n }, (_, i) => (rng.chance(0.5) ? i : { text: 'a' }))
      : Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    if (d.json && typeof d.json === 'object' && rng.chance(0.4)) {
      const contents = (d.json as Record<string, unknown>).contents;
      if (Array.isArray(contents)) {
        // Many small parts: wide but each one individually fine.
        (d.json as Record<string, unknown>).contents = [{ parts: Array.from({ length: Math.min(n, 1000) }, () => ({ text: 'hi' })) }];
        return;
      }
    }
    attach(rng, d, wide);
  },
  badBase64(rng, d) {
    const data = rng.pick([
      '',
      '====',
      'not base64!',
      PNG_1X1.slice(0, rng.range(1, PNG_1X1.length - 1)),
      PNG_1X1.replace(/\+/g, '-').replace(/\//g, '_'),
      `data:image/png;base64,${PNG_1X1}`,
      `${PNG_1X1.slice(0, 20)}\n${PNG_1X1.slice(20)}`,
      `${PNG_1X1}${PNG_1X1}`,
      Buffer.from('GIF89a garbage that is not really an image').toString('base64'),
      pngHeaderClaiming(rng.pick([1, 50_000, 100_000, 0x7fffffff]), rng.pick([1, 50_000, 100_000])).toString('base64'),
      Buffer.from(Array.from({ length: rng.range(1, 3000) }, () => rng.int(256))).toString('base64'),
      'A'.repeat(rng.range(1, 5000)),
      '\u00e9\u00e9\u00e9\u00e9',
    ]);
    if (d.bytes) {
      d.bytes = Buffer.from(data, 'latin1');
      return;
    }
    attach(rng, d, { inlineData: { mimeType: rng.pick(['image/png', 'image/jpeg', 'image/webp']), data } }, 'inlineData');
    const contents = (d.json as Record<string, unknown> | undefined)?.contents;
    if (Array.isArray(contents)) contents.push({ parts: [{ inlineData: { mimeType: 'image/png', data } }] });
  },
  wrongMime(rng, d) {
    const mime = rng.pick(['text/plain', 'image/x-foo', '', 'image', 'image/', '/png', 'image/png; charset=utf-8', 'IMAGE/PNG', 'application/pdf', 'video/mp4', 'audio/wav', 'x'.repeat(3000), 'image/png\u0000', '*/*']);
    if (d.bytes) {
      d.headers = [...d.headers.filter(([n]) => n.toLowerCase() !== 'content-type'), ['content-type', mime.replace(/\u0000/g, '')], ['x-goog-upload-header-content-type', mime.replace(/\u0000/g, '')]];
      return;
    }
    const contents = (d.json as Record<string, unknown> | undefined)?.contents;
    if (Array.isArray(contents)) contents.push({ parts: [{ inlineData: { mimeType: mime, data: PNG_1X1 } }, { fileData: { mimeType: mime, fileUri: 'files/{FILE}' } }] });
    else attach(rng, d, mime, rng.pick(['mimeType', 'mime_type', 'responseMimeType']));
  },
  badKeys(rng, d) {
    const key = rng.pick(['__proto__', 'constructor', 'prototype', '', ' ', 'unknownField', 'inline_data', 'inlineData', 'generation_config', 'x'.repeat(10_000), 'ключ', '🔑', 'a.b', 'a[0]', 'toString', 'hasOwnProperty', '$ref', 'file_uri', 'DISPLAY_NAME', 'display__name', '_', '__', 'a_']);
    if (d.json === undefined || d.json === null || typeof d.json !== 'object') d.json = {};
    if (key === '__proto__') {
      // JSON.stringify drops a literal __proto__ key, so it is spliced in as text.
      d.splices.set('"__PROTO__"', '{"__proto__":{"polluted":true,"contents":[]}}');
      attach(rng, d, '__PROTO__');
      return;
    }
    attach(rng, d, clone(rng.pick(WRONG_VALUES)), key);
  },
  badQuery(rng, d) {
    const choices: Array<[string, string]> = [
      ['alt', rng.pick(['sse', 'json', 'media', 'proto', '', 'SSE', 'sse,json'])],
      ['key', rng.pick(['', 'wrong', 'a'.repeat(3000), '%00'])],
      ['pageSize', rng.pick(['-1', '0', '1e309', 'abc', '3.5', '99999999999999999999', ''])],
      ['page_size', rng.pick(['-5', 'x'])],
      ['pageToken', rng.pick(['garbage', '', '%', 'eyJ4IjoxfQ', 'A'.repeat(2000)])],
      ['upload_id', rng.pick(['', 'x', '{UPLOAD}', '%2e%2e%2f'])],
      ['uploadType', rng.pick(['resumable', 'multipart', 'media', 'nope', ''])],
      ['upload_protocol', rng.pick(['raw', 'resumable', ''])],
      ['a[b]', 'c'],
      ['$fields', 'x'],
      ['', ''],
      ['%zz', '%zz'],
    ];
    for (let i = rng.range(1, 3); i > 0; i--) {
      const [n, v] = rng.pick(choices);
      if (rng.chance(0.3)) d.query = [...d.query, [n, v]];
      else setQuery(d, n, v);
    }
    if (rng.chance(0.2)) d.query = [...d.query, ...Array.from({ length: rng.range(50, 500) }, (_, i): [string, string] => [`p${i}`, 'v'])];
  },
  percentEncoding(rng, d) {
    const bad = rng.pick(['%', '%z', '%zz', '%FF', '%C0%AF', '%00', '%2F', '%252F', '%E0%A4%A', '%u0041', '%%', '%2e%2e', '%0A', '%20', '%3A', '%ED%A0%80']);
    if (d.pathSlot && rng.chance(0.7)) {
      const s = d.pathSlot;
      const at = rng.int(s.value.length + 1);
      d.path = `${s.prefix}${s.value.slice(0, at)}${bad}${s.value.slice(at)}${s.suffix}`;
    } else {
      const segs = d.path.split('/');
      const i = rng.range(1, segs.length - 1);
      segs[i] = `${segs[i]}${bad}`;
      d.path = segs.join('/');
    }
  },
  longName(rng, d) {
    const len = rng.pick([257, 513, 600, 1000, 5000, 9000]);
    const name = rng.pick(['a', 'gemini-', '%41', '-', ':', 'é']).repeat(len);
    if (d.pathSlot) d.path = `${d.pathSlot.prefix}${name}${d.pathSlot.suffix}`;
    else d.path = `${d.path}/${name}`;
  },
  nonAscii(rng, d) {
    const text = rng.pick(['é', 'ü', '模型', '🙂', '\u202e', '\u00a0', 'ﬁ', 'Ω', '\u0301']);
    if (d.pathSlot && rng.chance(0.6)) d.path = `${d.pathSlot.prefix}${d.pathSlot.value}${text}${d.pathSlot.suffix}`;
    else if (rng.chance(0.5)) d.path = `${d.path}${text}`;
    else d.query = [...d.query, [text, text]];
  },
  oddHeaders(rng, d) {
    const choices: Array<() => void> = [
      () => d.headers.push(['x-big', 'a'.repeat(rng.pick([9000, 17_000, 20_000, 40_000]))]),
      () => d.headers.push(...Array.from({ length: rng.range(100, 2500) }, (_, i): [string, string] => [`x-h${i}`, 'v'])),
      () => d.headers.push(['content-length', rng.pick(['abc', '-1', '1.5', '99999999999999999999', ' 5', '0x10'])]),
      () => d.headers.push(['content-length', '1'], ['content-length', '2']),
      () => d.headers.push(['transfer-encoding', 'chunked'], ['content-length', '5']),
      () => d.headers.push(['transfer-encoding', rng.pick(['gzip', 'identity', 'chunked, gzip', 'xchunked'])]),
      () => d.headers.push(['content-encoding', rng.pick(['gzip', 'br', 'deflate', 'nope'])]),
      () => d.headers.push(['expect', rng.pick(['100-continue', 'something-else'])]),
      () => d.headers.push(['content-type', rng.pick(['', ';', 'application/json; charset=ebcdic', 'multipart/form-data', 'multipart/related; boundary=', 'a/b/c', 'x'.repeat(2000)])]),
      () => d.headers.push(['accept', rng.pick(['text/event-stream', '*/*;q=x', 'application/xml', ''])]),
      () => d.headers.push(['x-request-id', rng.pick(['', 'a'.repeat(500), '../x', 'id with spaces'])]),
      () => d.headers.push(['x-forwarded-host', rng.pick(['evil.example', '', 'a b', '[::1', ':::', 'x'.repeat(300)])], ['x-forwarded-proto', rng.pick(['https', 'gopher', '', '%'])]),
      () => d.headers.push(['origin', rng.pick(['http://evil.example', 'null', '', 'not a url'])]),
      () => d.headers.push(['host', rng.pick(['', 'evil.example', '[::1]:99999', 'a b', 'x'.repeat(300), '127.0.0.1:0'])]),
      () => d.headers.push(['x-bad name', 'v']),
      () => d.headers.push(['x-ctl', 'a\u0001b']),
      () => d.headers.push(['x-latin1', 'caf\u00e9']),
      () => d.headers.push(['x-folded', 'a\r\n folded']),
      () => d.headers.push(['range', 'bytes=0-1']),
      () => d.headers.push(['connection', rng.pick(['close', 'upgrade', 'keep-alive, upgrade'])], ['upgrade', 'websocket']),
    ];
    rng.pick(choices)();
  },
  truncatedBody(rng, d) {
    const body = draftBody(d);
    if (!body || body.length < 2) {
      d.rawText = rng.pick(['{', '[', '{"contents":[{"parts":[{"text":"x"']);
      return;
    }
    const cut = rng.range(1, body.length - 1);
    d.bytes = body.subarray(0, cut);
    d.json = undefined;
    d.rawText = undefined;
    d.splices.clear();
  },
  badAuth(rng, d) {
    d.headers = d.headers.filter(([n]) => n.toLowerCase() !== 'x-goog-api-key');
    rng.pick<() => void>([
      () => undefined,
      () => d.headers.push(['x-goog-api-key', rng.pick(['', 'wrong', 'a'.repeat(3000), 'fuzz-key '])]),
      () => d.headers.push(['authorization', rng.pick(['Bearer', 'Bearer x', 'Basic Zm9vOmJhcg==', 'Bearer ' + 'a'.repeat(2000), ''])]),
      () => setQuery(d, 'key', rng.pick(['', 'wrong', 'fuzz-key'])),
      () => d.headers.push(['x-goog-api-key', 'wrong'], ['x-goog-api-key', 'fuzz-key']),
    ])();
  },
  badMultipart(rng, d) {
    const b = 'fuzzboundary';
    const meta = rng.pick(['{"file":{"display_name":"x"}}', '{"file":', '', 'null', '[]', '{"file":{"unknown":1}}', `{"file":${'['.repeat(500)}${']'.repeat(500)}}`, 'display_name=x']);
    const png = PNG_BYTES;
    const variants: Array<() => Buffer> = [
      () => multipartBody('otherboundary', meta, png),
      () => multipartBody(b, meta, png).subarray(0, rng.range(1, 60)),
      () => Buffer.from(`--${b}\r\nContent-Type: application/json\r\n\r\n${meta}\r\n--${b}--\r\n`),
      () => Buffer.concat([Buffer.from(`--${b}\r\nContent-Type: image/png\r\n\r\n`), png, Buffer.from(`\r\n--${b}--\r\n`)]),
      () => Buffer.concat([multipartBody(b, meta, png).subarray(0, -4), Buffer.from(`\r\n--${b}\r\nContent-Type: image/png\r\n\r\n`), png, Buffer.from(`\r\n--${b}--\r\n`)]),
      () => Buffer.from(`--${b}\r\nno colon here\r\n\r\n${meta}\r\n--${b}--\r\n`),
      () => Buffer.concat([Buffer.from('x'.repeat(rng.range(1, 50_000))), multipartBody(b, meta, png)]),
      () => multipartBody(b, meta, png).subarray(0, -2),
      () => Buffer.from(`--${b}--\r\n`),
      () => Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${meta}\r\n--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n${png.toString('latin1')}\r\n--${b}--\r\n`, 'latin1'),
    ];
    d.bytes = rng.pick(variants)();
    if (rng.chance(0.3))
      d.headers = [
        ...d.headers.filter(([n]) => n.toLowerCase() !== 'content-type'),
        ['content-type', rng.pick([`multipart/form-data; boundary=${b}`, `multipart/related; boundary="${b}"`, 'multipart/related', `multipart/related; boundary=${'b'.repeat(200)}`, 'multipart/mixed; boundary=x'])],
      ];
  },
  shortBody(rng, d) {
    // A body that ends before its Content-Length, the connection half-closed: the parser
    // sees the end of the stream mid-body. (A body that merely stalls is the timeouts'
    // test, test/server/timeouts.test.ts: here it would cost the idle timeout per case.)
    d.missingBytes = rng.pick([1, 10, 1000, 1_000_000]);
    if (draftBody(d) === undefined) d.rawText = '{"contents":[';
  },
  uploadHeaders(rng, d) {
    const name = rng.pick([
      'x-goog-upload-command',
      'x-goog-upload-offset',
      'x-goog-upload-protocol',
      'x-goog-upload-header-content-length',
      'x-goog-upload-header-content-type',
      'x-goog-upload-content-type',
    ]);
    const value = rng.pick(['', 'start', 'upload', 'finalize', 'upload, finalize', 'query', 'cancel', 'upload,upload', 'START', 'bogus', '-1', '1e3', '99999999999999999', '67', '16', '9007199254740993', 'resumable', 'multipart', 'raw', 'image/png', 'x'.repeat(1000)]);
    d.headers = [...d.headers.filter(([n]) => n.toLowerCase() !== name), [name, value]];
  },
};

/** Which mutations make sense for an endpoint (all of them do for most). */
function mutationsFor(endpoint: EndpointName): ReadonlyArray<Exclude<MutationName, 'none'>> {
  const all = (Object.keys(MUTATIONS) as Array<Exclude<MutationName, 'none'>>).filter((m) => m !== 'badMultipart' || endpoint === 'uploadMultipart');
  if (endpoint === 'healthz' || endpoint === 'root') return all.filter((m) => m !== 'badBase64' && m !== 'uploadHeaders' && m !== 'badAuth');
  return all;
}

function draftBody(d: Draft): Buffer | undefined {
  if (d.rawText !== undefined) return Buffer.from(d.rawText, 'utf8');
  if (d.json !== undefined) {
    let text = JSON.stringify(d.json);
    for (const [marker, raw] of d.splices) text = text.split(marker).join(raw);
    return Buffer.from(text, 'utf8');
  }
  return d.bytes;
}

function buildTarget(d: Draft): string {
  if (d.query.length === 0) return d.path;
  const enc = (s: string) => (/^[\w.~%{}[\]$-]*$/.test(s) ? s : encodeURIComponent(s));
  return `${d.path}?${d.query.map(([n, v]) => `${enc(n)}=${enc(v)}`).join('&')}`;
}

// ---------------------------------------------------------------- cases

export interface FuzzCase {
  id: number;
  endpoint: EndpointName;
  mutations: MutationName[];
  request: RawRequest;
  /** The path asks for a method the server answers with 501 UNIMPLEMENTED on purpose. */
  outOfScope: boolean;
}

export interface GenerateOptions {
  /** The key the fuzzed server accepts (most cases send it, so they reach the handlers). */
  apiKey: string;
}

/**
 * `count` cases from `seed`. Endpoints are taken in turn (so every endpoint gets its share
 * whatever the count), each with one mutation, sometimes two, sometimes none.
 */
export function* fuzzCases(seed: number, count: number, opts: GenerateOptions): Generator<FuzzCase> {
  const rng = createRng(seed);
  for (let id = 0; id < count; id++) {
    const endpoint = ENDPOINTS[id % ENDPOINTS.length]!;
    const base = baseFor(endpoint, rng, opts.apiKey);
    const d: Draft = { ...base, json: clone(base.json), headers: [...base.headers], query: [...base.query], splices: new Map() };
    const applicable = mutationsFor(endpoint);
    const mutations: MutationName[] = [];
    const n = rng.chance(0.04) ? 0 : rng.chance(0.25) ? 2 : 1;
    for (let i = 0; i < n; i++) {
      const m = rng.pick(applicable);
      MUTATIONS[m](rng, d, opts.apiKey);
      mutations.push(m);
    }
    if (mutations.length === 0) mutations.push('none');
    // A method name Gemini has and Ocellus deliberately leaves out, now and then.
    let outOfScope = false;
    if (d.pathSlot && d.path.includes(':generateContent') && rng.chance(0.01)) {
      d.path = d.path.replace(':generateContent', `:${rng.pick(OUT_OF_SCOPE_METHODS)}`);
      outOfScope = true;
    }
    const body = draftBody(d);
    const request: RawRequest = { method: d.method, target: buildTarget(d), headers: d.headers, ...(body ? { body } : {}) };
    if (d.missingBytes !== undefined) {
      request.headers = [...request.headers.filter(([n]) => n.toLowerCase() !== 'content-length'), ['content-length', String((body?.length ?? 0) + d.missingBytes)]];
      request.halfClose = true;
    }
    yield { id, endpoint, mutations, request, outOfScope };
  }
}

/** All of `fuzzCases` at once (tests of the generator; the runner takes them one by one). */
export const generateCases = (seed: number, count: number, opts: GenerateOptions): FuzzCase[] => [...fuzzCases(seed, count, opts)];
