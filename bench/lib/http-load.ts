/**
 * A closed-loop HTTP/1.1 load generator on raw sockets, for comparing two servers with the
 * same client.
 *
 * Why not autocannon: it records latency in whole milliseconds, and the requests measured
 * here take a fraction of one. Why not node:http or fetch: their client-side cost (header
 * objects, stream machinery) would be a large, varying share of a sub-millisecond request
 * and would shrink the difference being measured. This client writes pre-built request
 * bytes and only reads the status line, Content-Length and Connection of each response.
 *
 * Model: `concurrency` keep-alive connections, each sending one request, waiting for the
 * whole response, then sending the next (no pipelining). Latency is request write to last
 * response byte, timed with the monotonic clock in microseconds. The run has a warm-up
 * and a measured window; a request counts when it *completes* inside the window, and
 * throughput is those completions over the window's length, so requests straddling either
 * edge neither inflate nor deflate it in steady state.
 *
 * Bounded: every run stops at its deadline or at `maxRequests`, every request has a
 * timeout, and only loopback addresses are accepted.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LoadSpec {
  port: number;
  /** Loopback only. Default 127.0.0.1. */
  host?: string;
  /** Complete request bytes: request line, headers (with Content-Length), body. */
  request: Buffer;
  /**
   * Patches the connection's own copy of `request` in place before each send (same length),
   * e.g. to make every image unique. Called only after the previous response on that
   * connection arrived, so the previous bytes were already sent.
   */
  mutate?: (request: Buffer) => void;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Hard cap on requests (warm-up included). */
  maxRequests: number;
  /** Per-request timeout; a timeout fails the run. */
  timeoutMs: number;
  /** Status every response must have (default 200); others are counted as errors. */
  expectStatus?: number;
}

export interface LoadResult {
  concurrency: number;
  /** Requests completed inside the measured window. */
  requests: number;
  /** Of those, responses with an unexpected status. */
  errors: number;
  /** The first unexpected response, for the message. */
  firstError?: string;
  windowMs: number;
  rps: number;
  /** Latencies (ms) of the requests completed in the window, ascending. */
  latenciesMs: Float64Array;
  /** True when the run stopped at maxRequests instead of its deadline. */
  capped: boolean;
}

export interface Response {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** Connects that were refused or reset and then retried, over the whole process (see Connection.connect). */
export let connectRetries = 0;

function assertLoopback(host: string): void {
  const ok = host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  if (!ok) throw new Error(`load generator refuses non-loopback host ${host}`);
}

/** Builds the bytes of a request (POST unless told). */
export function buildRequest(opts: {
  method?: string;
  host?: string;
  port: number;
  path: string;
  body?: Buffer | string;
  headers?: Record<string, string>;
}): Buffer {
  const body = typeof opts.body === 'string' ? Buffer.from(opts.body) : (opts.body ?? Buffer.alloc(0));
  const method = opts.method ?? 'POST';
  const lines = [
    `${method} ${opts.path} HTTP/1.1`,
    `Host: ${opts.host ?? '127.0.0.1'}:${opts.port}`,
    ...Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    ...(method === 'GET' && body.length === 0 ? [] : [`Content-Length: ${body.length}`]),
    '',
    '',
  ];
  return Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), body]);
}

interface Pending {
  resolve: (r: RawResponse) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface RawResponse {
  status: number;
  close: boolean;
  headerText: string;
  /** Only kept when asked for (capture); otherwise just counted. */
  body: Buffer[] | undefined;
}

/** One keep-alive connection that runs one request at a time. */
class Connection {
  private socket: net.Socket | undefined;
  private pending: Pending | undefined;
  private keepBody = false;
  // Parse state of the response being read.
  private head: Buffer[] = [];
  private headBytes = 0;
  private response: RawResponse | undefined;
  private remaining = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Connects, retrying a refused or reset connect with backoff (100 ms doubling to 2 s, 8
   * attempts, about 7 s in all), counted in `connectRetries`. Seen against a busy server: on
   * loopback Linux reuses TIME_WAIT local ports at once (tcp_tw_reuse=2), and a SYN whose
   * 4-tuple still belongs to a socket the server has not closed yet gets a reset. Connects
   * happen before the clock starts, so a retry costs no measured time.
   */
  private async connect(): Promise<net.Socket> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.connectOnce();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (attempt >= 8 || (code !== 'ECONNREFUSED' && code !== 'ECONNRESET')) throw err;
        connectRetries++;
        await sleep(Math.min(2000, 100 * 2 ** (attempt - 1)));
      }
    }
  }

  private connectOnce(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: this.host, port: this.port, noDelay: true });
      const timer = setTimeout(() => s.destroy(new Error(`connect to ${this.host}:${this.port} timed out`)), this.timeoutMs);
      const onConnectError = (e: Error): void => {
        clearTimeout(timer);
        reject(e);
      };
      s.once('error', onConnectError);
      s.once('connect', () => {
        clearTimeout(timer);
        s.off('error', onConnectError);
        s.on('data', (d: Buffer) => this.onData(d));
        s.on('error', (e) => this.fail(new Error(`${e.message} (connection to ${this.host}:${this.port})`, { cause: e })));
        s.on('close', () => {
          if (this.socket === s) this.socket = undefined;
          this.fail(new Error('server closed the connection mid-response'));
        });
        resolve(s);
      });
    });
  }

  private fail(err: Error): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.reject(err);
  }

  private finish(): void {
    const p = this.pending;
    const r = this.response;
    this.response = undefined;
    this.head = [];
    this.headBytes = 0;
    if (!p || !r) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    if (r.close) {
      this.socket?.destroy();
      this.socket = undefined;
    }
    p.resolve(r);
  }

  private onData(data: Buffer): void {
    if (!this.pending) {
      this.socket?.destroy(new Error('unexpected bytes from the server between responses'));
      return;
    }
    let rest: Buffer = data;
    if (!this.response) {
      this.head.push(data);
      this.headBytes += data.length;
      const all = this.head.length === 1 ? data : Buffer.concat(this.head, this.headBytes);
      const end = all.indexOf(HEADER_END);
      if (end < 0) {
        if (this.headBytes > 64 * 1024) this.socket?.destroy(new Error('response headers over 64 KiB'));
        return;
      }
      const headerText = all.toString('latin1', 0, end);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(headerText);
      if (!m) {
        this.socket?.destroy(new Error(`bad status line: ${headerText.slice(0, 80)}`));
        return;
      }
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(headerText);
      if (!length) {
        this.socket?.destroy(new Error('response without Content-Length (chunked responses are not supported here)'));
        return;
      }
      this.response = {
        status: Number(m[1]),
        close: /\r\nconnection:\s*close/i.test(headerText),
        headerText,
        body: this.keepBody ? [] : undefined,
      };
      this.remaining = Number(length[1]);
      rest = all.subarray(end + HEADER_END.length);
    }
    if (rest.length > this.remaining) {
      this.socket?.destroy(new Error('server sent more bytes than Content-Length (or an unrequested response)'));
      return;
    }
    if (rest.length > 0) {
      this.response.body?.push(rest);
      this.remaining -= rest.length;
    }
    if (this.remaining === 0) this.finish();
  }

  /** Connects now, so the first timed request does not include the TCP handshake. */
  async open(): Promise<void> {
    this.socket ??= await this.connect();
  }

  async send(request: Buffer, keepBody = false): Promise<RawResponse> {
    if (this.pending) throw new Error('request already in flight on this connection');
    this.socket ??= await this.connect();
    this.keepBody = keepBody;
    const socket = this.socket;
    return new Promise<RawResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new Error(`no complete response within ${this.timeoutMs} ms`));
        socket.destroy();
      }, this.timeoutMs);
      this.pending = { resolve, reject, timer };
      socket.write(request);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}

function parseHeaders(headerText: string): [string, string][] {
  return headerText
    .split('\r\n')
    .slice(1)
    .map((line) => {
      const i = line.indexOf(':');
      return [line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()] as [string, string];
    });
}

/** Sends one request on a fresh connection and returns the whole response. */
export async function requestOnce(port: number, request: Buffer, opts: { host?: string; timeoutMs?: number } = {}): Promise<Response> {
  const host = opts.host ?? '127.0.0.1';
  assertLoopback(host);
  const conn = new Connection(host, port, opts.timeoutMs ?? 30_000);
  try {
    const r = await conn.send(request, true);
    return { status: r.status, headers: parseHeaders(r.headerText), body: Buffer.concat(r.body ?? []) };
  } finally {
    conn.close();
  }
}

/** Runs the closed loop described at the top of the file. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const host = spec.host ?? '127.0.0.1';
  assertLoopback(host);
  const expect = spec.expectStatus ?? 200;
  const latencies = new Float64Array(spec.maxRequests);
  let recorded = 0;
  let started = 0;
  let errors = 0;
  let firstError: string | undefined;
  let capped = false;

  // Every connection is open before the clock starts: a slow or retried connect must not
  // eat into the window.
  const conns = Array.from({ length: spec.concurrency }, () => new Connection(host, spec.port, spec.timeoutMs));
  const opened = await Promise.allSettled(conns.map((c) => c.open()));
  const refused = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (refused) {
    for (const c of conns) c.close();
    throw refused.reason;
  }
  const t0 = performance.now();
  const measureFrom = t0 + spec.warmupMs;
  const deadline = measureFrom + spec.durationMs;

  const worker = async (conn: Connection): Promise<void> => {
    const request = Buffer.from(spec.request);
    try {
      for (;;) {
        if (performance.now() >= deadline) return;
        if (started >= spec.maxRequests) {
          capped = true;
          return;
        }
        started++;
        spec.mutate?.(request);
        const begin = process.hrtime.bigint();
        const r = await conn.send(request);
        const elapsedMs = Number(process.hrtime.bigint() - begin) / 1e6;
        const now = performance.now();
        if (now >= measureFrom && now < deadline) {
          latencies[recorded++] = elapsedMs;
          if (r.status !== expect) {
            errors++;
            firstError ??= r.headerText.split('\r\n')[0];
          }
        } else if (r.status !== expect && firstError === undefined) {
          firstError = r.headerText.split('\r\n')[0];
          errors++;
        }
      }
    } finally {
      conn.close();
    }
  };

  // allSettled: when one connection fails, the others finish their loop (bounded by the
  // deadline) before the error is thrown, so no request is left running behind the caller.
  const settled = await Promise.allSettled(conns.map(worker));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const windowMs = Math.min(performance.now(), deadline) - measureFrom;
  const latenciesMs = latencies.slice(0, recorded).sort();
  return {
    concurrency: spec.concurrency,
    requests: recorded,
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    windowMs,
    rps: windowMs > 0 ? (recorded / windowMs) * 1000 : 0,
    latenciesMs,
    capped,
  };
}

/** Merges runs of the same spec (e.g. slices) into one result: counts and windows add up, latencies pool. */
export function mergeResults(runs: LoadResult[]): LoadResult {
  if (runs.length === 0) throw new Error('nothing to merge');
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const windowMs = runs.reduce((n, r) => n + r.windowMs, 0);
  const latenciesMs = new Float64Array(requests);
  let at = 0;
  for (const r of runs) {
    latenciesMs.set(r.latenciesMs, at);
    at += r.latenciesMs.length;
  }
  latenciesMs.sort();
  const firstError = runs.find((r) => r.firstError !== undefined)?.firstError;
  return {
    concurrency: runs[0]!.concurrency,
    requests,
    errors: runs.reduce((n, r) => n + r.errors, 0),
    ...(firstError !== undefined ? { firstError } : {}),
    windowMs,
    rps: windowMs > 0 ? (requests / windowMs) * 1000 : 0,
    latenciesMs,
    capped: runs.some((r) => r.capped),
  };
}

/**
 * Runs two specs in alternating slices (A B A B ...), each warmed up before its first slice
 * only, and merges each side's slices. Background load that comes and goes then lands on
 * both sides alike, which keeps their ratio honest on a busy machine.
 */
export async function runAlternating(a: LoadSpec, b: LoadSpec, slices: number): Promise<[LoadResult, LoadResult]> {
  const ra: LoadResult[] = [];
  const rb: LoadResult[] = [];
  for (let i = 0; i < slices; i++) {
    for (const [spec, out] of [
      [a, ra],
      [b, rb],
    ] as const) {
      out.push(
        await runLoad({
          ...spec,
          warmupMs: i === 0 ? spec.warmupMs : 0,
          durationMs: spec.durationMs / slices,
          maxRequests: Math.ceil(spec.maxRequests / slices),
        }),
      );
    }
  }
  return [mergeResults(ra), mergeResults(rb)];
}
