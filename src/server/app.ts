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
import { nextTurn } from '../loop-turns.js';
import { JsonSyntaxError, parseLenientJson } from '../wire/lenient-json.js';
import { createAccessCheck } from './access.js';
import { createAuthenticator, createKeyAuthenticator, type Principal } from './auth.js';
import { BodyWatchdog, hasBody, type BodyWatch } from './body-timeouts.js';
import { settleUnreadBody } from './unread-body.js';
import { ApiError, internal, invalidArgument, notFound } from '../errors.js';
import { errorBody } from './error-envelope.js';
import { publicBaseUrl } from './public-url.js';
import { clientErrorHandler, connectRefused, expectationFailed, frameworkErrorHandler } from './framework-errors.js';
import { parseQueryFirstWins } from './query.js';
import type { Readiness } from './health.js';
import type { Metrics } from '../metrics/registry.js';
import { registerHttpMetrics } from '../metrics/http.js';
import type { KeyLookup } from '../keys/lookup.js';

export const API_VERSIONS = ['v1beta', 'v1', 'v1alpha'] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
    /** Absolute base URL as the client sees this server (no trailing slash). */
    publicBase: string;
    /** The API version of the path (`/v1/…`, `/upload/v1beta/…`), set once by the version's scope. */
    apiVersion: ApiVersion;
  }
  interface FastifyContextConfig {
    /** Routes that authenticate by other means (resumable upload URLs carry their own credential). */
    skipAuth?: boolean;
    /** Upload bodies: judged by progress only, no whole-request deadline (a 2 GB file takes its time). */
    streamedBody?: boolean;
    /** Runs once the body is in, before it is decoded and parsed; throwing refuses the request (see routes/generate.ts). */
    beforeParse?: (req: FastifyRequest) => void;
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
  /** Per-key rate limit (--requests-per-minute): counts the authenticated request, throws the 429. */
  limitRequest?: (principal: Principal) => Promise<void>;
  /** /readyz: models warm, dependencies reachable, not draining. */
  readiness?: Readiness;
  /** Request metrics for every route, and GET /metrics unless they are served on their own port. */
  metrics?: { registry: Metrics; modelId: (name: string) => string | undefined; route: boolean };
  /** Request spans (tracing/setup.ts); runs before any hook or route is added. */
  instrument?: (app: FastifyInstance) => Promise<void>;
  /** Keys made with `ocellus keys create`, accepted besides config.apiKeys. */
  storedKeys?: KeyLookup;
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
    routerOptions: { maxParamLength: 512, ignoreDuplicateSlashes: true, querystringParser: parseQueryFirstWins },
    forceCloseConnections: 'idle',
    // X-Forwarded-For/-Proto/-Host count only behind a proxy the operator vouches for.
    trustProxy: config.access.trustProxy,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    // Bodies are timed per route in the preParsing hook below; Node's one-size requestTimeout
    // would cut long uploads. Headers keep Node's own check, checked often enough to be exact.
    requestTimeout: 0,
    http: {
      headersTimeout: config.http.headersTimeoutMs,
      connectionsCheckingInterval: Math.max(250, Math.min(30_000, Math.floor(config.http.headersTimeoutMs / 4))),
    },
    // Errors before a route (bad percent-encoding, an over-long path segment, Node's parser
    // errors such as 431 and 408) get Gemini's envelope too, and keep-alive clients get the
    // answer instead of a reset (framework-errors.ts).
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler: clientErrorHandler(opts.logger),
  });
  await opts.instrument?.(app);
  app.server.on('checkExpectation', expectationFailed);
  app.server.on('connect', connectRefused);
  app.server.maxConnections = config.http.maxConnections;
  let lastDropLog = 0;
  app.server.on('drop', () => {
    if (Date.now() - lastDropLog < 10_000) return;
    lastDropLog = Date.now();
    app.log.warn({ maxConnections: config.http.maxConnections }, 'connection limit reached: refusing new connections');
  });
  if (opts.metrics) registerHttpMetrics(app, opts.metrics.registry, { modelId: opts.metrics.modelId });
  const watchdog = new BodyWatchdog({
    checkEveryMs: Math.max(25, Math.min(1000, Math.floor(config.http.bodyIdleTimeoutMs / 4))),
  });
  const bodyWatches = new WeakMap<FastifyRequest, BodyWatch>();

  const authenticate = opts.storedKeys ? createKeyAuthenticator(config.apiKeys, opts.storedKeys) : createAuthenticator(config.apiKeys);
  // Stored keys existing at start make the server keyed for the Host check too.
  const keyed = config.apiKeys.length > 0 || (opts.storedKeys ? await opts.storedKeys.enforced() : false);

  app.decorateRequest('principal', null as unknown as Principal);
  app.decorateRequest('publicBase', '');
  app.decorateRequest('apiVersion', 'v1beta');

  // Gemini parses every body as JSON whatever its content type (curl -d sends
  // x-www-form-urlencoded), and GET/DELETE may come with `content-type: json` and no body.
  app.removeAllContentTypeParsers();
  // Read as bytes, decoded here: a request the route refuses before parsing costs no decode.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
    try {
      req.routeOptions.config?.beforeParse?.(req);
    } catch (err) {
      return done(err as Error, undefined);
    }
    // Parsed in a loop turn of its own: bodies that finish arriving together are not all
    // parsed (and handled) in one go while the loop waits (src/loop-turns.ts).
    void nextTurn().then(() => {
      const text = (body as Buffer).toString('utf8').trim();
      if (text === '') return done(null, undefined);
      try {
        done(null, parseLenientJson(text));
      } catch (err) {
        const reason = err instanceof JsonSyntaxError ? err.message : String(err);
        done(invalidArgument(`Invalid JSON payload received. ${reason}`), undefined);
      }
    });
  });

  // Host and Origin are checked before anything else (CORS, auth, bodies): see access.ts.
  const accessCheck = createAccessCheck({
    access: config.access,
    keyed,
    publicUrl: config.publicUrl,
    bindHost: config.host,
  });
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const refused = accessCheck(req);
    if (refused) {
      req.log.info({ reason: refused.code, status: refused.httpStatus, message: refused.message }, 'request refused');
      // Answered here, not thrown: the CORS plugin's OPTIONS route was registered before the
      // error handler and would not put the refusal in Gemini's envelope.
      void reply.header('x-request-id', req.id);
      // The body is not read: close the connection rather than drain it.
      if (hasBody(req.raw) && !req.raw.complete) void reply.header('connection', 'close');
      return reply.code(refused.httpStatus).type('application/json').send(errorBody(refused));
    }
  });

  // Every body goes through the watchdog: a stalled or trickled body ends in 408.
  app.addHook('preParsing', async (req, reply, payload) => {
    if (!hasBody(req.raw) || req.raw.complete) return payload;
    const watch = watchdog.watch(req.raw, {
      idleMs: config.http.bodyIdleTimeoutMs,
      deadline: req.routeOptions.config?.streamedBody ? undefined : Date.now() + config.http.requestTimeoutMs,
      onTimeout: (err, responded) => {
        if (responded) req.log.info('request body timed out after the response; connection closed');
        else {
          req.log.info({ message: err.message }, 'request body timed out');
          void reply.header('connection', 'close');
        }
      },
    });
    bodyWatches.set(req, watch);
    return watch.stream;
  });
  app.addHook('onResponse', async (req) => {
    bodyWatches.get(req)?.responded();
  });
  // An answer sent before the body was read (early 429/503, access refusals, 413) must reach
  // a client still writing it: drain a declared rest within the limit, else a staged close.
  app.addHook('onSend', async (req, reply, payload) => {
    settleUnreadBody(req.raw, reply, req.routeOptions.bodyLimit ?? config.limits.requestBytes);
    return payload;
  });
  app.addHook('onClose', async () => watchdog.close());

  // Browser clients (the SDK's web build, a web app on an origin allowed above) need CORS,
  // and must be able to read the resumable-upload headers. Only allowed origins get here.
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
    // A bare OPTIONS (no Origin or Access-Control-Request-Method) gets 204, not the plugin's
    // text/plain 400 outside Gemini's envelope.
    strictPreflight: false,
  });

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('x-request-id', req.id);
    req.publicBase = publicBaseUrl(config.publicUrl, req, config.access.trustProxy);
    if (req.routeOptions.config?.skipAuth || req.method === 'OPTIONS') return;
    const query = req.query as Record<string, unknown> | undefined;
    req.principal = await authenticate({
      headerKey: header(req, 'x-goog-api-key'),
      queryKey: typeof query?.key === 'string' ? query.key : undefined,
      authorization: header(req, 'authorization'),
    });
    // Counted after authentication: an unknown key is refused without spending anyone's quota.
    if (opts.limitRequest) await opts.limitRequest(req.principal);
  });

  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    const apiError = toApiError(err, config.limits.requestBytes);
    if (apiError.httpStatus >= 500) req.log.error({ err, reason: apiError.code }, 'request failed');
    else req.log.info({ reason: apiError.code, status: apiError.httpStatus, message: apiError.message }, 'request rejected');
    void reply.code(apiError.httpStatus).headers(apiError.headers).type('application/json').send(errorBody(apiError));
  });

  app.setNotFoundHandler((req, reply) => {
    const err = notFound(`Method not found: ${req.method} ${req.url.split('?')[0]}`);
    void reply.code(404).type('application/json').send(errorBody(err));
  });

  for (const version of API_VERSIONS) {
    // The version is read from the scope, once per request: routes use req.apiVersion.
    const setVersion = async (req: FastifyRequest): Promise<void> => {
      req.apiVersion = version;
    };
    await app.register(
      async (scope) => {
        scope.addHook('onRequest', setVersion);
        for (const routes of opts.apiRoutes) await routes(scope);
      },
      { prefix: `/${version}` },
    );
    await app.register(
      async (scope) => {
        scope.addHook('onRequest', setVersion);
        for (const routes of opts.uploadRoutes) await routes(scope);
      },
      { prefix: `/upload/${version}` },
    );
  }

  app.get('/healthz', { config: { skipAuth: true } }, async () => ({ status: 'ok', ...opts.health?.() }));
  const readiness = opts.readiness;
  if (readiness)
    app.get('/readyz', { config: { skipAuth: true } }, async (_req, reply) => {
      const report = await readiness.report();
      return reply.code(report.ready ? 200 : 503).send({ status: report.ready ? 'ready' : 'not ready', ...report });
    });
  // Like /healthz, no API key: scrapers and probes carry none, and the numbers name no key
  // or file. The Host/Origin check above still applies; --metrics-port keeps them off the
  // public port altogether.
  const metrics = opts.metrics;
  if (metrics?.route)
    app.get('/metrics', { config: { skipAuth: true } }, async (_req, reply) => {
      const { contentType, body } = await metrics.registry.render();
      return reply.type(contentType).send(body);
    });
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
  // MediaError and ProviderError are ApiErrors with catalogue codes of their own.
  if (err instanceof ApiError) return err;
  const code = (err as FastifyError | undefined)?.code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return invalidArgument(`Request payload size exceeds the limit: ${requestBytes} bytes.`);
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH')
    return invalidArgument((err as Error).message);
  const status = (err as FastifyError | undefined)?.statusCode;
  if (status && status >= 400 && status < 500) return invalidArgument((err as Error).message);
  return internal(undefined, err);
}
