/**
 * POST /{v}/models/{model}:generateContent | :streamGenerateContent | :countTokens.
 * The model and method share one path segment (`gemini-2.5-flash:generateContent`), so
 * the route takes the segment whole and splits at the last colon.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GenerateService } from '../../generate/service.js';
import { checkTextBudget } from '../../generate/text-budget.js';
import type { TextTokenCounter } from '../../media/text-tokens.js';
import type { RouteModule } from '../app.js';
import { ApiError, internal, notFound, unimplemented } from '../../errors.js';
import { errorBody } from '../error-envelope.js';
import { framingFor } from '../sse.js';

const OUT_OF_SCOPE = new Set(['embedContent', 'batchEmbedContents', 'batchGenerateContent', 'predict', 'predictLongRunning', 'bidiGenerateContent', 'asyncBatchEmbedContent']);

export interface GenerateRouteOptions {
  /** The prompt's text counter: its `countAsync` counts long texts before the service's synchronous pass. */
  textTokens?: TextTokenCounter;
  /**
   * Takes the request's place in the model queue before its images are decoded (throws 429
   * when the queue is full). The signal is the request's ticket; it is aborted when the
   * response is done.
   */
  admit?: (modelId: string, signal: AbortSignal) => void;
  /**
   * Throws the model queue's 429 when it is full right now, without taking a place. Asked
   * when the headers arrive and again when the body is in, before it is parsed: in a burst
   * most requests are refused, and reading them into strings and JSON only to refuse them
   * held the event loop for seconds (bench suite "burst").
   */
  refuseIfFull?: (modelId: string) => void;
}

/** `gemini-2.5-flash:generateContent` → the model name and the method. */
function splitTarget(target: string): [name: string, method: string] {
  const colon = target.lastIndexOf(':');
  return colon < 0 ? [target, ''] : [target.slice(0, colon), target.slice(colon + 1)];
}

export function createGenerateRoutes(service: GenerateService, opts: GenerateRouteOptions = {}): RouteModule {
  const refuseEarly = (req: FastifyRequest): void => {
    if (!opts.refuseIfFull) return;
    const [name, method] = splitTarget((req.params as { target: string }).target);
    if (method !== 'generateContent' && method !== 'streamGenerateContent') return;
    let modelId: string;
    try {
      modelId = service.resolveModel(name, method, req.apiVersion).id;
    } catch {
      return; // the handler answers the same error, in its usual order
    }
    opts.refuseIfFull(modelId);
  };
  return (app: FastifyInstance) => {
    app.post<{ Params: { target: string }; Querystring: { alt?: string } }>('/models/:target', {
      // A refusal here leaves the body unread: Node discards it after the answer, and the
      // connection stays usable.
      preParsing: async (req, _reply, payload) => {
        refuseEarly(req);
        return payload;
      },
      config: { beforeParse: refuseEarly },
    }, async (req, reply) => {
      const { target } = req.params;
      const [name, method] = splitTarget(target);
      if (OUT_OF_SCOPE.has(method)) throw unimplemented(`${method} is not supported by Ocellus, which serves image understanding.`);
      if (method !== 'generateContent' && method !== 'streamGenerateContent' && method !== 'countTokens')
        throw notFound(`Method not found: models/${target}`);
      const model = service.resolveModel(name, method, req.apiVersion);
      const project = req.principal.project;
      // A text too long for the model is refused before it is tokenised, and long texts are
      // counted in slices here, so no request holds the event loop while it is counted.
      if (opts.textTokens) await checkTextBudget(req.body, model.inputTokenLimit, opts.textTokens);

      if (method === 'countTokens') return service.countTokens(project, model, req.body);

      const abort = abortOnClose(req, reply);
      try {
        opts.admit?.(model.id, abort.signal);
        const prepared = await service.prepare(project, model, req.body);
        if (method === 'generateContent') return await service.generate(prepared, abort.signal);
        return await streamResponse(req, reply, service.stream(prepared, abort.signal));
      } finally {
        // The signal is also the request's ticket in the vision pool's admission: ending it
        // frees the slot.
        abort.abort(new Error('the request is complete'));
      }
    });
  };
}

/** Stops the engine when the client goes away; nobody is left to read the answer. */
function abortOnClose(req: FastifyRequest, reply: FastifyReply): AbortController {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  req.raw.on('aborted', () => controller.abort());
  return controller;
}

async function streamResponse(
  req: FastifyRequest<{ Querystring: { alt?: string } }>,
  reply: FastifyReply,
  chunks: AsyncGenerator<unknown>,
): Promise<FastifyReply> {
  const framing = framingFor(req.query.alt);
  // The first chunk is awaited before any header is written, so an error that happens
  // while composing it is an ordinary error response, not an event in a 200 stream.
  const first = await chunks.next();
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, {
    'content-type': framing.contentType,
    'cache-control': 'no-cache',
    'x-request-id': String(req.id),
    'x-accel-buffering': 'no',
  });
  // Waits for the socket to drain, or to close: a client that leaves with a full buffer must not hang us.
  const write = (s: string) =>
    s && !raw.destroyed
      ? new Promise<void>((resolve) => {
          if (raw.write(s)) return resolve();
          const done = () => {
            raw.off('drain', done);
            raw.off('close', done);
            resolve();
          };
          raw.once('drain', done);
          raw.once('close', done);
        })
      : undefined;
  await write(framing.open);
  let isFirst = true;
  try {
    for (let r = first; !r.done; r = await chunks.next()) {
      if (raw.destroyed) break;
      await write(framing.chunk(r.value, isFirst));
      isFirst = false;
    }
  } catch (err) {
    // Mid-stream failures go out as a normal event carrying the error envelope; both SDKs raise it.
    const apiError = err instanceof ApiError ? err : internal();
    if (!(err instanceof ApiError)) req.log.error({ err }, 'stream failed');
    if (!raw.destroyed) await write(framing.chunk(errorBody(apiError), isFirst));
  } finally {
    if (!raw.destroyed) raw.end(framing.close);
    await chunks.return(undefined);
  }
  return reply;
}
