/**
 * Builds the HTTP application from its dependencies. Cross-cutting concerns live here
 * once: request ids in every log line, lenient JSON body parsing, authentication, and the
 * single mapping of every thrown error to Gemini's error envelope.
 */
import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { JsonSyntaxError, parseLenientJson } from '../wire/lenient-json.js';
import { MediaError } from '../media/errors.js';
import { createAuthenticator, type Principal } from './auth.js';
import { ApiError, internal, invalidArgument, notFound } from './errors.js';
import { publicBaseUrl } from './public-url.js';

export const API_VERSIONS = ['v1beta', 'v1', 'v1alpha'] as const;

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
    /** Absolute base URL as the client sees this server (no trailing slash). */
    publicBase: string;
  }
  interface FastifyContextConfig {
    /** Routes that authenticate by other means (resumable upload URLs carry their own credential). */
    skipAuth?: boolean;
  }
}

/** A group of routes; registered once per API version prefix. */
export type RouteModule = (app: FastifyInstance) => void | Promise<void>;

export interface AppOptions {
  config: Config;
  logger: Logger;
  /** Routes under /{version}/…, e.g. models, generate, files. */
  apiRoutes: RouteModule[];
  /** Routes under /upload/{version}/…. */
  uploadRoutes: RouteModule[];
  /** Routes at the root, each in its own scope (the playground's page and preview). */
  rootRoutes?: RouteModule[];
  /** Readiness details for /healthz (engine, models loaded). */
  health?: () => Record<string, unknown>;
  /** Called when the server closes (stop sweepers, close stores). */
  onClose?: () => Promise<void> | void;
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { config } = opts;
  const app = Fastify({
    // pino's Logger is what Fastify wraps; the cast keeps the default FastifyInstance type.
    loggerInstance: opts.logger as unknown as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
    },
    bodyLimit: config.limits.requestBytes,
    // Model names carry dots and colons (`gemini-2.5-flash:generateContent`).
    routerOptions: { maxParamLength: 512, ignoreDuplicateSlashes: true },
    forceCloseConnections: 'idle',
  });

  const authenticate = createAuthenticator(config.apiKeys);

  app.decorateRequest('principal', null as unknown as Principal);
  app.decorateRequest('publicBase', '');

  // Gemini parses every body as JSON whatever its content type (curl -d sends
  // x-www-form-urlencoded), and GET/DELETE may come with `content-type: json` and no body.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, parseLenientJson(text));
    } catch (err) {
      const reason = err instanceof JsonSyntaxError ? err.message : String(err);
      done(invalidArgument(`Invalid JSON payload received. ${reason}`), undefined);
    }
  });

  // Browser clients (the SDK's web build, the playground on another origin) need CORS, and
  // must be able to read the resumable-upload headers.
  await app.register(cors, {
    origin: true,
    exposedHeaders: [
      'x-goog-upload-url',
      'x-goog-upload-control-url',
      'x-goog-upload-status',
      'x-goog-upload-chunk-granularity',
      'x-goog-upload-size-received',
      'x-request-id',
      'retry-after',
    ],
    maxAge: 3600,
  });

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('x-request-id', req.id);
    req.publicBase = publicBaseUrl(config.publicUrl, req);
    if (req.routeOptions.config?.skipAuth || req.method === 'OPTIONS') return;
    const query = req.query as Record<string, unknown> | undefined;
    req.principal = authenticate({
      headerKey: header(req, 'x-goog-api-key'),
      queryKey: typeof query?.key === 'string' ? query.key : undefined,
      authorization: header(req, 'authorization'),
    });
  });

  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    const apiError = toApiError(err, config.limits.requestBytes);
    if (apiError.httpStatus >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ status: apiError.httpStatus, message: apiError.message }, 'request rejected');
    void reply.code(apiError.httpStatus).headers(apiError.headers).type('application/json').send(apiError.toBody());
  });

  app.setNotFoundHandler((req, reply) => {
    const err = notFound(`Method not found: ${req.method} ${req.url.split('?')[0]}`);
    void reply.code(404).type('application/json').send(err.toBody());
  });

  for (const version of API_VERSIONS) {
    await app.register(
      async (scope) => {
        for (const routes of opts.apiRoutes) await routes(scope);
      },
      { prefix: `/${version}` },
    );
    await app.register(
      async (scope) => {
        for (const routes of opts.uploadRoutes) await routes(scope);
      },
      { prefix: `/upload/${version}` },
    );
  }

  app.get('/healthz', { config: { skipAuth: true } }, async () => ({ status: 'ok', ...opts.health?.() }));
  for (const routes of opts.rootRoutes ?? []) await app.register(async (scope) => routes(scope));

  if (opts.onClose) app.addHook('onClose', async () => opts.onClose?.());
  return app;
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Maps anything thrown to the Gemini error it should be on the wire. */
export function toApiError(err: unknown, requestBytes: number): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof MediaError) return invalidArgument(err.message);
  const code = (err as FastifyError | undefined)?.code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return invalidArgument(`Request payload size exceeds the limit: ${requestBytes} bytes.`);
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH')
    return invalidArgument((err as Error).message);
  const status = (err as FastifyError | undefined)?.statusCode;
  if (status && status >= 400 && status < 500) return invalidArgument((err as Error).message);
  return internal();
}
