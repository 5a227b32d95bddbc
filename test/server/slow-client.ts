/**
 * A deliberately slow HTTP/1.1 client on a raw socket: sends a request head, then body
 * pieces at a fixed pace, and reports what the server answered and when it closed.
 */
import net from 'node:net';

export interface SlowResult {
  status: number | undefined;
  headers: Record<string, string>;
  body: string;
  /** ms from the first byte sent until the server closed the connection. */
  closedAfterMs: number;
  /** Body bytes the client had sent when the server closed. */
  sent: number;
}

export interface SlowOptions {
  port: number;
  head: string;
  /** Pieces sent one per interval; the client stops when the server answers or closes. */
  pieces?: Buffer[];
  intervalMs?: number;
  /** Give up (and fail the test) after this long. */
  giveUpMs?: number;
}

export function slowRequest(opts: SlowOptions): Promise<SlowResult> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(opts.port, '127.0.0.1');
    const started = Date.now();
    const chunks: Buffer[] = [];
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${opts.giveUpMs ?? 20_000} ms`));
    }, opts.giveUpMs ?? 20_000);
    socket.on('connect', () => {
      socket.write(opts.head);
      const pieces = [...(opts.pieces ?? [])];
      if (pieces.length === 0) return;
      timer = setInterval(() => {
        const p = pieces.shift();
        if (!p || socket.destroyed || chunks.length > 0) return void clearInterval(timer);
        socket.write(p);
        sent += p.length;
      }, opts.intervalMs ?? 100);
    });
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(giveUp);
      if (timer) clearInterval(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const lines = head.split('\r\n');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1];
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({
        status: status ? Number(status) : undefined,
        headers,
        body: dechunk(rest.join('\r\n\r\n'), headers),
        closedAfterMs: Date.now() - started,
        sent,
      });
    });
  });
}

function dechunk(body: string, headers: Record<string, string>): string {
  if (headers['transfer-encoding'] !== 'chunked') return body;
  let out = '';
  let rest = body;
  for (;;) {
    const i = rest.indexOf('\r\n');
    if (i < 0) break;
    const n = parseInt(rest.slice(0, i), 16);
    if (!n) break;
    out += rest.slice(i + 2, i + 2 + n);
    rest = rest.slice(i + 2 + n + 2);
  }
  return out;
}

/** Opens a connection and resolves once it is established (or rejects when refused/closed first). */
export function openIdle(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

/** Resolves with how long the socket stayed open (ms) once the server closes it. */
export function closedWithin(socket: net.Socket, giveUpMs: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return resolve(0);
    const t = setTimeout(() => reject(new Error(`still open after ${giveUpMs} ms`)), giveUpMs);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(t);
      resolve(Date.now() - started);
    });
  });
}
