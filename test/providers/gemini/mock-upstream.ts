/**
 * A stand-in for upstream Gemini on 127.0.0.1 that follows the documented protocol
 * (Gemini's REST reference): `:streamGenerateContent?alt=sse` with
 * `data: {json}\r\n\r\n` events (the last with finishReason and usageMetadata),
 * `:generateContent`, the resumable upload (start → X-Goog-Upload-URL → `upload, finalize`
 * → `X-Goog-Upload-Status: final` and `{file}`), files.get, models.list, and Gemini's error
 * envelopes. It checks the x-goog-api-key and answers from what it received (images and
 * their sizes, the file URIs it knows, the prompt), so a test that forwards the wrong thing
 * fails. `fail` switches on one failure mode.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FailMode =
  | { kind: 'rate-limit'; retryAfter?: string; retryDelay?: string }
  | { kind: 'server-error' }
  | { kind: 'bad-request'; message: string }
  | { kind: 'forbidden'; message: string }
  | { kind: 'slow'; ms: number }
  | { kind: 'stall' }
  | { kind: 'drop' }
  | { kind: 'error-event' }
  | { kind: 'truncated' }
  | { kind: 'blocked' }
  | { kind: 'upload-slow-start'; ms: number };

export interface MockFile {
  name: string;
  uri: string;
  mimeType: string;
  sizeBytes: number;
  sha256: string;
  expirationTime: string;
  state: 'PROCESSING' | 'ACTIVE';
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface MockUpstream {
  url: string;
  /** Key it accepts; anything else gets Gemini's 400 API_KEY_INVALID. */
  apiKey: string;
  fail: FailMode | undefined;
  /** Files uploaded to it, by name (`files/x`). */
  files: Map<string, MockFile>;
  /** Finished uploads (finalize requests that created a file). */
  uploads: number;
  /** Upload start requests. */
  uploadStarts: number;
  /** generate requests (stream or not), with their bodies. */
  generateRequests: ReceivedRequest[];
  /** Lifetime given to new files; default 48 h. */
  fileTtlMs: number;
  /** New files start PROCESSING for this many GET polls (0: ACTIVE at once). */
  processingPolls: number;
  close(): Promise<void>;
}

interface Part {
  text?: string;
  thought?: boolean;
  inlineData?: { mimeType?: string; data: string };
  fileData?: { mimeType?: string; fileUri: string };
}
interface Body {
  contents?: Array<{ role?: string; parts?: Part[] }>;
  systemInstruction?: { parts?: Part[] };
  generationConfig?: Record<string, unknown>;
  safetySettings?: unknown[];
}

const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
};

const envelope = (code: number, status: string, message: string, details: unknown[] = []) => ({ error: { code, message, status, details } });

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export async function startMockUpstream(opts: { apiKey?: string } = {}): Promise<MockUpstream> {
  const sessions = new Map<string, { size: number; mimeType: string; displayName?: string }>();
  const sockets = new Set<import('node:net').Socket>();
  let base = '';
  const polls = new Map<string, number>();

  const mock: MockUpstream = {
    url: '',
    apiKey: opts.apiKey ?? 'operator-key',
    fail: undefined,
    files: new Map(),
    uploads: 0,
    uploadStarts: 0,
    generateRequests: [],
    fileTtlMs: 48 * 3600_000,
    processingPolls: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };

  /** What the "model" says: facts about what it was sent, so tests can check the forwarding. */
  function answerOf(model: string, body: Body): { pieces: string[]; prompt: number; images: number } | { error: [number, string, string] } {
    const parts = (body.contents ?? []).flatMap((c) => c.parts ?? []);
    const sizes: number[] = [];
    const files: string[] = [];
    for (const p of parts) {
      if (p.inlineData) sizes.push(Buffer.from(p.inlineData.data, 'base64').length);
      if (p.fileData) {
        const name = 'files/' + (p.fileData.fileUri.split('/files/')[1] ?? '');
        const f = p.fileData.fileUri.startsWith(base) ? mock.files.get(name) : undefined;
        if (!f || Date.parse(f.expirationTime) < Date.now())
          return { error: [403, 'PERMISSION_DENIED', `You do not have permission to access the File ${name.slice(6)} or it may not exist.`] };
        if (!p.fileData.mimeType) return { error: [400, 'INVALID_ARGUMENT', 'fileData.mimeType is required.'] };
        files.push(`${name}(${f.sizeBytes}B ${p.fileData.mimeType})`);
        sizes.push(f.sizeBytes);
      }
    }
    const prompt = parts.filter((p) => p.text !== undefined && !p.thought).map((p) => p.text).join(' ');
    const system = (body.systemInstruction?.parts ?? []).map((p) => p.text ?? '').join(' ');
    const config = body.generationConfig ? ` config=${JSON.stringify(body.generationConfig)}` : '';
    const text = `model=${model} images=${sizes.length} sizes=${sizes.join(',')} files=${files.join(',') || 'none'} system=${system || 'none'}${config} prompt=${prompt}`;
    // Three deltas, split on word boundaries, as the real stream sends them.
    const words = text.split(' ');
    const third = Math.ceil(words.length / 3);
    const pieces = [0, 1, 2].map((i) => words.slice(i * third, (i + 1) * third).join(' ') + (i < 2 ? ' ' : '')).filter((p) => p.trim() !== '');
    return { pieces, prompt: 10 + sizes.length * 258, images: sizes.length };
  }

  function checkKey(req: IncomingMessage, res: ServerResponse): boolean {
    const key = req.headers['x-goog-api-key'];
    if (key === undefined) {
      sendJson(res, 403, envelope(403, 'PERMISSION_DENIED', "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."));
      return false;
    }
    if (key !== mock.apiKey) {
      sendJson(
        res,
        400,
        envelope(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
        ]),
      );
      return false;
    }
    return true;
  }

  const fileResource = (f: MockFile) => ({
    name: f.name,
    mimeType: f.mimeType,
    sizeBytes: String(f.sizeBytes),
    createTime: new Date().toISOString(),
    expirationTime: f.expirationTime,
    sha256Hash: f.sha256,
    uri: f.uri,
    state: f.state,
    source: 'UPLOADED',
  });

  async function generate(req: IncomingMessage, res: ServerResponse, model: string, stream: boolean) {
    const raw = await readBody(req);
    if (!checkKey(req, res)) return;
    const body = JSON.parse(raw.toString('utf8')) as Body;
    mock.generateRequests.push({ method: req.method!, path: req.url!, headers: req.headers, body });
    const fail = mock.fail;
    if (fail?.kind === 'rate-limit') {
      const details = fail.retryDelay ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: fail.retryDelay }] : [];
      return sendJson(res, 429, envelope(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan and billing details.', details), fail.retryAfter ? { 'retry-after': fail.retryAfter } : {});
    }
    if (fail?.kind === 'server-error') return sendJson(res, 500, envelope(500, 'INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting'));
    if (fail?.kind === 'bad-request') return sendJson(res, 400, envelope(400, 'INVALID_ARGUMENT', fail.message));
    if (fail?.kind === 'forbidden') return sendJson(res, 403, envelope(403, 'PERMISSION_DENIED', fail.message));
    if (fail?.kind === 'slow') await new Promise((r) => setTimeout(r, fail.ms));
    const answer = answerOf(model, body);
    if ('error' in answer) return sendJson(res, answer.error[0], envelope(...answer.error));
    const usage = (n: number) => ({ promptTokenCount: answer.prompt, candidatesTokenCount: n, totalTokenCount: answer.prompt + n + 7, thoughtsTokenCount: 7, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 10 }] });
    const responseId = randomBytes(8).toString('hex');
    const chunkOf = (i: number) => ({
      candidates: [
        {
          content: { parts: [...(i === 0 ? [{ text: 'Let me think about the image.', thought: true }] : []), { text: answer.pieces[i] }], role: 'model' },
          ...(i === answer.pieces.length - 1 ? { finishReason: body.generationConfig?.maxOutputTokens === 3 ? 'MAX_TOKENS' : 'STOP' } : {}),
          index: 0,
        },
      ],
      usageMetadata: usage((i + 1) * 5),
      modelVersion: model,
      responseId,
    });
    if (!stream) {
      const c = chunkOf(answer.pieces.length - 1);
      c.candidates[0]!.content.parts = [{ text: answer.pieces.join('') }];
      return sendJson(res, 200, c);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (obj: unknown) => res.write(`data: ${JSON.stringify(obj)}\r\n\r\n`);
    if (fail?.kind === 'blocked') {
      send({ promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, usageMetadata: { promptTokenCount: answer.prompt, totalTokenCount: answer.prompt }, modelVersion: model, responseId });
      return res.end();
    }
    for (let i = 0; i < answer.pieces.length; i++) {
      send(chunkOf(i));
      if (i === 0 && fail?.kind === 'stall') return; // headers and one chunk, then silence
      if (i === 0 && fail?.kind === 'drop') return void setTimeout(() => req.socket.destroy(), 20);
      if (i === 0 && fail?.kind === 'error-event') {
        send(envelope(500, 'INTERNAL', 'boom mid-stream'));
        return res.end();
      }
      if (i === 0 && fail?.kind === 'truncated') return res.end();
      await new Promise((r) => setTimeout(r, 15)); // deltas arrive over time, not in one packet
    }
    res.end();
  }

  async function upload(req: IncomingMessage, res: ServerResponse, url: URL, version: string) {
    const command = String(req.headers['x-goog-upload-command'] ?? '');
    const raw = await readBody(req);
    if (!checkKey(req, res)) return;
    if (command === 'start') {
      if (req.headers['x-goog-upload-protocol'] !== 'resumable') return sendJson(res, 400, envelope(400, 'INVALID_ARGUMENT', 'Expected X-Goog-Upload-Protocol: resumable'));
      const size = Number(req.headers['x-goog-upload-header-content-length']);
      const mimeType = String(req.headers['x-goog-upload-header-content-type'] ?? '');
      if (!Number.isSafeInteger(size) || !mimeType) return sendJson(res, 400, envelope(400, 'INVALID_ARGUMENT', 'Missing X-Goog-Upload-Header-Content-Length / -Content-Type'));
      const meta = raw.length ? (JSON.parse(raw.toString('utf8')) as { file?: { displayName?: string } }) : {};
      if (mock.fail?.kind === 'upload-slow-start') await new Promise((r) => setTimeout(r, (mock.fail as { ms: number }).ms));
      mock.uploadStarts++;
      const id = randomBytes(8).toString('hex');
      sessions.set(id, { size, mimeType, ...(meta.file?.displayName ? { displayName: meta.file.displayName } : {}) });
      res.writeHead(200, {
        'x-goog-upload-status': 'active',
        // A host the client cannot reach: the client must keep the upstream's origin (as the JS SDK does).
        'x-goog-upload-url': `http://upload.example.invalid:9/upload/${version}/files?upload_id=${id}&upload_protocol=resumable`,
        'x-goog-upload-chunk-granularity': '8388608',
      });
      return res.end();
    }
    const session = sessions.get(url.searchParams.get('upload_id') ?? '');
    if (!session) return sendJson(res, 404, envelope(404, 'NOT_FOUND', 'Upload session not found'));
    if (command !== 'upload, finalize' || req.headers['x-goog-upload-offset'] !== '0')
      return sendJson(res, 400, envelope(400, 'INVALID_ARGUMENT', `unexpected command ${command} at ${String(req.headers['x-goog-upload-offset'])}`));
    if (raw.length !== session.size) return sendJson(res, 400, envelope(400, 'INVALID_ARGUMENT', `got ${raw.length} bytes, declared ${session.size}`));
    const id = randomBytes(6).toString('hex');
    const f: MockFile = {
      name: `files/${id}`,
      uri: `${base}/${version}/files/${id}`,
      mimeType: session.mimeType,
      sizeBytes: raw.length,
      sha256: createHash('sha256').update(raw).digest('base64'),
      expirationTime: new Date(Date.now() + mock.fileTtlMs).toISOString(),
      state: mock.processingPolls > 0 ? 'PROCESSING' : 'ACTIVE',
    };
    if (mock.processingPolls > 0) polls.set(f.name, mock.processingPolls);
    mock.files.set(f.name, f);
    mock.uploads++;
    sendJson(res, 200, { file: fileResource(f) }, { 'x-goog-upload-status': 'final' });
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const fail = (err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, envelope(500, 'INTERNAL', String(err)));
      else res.destroy();
    };
    let m: RegExpExecArray | null;
    if (req.method === 'POST' && (m = /^\/(v1beta|v1)\/models\/([^/:]+):(streamGenerateContent|generateContent)$/.exec(url.pathname))) {
      if (m[3] === 'streamGenerateContent' && url.searchParams.get('alt') !== 'sse') return sendJson(res, 400, envelope(400, 'INVALID_ARGUMENT', 'this mock streams with alt=sse only'));
      return void generate(req, res, m[2]!, m[3] === 'streamGenerateContent').catch(fail);
    }
    if (req.method === 'POST' && (m = /^\/upload\/(v1beta|v1)\/files$/.exec(url.pathname))) return void upload(req, res, url, m[1]!).catch(fail);
    if (req.method === 'GET' && (m = /^\/(v1beta|v1)\/files\/([^/]+)$/.exec(url.pathname))) {
      if (!checkKey(req, res)) return;
      const f = mock.files.get(`files/${m[2]}`);
      if (!f) return sendJson(res, 403, envelope(403, 'PERMISSION_DENIED', `You do not have permission to access the File ${m[2]} or it may not exist.`));
      const left = polls.get(f.name) ?? 0;
      if (left > 0) polls.set(f.name, left - 1);
      else f.state = 'ACTIVE';
      return sendJson(res, 200, fileResource(f));
    }
    if (req.method === 'GET' && /^\/(v1beta|v1)\/models$/.test(url.pathname)) {
      if (!checkKey(req, res)) return;
      return sendJson(res, 200, { models: [{ name: 'models/gemini-2.5-flash', supportedGenerationMethods: ['generateContent'] }] });
    }
    sendJson(res, 404, envelope(404, 'NOT_FOUND', `no route ${req.method} ${url.pathname}`));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  mock.url = base;
  return mock;
}

export { closedPort } from '../../support/net.js';
