/**
 * Answers sent before the request body was read (the early 429 of a full model queue, an
 * upload chunk's 503 while another replica holds its lease, an access refusal, Fastify's 413)
 * must reach a client that is still writing that body. Two ways, chosen per response:
 *
 * - The rest of the body is declared and within the route's body limit: the connection stays
 *   open and Node reads and discards the rest (its own `_dump` after the response), so a
 *   keep-alive client loses nothing.
 * - Otherwise (over the limit, chunked, or a handler that chose `Connection: close`): the
 *   response says `Connection: close` and the close is staged, as RFC 9112 §9.6 asks. Node
 *   on its own ends the socket and destroys it as soon as the response is flushed; bytes the
 *   client sends after that (and those still unread in our receive buffer) are answered by
 *   the kernel with a reset, which can reach the client before it has read the response
 *   (EPIPE/ECONNRESET instead of the status, seen in test/scale/replicas.test.ts). Here the
 *   socket half-closes instead (the client gets the response and a FIN) and goes on reading
 *   and discarding until the client closes its side, goes quiet, sends more than the limit,
 *   or a few seconds pass; only then is it destroyed.
 */
import type { Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { FastifyReply } from 'fastify';
import { hasBody } from './body-timeouts.js';

export interface LingerOptions {
  /** Longest the socket stays open after the response, ms. */
  maxMs: number;
  /** Close once nothing arrived for this long, ms. */
  idleMs: number;
  /** Close once the client sent this many more bytes. */
  maxBytes: number;
}

/** Staged close: nginx's lingering_time/lingering_timeout are 30 s/5 s; a refused body needs less. */
export const DEFAULT_LINGER: Omit<LingerOptions, 'maxBytes'> = { maxMs: 10_000, idleMs: 2_000 };

const LINGERING = Symbol('ocellus.lingering');

/**
 * Makes the close Node does after this socket's last response a staged one: end (FIN once
 * the response is flushed), then read and discard until the client ends, or `idleMs` passes
 * without a byte, or `maxBytes` arrive, or `maxMs` runs out; then destroy.
 */
export function lingerOnClose(socket: Socket, opts: LingerOptions): void {
  const s = socket as Socket & { [LINGERING]?: true };
  if (s[LINGERING]) return;
  s[LINGERING] = true;
  // Node's HTTP server closes a `Connection: close` socket with `socket.destroySoon()` once
  // the response is written (_http_server.js resOnFinish): replaced on this socket only.
  s.destroySoon = function lingeringClose(this: Socket): void {
    if (this.writable) this.end();
    const start = this.bytesRead;
    let idle: NodeJS.Timeout | undefined;
    const close = (): void => {
      clearTimeout(total);
      clearTimeout(idle);
      this.destroy();
    };
    const total = setTimeout(close, opts.maxMs).unref();
    const quiet = (): void => {
      clearTimeout(idle);
      idle = setTimeout(close, opts.idleMs).unref();
    };
    quiet();
    this.on('data', () => {
      if (this.bytesRead - start > opts.maxBytes) close();
      else quiet();
    });
    this.once('end', close);
    this.once('close', () => {
      clearTimeout(total);
      clearTimeout(idle);
    });
    // The HTTP parser still reads what arrives (the request discards its body); make sure
    // the socket flows even if something paused it.
    this.resume();
  };
}

/** The body size the request declares; undefined when it is chunked (no length known ahead). */
function declaredLength(raw: IncomingMessage): number | undefined {
  if (raw.headers['transfer-encoding'] !== undefined) return undefined;
  const declared = Number(raw.headers['content-length']);
  return Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
}

/**
 * Called as the response goes out (an onSend hook): when the request body is not all in,
 * either leaves Node to drain a declared rest within `bodyLimit`, or closes with
 * `Connection: close` and a staged close (see the module comment).
 */
export function settleUnreadBody(raw: IncomingMessage, reply: FastifyReply, bodyLimit: number, linger = DEFAULT_LINGER): void {
  if (!hasBody(raw) || raw.complete || !raw.socket) return;
  const closing = /\bclose\b/i.test(String(reply.getHeader('connection') ?? ''));
  if (!closing) {
    const declared = declaredLength(raw);
    if (declared !== undefined && declared <= bodyLimit) return;
    void reply.header('connection', 'close');
  }
  lingerOnClose(raw.socket, { ...linger, maxBytes: bodyLimit });
}
