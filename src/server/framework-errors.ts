/**
 * Errors that happen before a request reaches a route, in Node's HTTP parser or in Fastify's
 * router, answered in Gemini's error envelope like everything else. Left to their defaults,
 * Node and Fastify answer these with their own JSON (`{"error":"Bad Request","statusCode":400}`)
 * or an empty body, which the SDKs cannot read, and Node destroys the socket right after
 * writing: on a keep-alive connection whose client is still sending, that destroy is a TCP
 * reset that can discard the response before the client reads it. Here the answer says
 * `Connection: close`, the socket is half-closed, and what the client still sends is read
 * and dropped until it closes its side (a "lingering close", RFC 9112 §9.6).
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { apiError, invalidArgument, requestTimedOut, type ApiError } from '../errors.js';
import { errorBody } from './error-envelope.js';

/** How long a socket is drained after its error answer before it is destroyed. */
const LINGER_MS = 2000;

const clip = (s: string, n = 200): string => (s.length > n ? `${s.slice(0, n)}…` : s);

/** The Gemini error for an error Node's HTTP parser reports on a connection (`clientError`). */
export function clientErrorToApiError(err: NodeJS.ErrnoException): ApiError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return apiError('OCL_ERR_HEADERS_TOO_LARGE', 'Request header fields too large: the request line and headers exceed the 16 KB the server reads.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return requestTimedOut('The request was not received in time; the connection is closed.');
    case 'HPE_INVALID_EOF_STATE':
      return invalidArgument('The request ended before its body was complete (fewer bytes than its Content-Length, or an unfinished chunked body).');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return apiError('OCL_ERR_PAYLOAD_TOO_LARGE', 'Chunk extensions too large.');
    default:
      // llhttp's reason ("Invalid header value char", "Duplicate Content-Length", …) says what was wrong.
      return invalidArgument(`Malformed HTTP request: ${clip(String((err as { reason?: unknown }).reason ?? err.message))}.`);
  }
}

/** The raw HTTP/1.1 response for an ApiError, written straight to a socket. */
export function rawErrorResponse(error: ApiError): string {
  const body = JSON.stringify(errorBody(error));
  return (
    `HTTP/1.1 ${error.httpStatus} ${STATUS_CODES[error.httpStatus] ?? 'Error'}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

/** Half-closes the socket and drops what the client still sends, so the answer is not lost to a reset. */
export function lingeringClose(socket: Duplex): void {
  socket.end();
  socket.on('data', () => undefined);
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

const answered = new WeakSet<Duplex>();

/** Fastify's `clientErrorHandler`: Node's parser errors in the envelope, without a reset. */
export function clientErrorHandler(
  log: { info(obj: object, msg: string): void },
): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, socket) => {
    // A reset connection has nobody to answer; a socket already answered (the parser
    // reports its error again for every later packet) must not get a second response.
    if (err.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
    answered.add(socket);
    const error = clientErrorToApiError(err);
    log.info({ code: err.code, reason: error.code, status: error.httpStatus }, 'malformed HTTP request rejected');
    // Node's own rule: no answer once a response on this socket has started.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) socket.write(rawErrorResponse(error));
    lingeringClose(socket);
  };
}

/** Fastify's `frameworkErrors`: a path that is not valid percent-encoding, or a path segment over the router's limit. */
export function frameworkErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  let error: ApiError;
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH')
    error = apiError('OCL_ERR_URI_TOO_LONG', 'A path segment of the request URL is too long (the longest accepted is 512 characters).');
  else if (err.code === 'FST_ERR_BAD_URL')
    error = invalidArgument(`The request path ${JSON.stringify(clip(req.raw.url ?? ''))} is not valid percent-encoding.`);
  else error = invalidArgument(clip(err.message));
  req.log.info({ code: err.code, reason: error.code, status: error.httpStatus }, 'request rejected by the router');
  void reply.code(error.httpStatus).type('application/json').send(errorBody(error));
}

/** Node's `checkExpectation`: an `Expect` other than 100-continue gets 417 in the envelope, not an empty body. */
export function expectationFailed(req: IncomingMessage, res: ServerResponse): void {
  const error = apiError(
    'OCL_ERR_EXPECTATION_FAILED',
    `Unsupported Expect header ${JSON.stringify(clip(String(req.headers.expect ?? '')))}: only 100-continue is supported.`,
  );
  const body = JSON.stringify(errorBody(error));
  res.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

/** Node's `connect` event (a CONNECT request): this is no proxy. */
export function connectRefused(_req: IncomingMessage, socket: Duplex): void {
  if (answered.has(socket) || socket.destroyed) return;
  answered.add(socket);
  socket.write(rawErrorResponse(invalidArgument('CONNECT is not supported: this server is not a proxy.')));
  lingeringClose(socket);
}
