/**
 * A mock OpenAI-compatible vision server on 127.0.0.1 (node:http), following the documented
 * chat-completions protocol: `POST /v1/chat/completions` streaming (`data: {chunk}` events,
 * a usage chunk, `data: [DONE]`) or whole, and `GET /v1/models`. It checks what it receives
 * (the model name, the message roles, every image_url is a data URL that decodes to an
 * image) and answers *from* it: the sizes of the images it got, the prompt, boxes of known
 * objects in the convention of the model family its name says (Qwen2.5-VL: pixels of its own
 * smart_resize, written out here independently of src/), JSON filled from the image size.
 * `mode` switches it into the failures a real server has: error statuses, slow headers, a
 * stall or a dropped connection mid-stream, an error event mid-stream.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import sharp from 'sharp';

export type MockMode =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; body: unknown; headers?: Record<string, string> }
  /** Headers only after `delayMs`. */
  | { kind: 'slowHeaders'; delayMs: number }
  /** `pieces` content events, then silence with the connection open. */
  | { kind: 'stall'; pieces: number }
  /** `pieces` content events, then the socket is destroyed. */
  | { kind: 'drop'; pieces: number }
  /** `pieces` content events, then `data: {"error": error}`. */
  | { kind: 'errorEvent'; pieces: number; error: unknown };

export interface MockObject {
  label: string;
  /** Normalised [x0, y0, x1, y1] of the upright image: the truth the mock answers from. */
  box: [number, number, number, number];
}

export interface MockOptions {
  /** The one model it serves; other names get 404 as Ollama answers. */
  model: string;
  objects?: MockObject[];
  /** The server's smart_resize budget for Qwen2.5-VL answers (Ollama: 2 << 20; vLLM: 12845056). */
  maxPixels?: number;
  /** finish_reason of successful answers. */
  finishReason?: string;
  /** Pause between streamed content events. */
  pieceDelayMs?: number;
  /** Skip decoding the images (the gateway bench: the check would only add the same time to both sides). */
  checkImages?: boolean;
  /** The key it requires as `Authorization: Bearer …`, if any. */
  apiKey?: string;
  /**
   * Send a stream as one body with Content-Length instead of chunked (still SSE events):
   * the bench's load generator reads only sized bodies. Only without `pieceDelayMs`.
   */
  sizedStreams?: boolean;
  /** Answer one whole completion even when asked to stream (as some servers and proxies do). */
  ignoreStream?: boolean;
}

export interface ReceivedRequest {
  headers: IncomingMessage['headers'];
  body: {
    model: string;
    messages: Array<{ role: string; content: string | Array<{ type: string; text?: string; image_url?: { url: string } }> }>;
    stream?: boolean;
    stream_options?: { include_usage?: boolean };
    response_format?: { type: string; json_schema?: { name: string; schema: Record<string, unknown> } };
    [k: string]: unknown;
  };
  images: Array<{ width: number; height: number; format: string }>;
}

export interface MockOpenAi {
  /** `http://127.0.0.1:<port>`; the OpenAI base URL is this + `/v1`. */
  url: string;
  requests: ReceivedRequest[];
  mode: MockMode;
  options: MockOptions;
  close(): Promise<void>;
}

/** Qwen2.5-VL's smart_resize (factor 28, min 56²), as its processor runs it; Python rounding. */
function qwenInputSize(width: number, height: number, maxPixels: number): { width: number; height: number } {
  const f = 28;
  const pyRound = (x: number) => {
    const fl = Math.floor(x);
    const d = x - fl;
    return d > 0.5 || (d === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
  };
  let h = Math.max(f, pyRound(height / f) * f);
  let w = Math.max(f, pyRound(width / f) * f);
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(f, Math.floor(height / beta / f) * f);
    w = Math.max(f, Math.floor(width / beta / f) * f);
  } else if (h * w < 3136) {
    const beta = Math.sqrt(3136 / (height * width));
    h = Math.ceil((height * beta) / f) * f;
    w = Math.ceil((width * beta) / f) * f;
  }
  return { width: w, height: h };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

class BadRequest extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** The answer text for a request the mock accepted. */
function answerFor(received: ReceivedRequest, opts: MockOptions): string {
  const body = received.body;
  const last = [...body.messages].reverse().find((m) => m.role === 'user');
  const text = typeof last?.content === 'string' ? last.content : (last?.content ?? []).flatMap((p) => (p.type === 'text' ? [p.text ?? ''] : [])).join('\n');
  const image = received.images[0];
  const model = opts.model.toLowerCase();
  if (/bbox_2d|box_2d|<ref>|bounding box/.test(text)) {
    if (!image) throw new BadRequest('a grounding prompt without an image');
    const objects = opts.objects ?? [];
    if (/qwen2\.?5-?vl/.test(model)) {
      const input = qwenInputSize(image.width, image.height, opts.maxPixels ?? 12_845_056);
      const list = objects.map((o) => ({
        bbox_2d: [o.box[0] * input.width, o.box[1] * input.height, o.box[2] * input.width, o.box[3] * input.height].map(Math.round),
        label: o.label,
      }));
      return `\`\`\`json\n${JSON.stringify(list, null, 2)}\n\`\`\``;
    }
    const k = (v: number) => Math.round(v * 1000);
    if (/qwen3-?vl/.test(model)) return `\`\`\`json\n${JSON.stringify(objects.map((o) => ({ bbox_2d: o.box.map(k), label: o.label })))}\n\`\`\``;
    if (/internvl/.test(model)) return objects.map((o) => `<ref>${o.label}</ref><box>[[${o.box.map(k).join(', ')}]]</box>`).join('\n');
    return JSON.stringify(objects.map((o) => ({ box_2d: [k(o.box[1]), k(o.box[0]), k(o.box[3]), k(o.box[2])], label: o.label })));
  }
  const format = body.response_format;
  const size = { width: image?.width ?? 0, height: image?.height ?? 0 };
  if (format?.type === 'json_schema') {
    const schema = format.json_schema?.schema ?? {};
    if (Array.isArray(schema.enum)) return JSON.stringify(schema.enum.at(-1));
    return JSON.stringify(size);
  }
  // json_object: some servers (and models) still fence it.
  if (format?.type === 'json_object') return `\`\`\`json\n${JSON.stringify(size)}\n\`\`\``;
  const sizes = received.images.map((i) => `${i.width}x${i.height}`).join(', ');
  return `Saw ${received.images.length} image${received.images.length === 1 ? '' : 's'}: ${sizes || 'none'}. Prompt: "${text}".`;
}

/** The answer in pieces of a few words, as servers stream tokens. */
const piecesOf = (text: string): string[] => text.match(/\S+\s*|\s+/g) ?? [];

async function check(req: IncomingMessage, raw: Buffer, opts: MockOptions): Promise<ReceivedRequest> {
  if (opts.apiKey && req.headers.authorization !== `Bearer ${opts.apiKey}`) throw new BadRequest('Incorrect API key provided', 401);
  let body: ReceivedRequest['body'];
  try {
    body = JSON.parse(raw.toString('utf8')) as ReceivedRequest['body'];
  } catch {
    throw new BadRequest('We could not parse the JSON body of your request.');
  }
  if (body.model !== opts.model) throw new BadRequest(`model "${body.model}" not found, try pulling it first`, 404);
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw new BadRequest("'messages' is a required property");
  const images: ReceivedRequest['images'] = [];
  for (const [i, m] of body.messages.entries()) {
    if (!['system', 'user', 'assistant'].includes(m.role)) throw new BadRequest(`messages[${i}].role: invalid role ${m.role}`);
    if (typeof m.content === 'string') continue;
    if (!Array.isArray(m.content)) throw new BadRequest(`messages[${i}].content must be a string or a list of parts`);
    if (m.role !== 'user' && m.content.some((p) => p.type === 'image_url')) throw new BadRequest(`messages[${i}]: images only in user messages`);
    for (const p of m.content) {
      if (p.type === 'text') {
        if (typeof p.text !== 'string') throw new BadRequest(`messages[${i}]: a text part without text`);
        continue;
      }
      if (p.type !== 'image_url') throw new BadRequest(`messages[${i}]: unknown part type ${p.type}`);
      const m2 = /^data:image\/(jpeg|png|webp);base64,(.+)$/.exec(p.image_url?.url ?? '');
      if (!m2) throw new BadRequest(`messages[${i}]: image_url must be a base64 data URL`);
      if (opts.checkImages === false) {
        images.push({ width: 0, height: 0, format: m2[1]! });
        continue;
      }
      try {
        const meta = await sharp(Buffer.from(m2[2]!, 'base64')).metadata();
        images.push({ width: meta.width!, height: meta.height!, format: meta.format! });
      } catch {
        throw new BadRequest(`messages[${i}]: the image does not decode`);
      }
    }
  }
  return { headers: req.headers, body, images };
}

export async function startMockOpenAi(options: MockOptions): Promise<MockOpenAi> {
  const sockets = new Set<Socket>();
  const mock: MockOpenAi = {
    url: '',
    requests: [],
    mode: { kind: 'ok' },
    options,
    close: async () => undefined,
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): void =>
      void res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    const url = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && url === '/v1/models') return json(200, { object: 'list', data: [{ id: options.model, object: 'model', owned_by: 'mock' }] });
    if (req.method !== 'POST' || url !== '/v1/chat/completions') return json(404, { error: { message: `no route ${req.method} ${url}`, type: 'not_found' } });
    const raw = await readBody(req);
    let received: ReceivedRequest;
    try {
      received = await check(req, raw, options);
    } catch (err) {
      if (!(err instanceof BadRequest)) throw err;
      return json(err.status, { error: { message: err.message, type: 'invalid_request_error', code: null } });
    }
    mock.requests.push(received);
    const mode = mock.mode;
    if (mode.kind === 'status') return json(mode.status, mode.body, mode.headers);
    if (mode.kind === 'slowHeaders') await sleep(mode.delayMs);
    if (res.destroyed) return;

    const text = answerFor(received, options);
    const pieces = piecesOf(text);
    const usage = { prompt_tokens: 11 + 100 * received.images.length, completion_tokens: pieces.length, total_tokens: 11 + 100 * received.images.length + pieces.length };
    const finish = options.finishReason ?? 'stop';
    const id = `chatcmpl-${mock.requests.length}`;
    if (!received.body.stream || options.ignoreStream) {
      return json(200, {
        id,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: options.model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: finish }],
        usage,
      });
    }
    const sized = options.sizedStreams === true && !options.pieceDelayMs && mode.kind === 'ok';
    const held: string[] = [];
    if (!sized) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (chunk: unknown): void => {
      const event = `data: ${JSON.stringify(chunk)}\n\n`;
      if (sized) held.push(event);
      else res.write(event);
    };
    const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
      id,
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: options.model,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    });
    send(chunk({ role: 'assistant', content: '' }));
    const cutAt = mode.kind === 'stall' || mode.kind === 'drop' || mode.kind === 'errorEvent' ? mode.pieces : Infinity;
    for (const [i, piece] of pieces.entries()) {
      if (i === cutAt) break;
      if (i > 0 && options.pieceDelayMs) await sleep(options.pieceDelayMs);
      if (res.destroyed) return;
      send(chunk({ content: piece }));
    }
    if (mode.kind === 'stall') return; // the connection stays open and silent until the client gives up
    if (mode.kind === 'drop') {
      await sleep(20); // let the pieces reach the client before the cut
      res.socket?.destroy();
      return;
    }
    if (mode.kind === 'errorEvent') {
      send({ error: mode.error });
      res.end();
      return;
    }
    send(chunk({}, finish));
    if (received.body.stream_options?.include_usage) send({ id, object: 'chat.completion.chunk', model: options.model, choices: [], usage });
    if (!sized) {
      res.end('data: [DONE]\n\n');
      return;
    }
    const whole = Buffer.from(`${held.join('')}data: [DONE]\n\n`);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'content-length': whole.length }).end(whole);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `mock crashed: ${(err as Error).message}` } }));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  mock.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  mock.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return mock;
}

export { closedPort } from '../../support/net.js';
