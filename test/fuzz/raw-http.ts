/**
 * A minimal HTTP/1.1 client over raw TCP for the fuzz suite. Node's own clients (http,
 * fetch) refuse to send what the fuzz needs to send (non-ASCII request targets, malformed
 * headers, conflicting Content-Length), and hide how a connection ended; this one writes
 * the request bytes as given and reports exactly what came back: a parsed response, or the
 * connection being reset or closed before a whole response arrived.
 *
 * One request at a time per connection (no pipelining); a connection is reused while the
 * server keeps it alive, as a keep-alive client would.
 */
import net from 'node:net';

export interface RawRequest {
  method: string;
  /** The request target as sent, UTF-8 encoded (non-ASCII stays raw bytes on the wire). */
  target: string;
  /** Header lines in order; a name may repeat. No Host or Content-Length is added unless absent and `auto` allows. */
  headers: Array<[string, string]>;
  body?: Buffer;
  /** Add `Host` and a `Content-Length` matching the body when the case did not set them (default true). */
  auto?: boolean;
  /** Half-close the connection after sending (a client that stops short of its declared body and says so). */
  halfClose?: boolean;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export type Outcome =
  | { kind: 'response'; response: RawResponse }
  /** The connection ended (reset, closed or timed out) before a complete response. */
  | { kind: 'failed'; reason: string };

export function serialise(req: RawRequest, hostHeader: string): Buffer {
  const auto = req.auto ?? true;
  const has = (name: string) => req.headers.some(([n]) => n.toLowerCase() === name);
  const lines = [`${req.method} ${req.target} HTTP/1.1`];
  if (auto && !has('host')) lines.push(`Host: ${hostHeader}`);
  for (const [n, v] of req.headers) lines.push(`${n}: ${v}`);
  if (auto && req.body && !has('content-length') && !has('transfer-encoding')) lines.push(`Content-Length: ${req.body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
  return req.body ? Buffer.concat([head, req.body]) : head;
}

/** Parses one response from the front of `buf`; undefined while it is incomplete. */
export function parseResponse(buf: Buffer, method: string, ended: boolean): { response: RawResponse; used: number } | undefined {
  let start = 0;
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n', start);
    if (headEnd < 0) return undefined;
    const lines = buf.subarray(start, headEnd).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0]?.slice(0, 80))}`);
    const status = Number(m[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) {
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
      }
    }
    const bodyStart = headEnd + 4;
    // 1xx (100 Continue for `Expect: 100-continue`) precedes the real response.
    if (status >= 100 && status < 200) {
      start = bodyStart;
      continue;
    }
    if (method === 'HEAD' || status === 204 || status === 304) return { response: { status, headers, body: Buffer.alloc(0) }, used: bodyStart };
    if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
      const parts: Buffer[] = [];
      let at = bodyStart;
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', at);
        if (lineEnd < 0) return undefined;
        const size = parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16);
        if (!Number.isFinite(size)) throw new Error('bad chunk size in response');
        if (size === 0) {
          const trailerEnd = buf.indexOf('\r\n\r\n', lineEnd);
          if (trailerEnd < 0) return undefined;
          return { response: { status, headers, body: Buffer.concat(parts) }, used: trailerEnd + 4 };
        }
        if (buf.length < lineEnd + 2 + size + 2) return undefined;
        parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
    }
    if (headers['content-length'] !== undefined) {
      const len = Number(headers['content-length']);
      if (buf.length < bodyStart + len) return undefined;
      return { response: { status, headers, body: buf.subarray(bodyStart, bodyStart + len) }, used: bodyStart + len };
    }
    // Neither length nor chunking: the body runs to the end of the connection.
    if (!ended) return undefined;
    return { response: { status, headers, body: buf.subarray(bodyStart) }, used: buf.length };
  }
}

/** One keep-alive TCP connection; `send` resolves with the response or how the connection failed. */
export class RawConnection {
  private socket: net.Socket | undefined;
  private connecting: net.Socket | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private waiter: ((o: Outcome) => void) | undefined;
  private method = 'GET';
  /** Connections opened so far (how often the server closed one). */
  opened = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly timeoutMs: number,
  ) {}

  private connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: this.host, port: this.port, noDelay: true });
      this.connecting = s;
      this.opened++;
      this.buf = Buffer.alloc(0);
      this.ended = false;
      s.once('connect', () => resolve(s));
      s.once('error', reject);
      // Events of a socket this connection has already given up on must not touch the next one.
      const current = () => this.socket === s || this.connecting === s;
      s.on('data', (d: Buffer) => {
        if (!current()) return;
        this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
        this.check();
      });
      s.on('end', () => {
        if (!current()) return;
        this.ended = true;
        this.check();
        this.fail('closed by the server before a complete response');
      });
      s.on('error', (err: NodeJS.ErrnoException) => {
        if (current()) this.fail(`connection error ${err.code ?? err.message}`);
      });
      s.on('close', () => {
        if (!current()) return;
        this.fail('connection closed before a complete response');
        this.socket = undefined;
      });
    });
  }

  private check(): void {
    if (!this.waiter) return;
    let parsed: ReturnType<typeof parseResponse>;
    try {
      parsed = parseResponse(this.buf, this.method, this.ended);
    } catch (err) {
      this.fail((err as Error).message);
      return;
    }
    if (!parsed) return;
    this.buf = this.buf.subarray(parsed.used);
    const w = this.waiter;
    this.waiter = undefined;
    const closing = parsed.response.headers.connection?.toLowerCase() === 'close' || this.ended;
    if (closing) this.drop();
    w({ kind: 'response', response: parsed.response });
  }

  private fail(reason: string): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    this.drop();
    w({ kind: 'failed', reason });
  }

  /** Forgets the socket; it is closed gracefully once the server is done with it. */
  private drop(): void {
    const s = this.socket;
    this.socket = undefined;
    if (s && !s.destroyed) {
      s.end();
      setTimeout(() => s.destroy(), 1000).unref();
    }
  }

  async send(req: RawRequest): Promise<Outcome> {
    if (this.waiter) throw new Error('one request at a time per connection');
    if (!this.socket || this.socket.destroyed || this.ended) {
      this.drop();
      try {
        this.socket = await this.connect();
        this.connecting = undefined;
      } catch (err) {
        return { kind: 'failed', reason: `connect: ${(err as Error).message}` };
      }
    }
    const socket = this.socket;
    this.method = req.method;
    this.buf = Buffer.alloc(0);
    return new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => this.fail(`no response within ${this.timeoutMs} ms`), this.timeoutMs);
      this.waiter = (o) => {
        clearTimeout(timer);
        resolve(o);
      };
      // A write may fail after the server has answered and closed (a refused large body);
      // that is reported by the socket's error event only if no response came first.
      socket.write(serialise(req, `${this.host}:${this.port}`), () => undefined);
      if (req.halfClose) socket.end();
    });
  }

  close(): void {
    this.drop();
  }
}
