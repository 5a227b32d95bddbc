/**
 * fetch for model providers: a deadline for the answer's headers and for each gap between
 * body chunks (a server that stalls mid-stream is as dead as one that never answers), the
 * caller's abort signal, and network failures turned into provider errors. Every backend
 * calls its server through this, so none of them can hang a request.
 */
import { providerHttpError, providerTimedOut, providerUnreachable, type ProviderError } from './provider-errors.js';

export interface ProviderFetchOptions {
  provider: string;
  /** Most milliseconds to wait for the headers, and then between two body chunks. */
  timeoutMs: number;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

export interface ProviderResponse {
  status: number;
  headers: Headers;
  /** Body chunks; each wait is bounded by timeoutMs. */
  body(): AsyncGenerator<Uint8Array>;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

const CONNECT_ERRORS = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'EPIPE'];

/** The first error code along an error's cause chain (undici nests the socket's under `cause`). */
export function causeCode(err: unknown): string {
  let e: unknown = err;
  for (let i = 0; i < 5 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return (err as Error)?.message ?? 'network error';
}

/** Turns an error thrown by fetch or a body read into the provider error it means. */
export function networkError(provider: string, where: string, err: unknown, timedOut: boolean, timeoutMs: number): Error {
  if (timedOut) return providerTimedOut(provider, timeoutMs);
  if ((err as Error)?.name === 'AbortError') return err as Error; // the client left: not the provider's fault
  const code = causeCode(err);
  return providerUnreachable(provider, where, CONNECT_ERRORS.includes(code) ? code : `connection failed: ${code}`);
}

/** Resets that mean a pooled keep-alive socket was closed by the server as we reused it. */
const STALE_SOCKET = ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'];

/**
 * One fetch, sent again once when the connection was reset before any answer came and the
 * body can be sent again. A server closes idle keep-alive sockets on its own clock (Node's
 * default is 5 s, undici's client keeps them 4 s), so under load a request can land on a
 * socket the server is closing: that is a lost race, not a provider that is down.
 */
async function fetchOnce(url: string, init: RequestInit, signal: AbortSignal, fetchImpl: typeof fetch = fetch): Promise<Response> {
  try {
    return await fetchImpl(url, { ...init, signal });
  } catch (err) {
    const replayable = init.body == null || typeof init.body === 'string' || init.body instanceof Uint8Array;
    if (signal.aborted || !replayable || !STALE_SOCKET.includes(causeCode(err))) throw err;
    return await fetchImpl(url, { ...init, signal });
  }
}

export async function providerFetch(url: string, init: RequestInit, opts: ProviderFetchOptions): Promise<ProviderResponse> {
  const where = new URL(url).origin;
  const controller = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, opts.timeoutMs);
    timer.unref();
  };
  const onAbort = () => controller.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const done = () => {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  };
  arm();
  let res: Response;
  try {
    res = await fetchOnce(url, init, controller.signal, opts.fetch);
  } catch (err) {
    done();
    throw networkError(opts.provider, where, err, timedOut, opts.timeoutMs);
  }

  async function* body(): AsyncGenerator<Uint8Array> {
    if (!res.body) return done();
    const reader = res.body.getReader();
    try {
      for (;;) {
        arm();
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (err) {
          throw networkError(opts.provider, where, err, timedOut, opts.timeoutMs);
        }
        if (r.done) return;
        yield r.value;
      }
    } finally {
      done();
      // A consumer that stops early frees the connection instead of leaving it half read.
      void reader.cancel().catch(() => undefined);
    }
  }
  const text = async () => {
    const parts: Buffer[] = [];
    for await (const c of body()) parts.push(Buffer.from(c));
    return Buffer.concat(parts).toString('utf8');
  };
  return {
    status: res.status,
    headers: res.headers,
    body,
    text,
    async json() {
      const t = await text();
      try {
        return JSON.parse(t);
      } catch {
        throw providerHttpError(opts.provider, 502, `answered with a body that is not JSON: ${t.slice(0, 200)}`);
      }
    },
  };
}

/** Throws the mapped provider error when the response is not 2xx; reads the error message from common shapes. */
export async function ensureOk(res: ProviderResponse, provider: string): Promise<void> {
  if (res.status >= 200 && res.status < 300) return;
  const raw = await res.text().catch(() => '');
  let message = raw.slice(0, 500) || `HTTP ${res.status}`;
  try {
    const j = JSON.parse(raw) as { error?: { message?: string } | string; message?: string };
    message = (typeof j.error === 'string' ? j.error : j.error?.message) ?? j.message ?? message;
  } catch {
    /* not JSON: keep the text */
  }
  const err: ProviderError = providerHttpError(provider, res.status, message, res.headers.get('retry-after'));
  throw err;
}

/** Every SSE stream is read by the one parser (the Gemini client's, which has no Node imports). */
export { sseEvents } from './gemini/client/sse.js';
