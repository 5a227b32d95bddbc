/**
 * Request metrics taken from the HTTP layer: one observation per answered request, when
 * its response closes. Hooked on the raw response's `close`, not Fastify's onResponse, so
 * streamed answers (the route hijacks the reply) count with their whole duration and
 * aborted requests count too.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Metrics } from './registry.js';

export interface HttpMetricsOptions {
  /** The catalogue id of a model name, or undefined for a name the server does not serve (keeps labels bounded). */
  modelId: (name: string) => string | undefined;
}

/** `/v1beta/models/:target` with `gemini-2.5-flash:generateContent` → route `/v1beta/models/{model}:generateContent`. */
export function routeAndModel(req: FastifyRequest, modelId: HttpMetricsOptions['modelId']): { route: string; model: string } {
  const pattern = req.routeOptions.url;
  if (!pattern) return { route: 'unmatched', model: '' };
  const params = (req.params ?? {}) as Record<string, unknown>;
  const target = typeof params.target === 'string' ? params.target : typeof params.name === 'string' ? params.name : undefined;
  if (target === undefined || !/\/models\/:(target|name)$/.test(pattern)) return { route: pattern, model: '' };
  const colon = target.lastIndexOf(':');
  const [name, method] = colon < 0 ? [target, ''] : [target.slice(0, colon), target.slice(colon + 1)];
  const route = pattern.replace(/:(target|name)$/, `{model}${method ? `:${method}` : ''}`);
  return { route, model: modelId(name) ?? 'unknown' };
}

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v)?.trim().toLowerCase() || undefined;
};

export function registerHttpMetrics(app: FastifyInstance, metrics: Metrics, opts: HttpMetricsOptions): void {
  app.addHook('onRequest', async (req, reply) => {
    const started = performance.now();
    reply.raw.once('close', () => {
      const { route, model } = routeAndModel(req, opts.modelId);
      const status = reply.raw.headersSent ? reply.raw.statusCode : 499; // 499: the client left before any answer
      metrics.observeRequest({ route, method: req.method, model, status, seconds: (performance.now() - started) / 1000 });
      if (route.startsWith('/upload/')) countUpload(req, reply.raw.statusCode, (name) => reply.getHeader(name) ?? reply.raw.getHeader(name), metrics);
    });
  });
}

/** Upload bytes and resumable sessions, read from the request and the answer's headers. */
function countUpload(req: FastifyRequest, status: number, responseHeader: (name: string) => unknown, metrics: Metrics): void {
  if (status < 200 || status >= 300) return;
  const query = (req.query ?? {}) as Record<string, unknown>;
  const command = header(req, 'x-goog-upload-command') ?? '';
  const length = Number(req.headers['content-length'] ?? 0);
  if (typeof query.upload_id === 'string') {
    // A chunk (or query/cancel) against a session URL: its body is file bytes.
    if (command.includes('upload') && Number.isFinite(length)) metrics.uploadBytes(length);
    if (command.includes('cancel')) metrics.uploadSession('cancelled');
    else if (String(responseHeader('x-goog-upload-status') ?? '') === 'final' && command.includes('finalize')) metrics.uploadSession('finalized');
    return;
  }
  if (responseHeader('x-goog-upload-url') !== undefined) {
    metrics.uploadSession('started');
    return;
  }
  // Raw and multipart uploads carry the file in this one body.
  if (Number.isFinite(length)) metrics.uploadBytes(length);
}
