/**
 * The plain-fetch transport (Node's or the browser's): no deadlines of its own. A fetch
 * that fails before any answer is reported through `unreachable`, so the caller can say
 * "cannot connect" in words instead of undici's bare `fetch failed`.
 */
import type { HttpAnswer, HttpRequest, Transport } from './transport.js';

export interface FetchTransportOptions {
  fetch?: typeof fetch;
  /** The error for a request that got no answer at all; `why` is the socket's code when there is one. */
  unreachable(why: string, err: unknown): Error;
}

export function fetchTransport(opts: FetchTransportOptions): Transport {
  return async (req: HttpRequest): Promise<HttpAnswer> => {
    const doFetch = opts.fetch ?? fetch;
    const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers: req.headers };
    if (req.body !== undefined) {
      // A Uint8Array is a valid fetch body; the DOM typings only refuse it because its memory could be shared.
      init.body = req.body as BodyInit;
      // A streamed request body must say so (fetch's rule); it is then sent as it is read.
      if (typeof ReadableStream !== 'undefined' && req.body instanceof ReadableStream) init.duplex = 'half';
    }
    if (req.signal) init.signal = req.signal;
    let res: Response;
    try {
      res = await doFetch(req.url, init);
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw opts.unreachable(cause?.code ?? cause?.message ?? (err as Error).message, err);
    }
    return {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
      body: () => bodyChunks(res),
      text: () => res.text(),
    };
  };
}

/** A response body's chunks; stopping early cancels the body, which closes the connection. */
async function* bodyChunks(res: Response): AsyncGenerator<Uint8Array> {
  if (!res.body) return;
  const reader = res.body.getReader();
  let finished = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        finished = true;
        return;
      }
      yield value;
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
