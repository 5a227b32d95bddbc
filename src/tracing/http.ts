/**
 * The request span: started when a request arrives (a child of the caller's `traceparent`
 * when there is one), named by its route once routed, ended when the response closes
 * (streams included). Every route handler runs inside it, so the plan, provider, model and
 * store spans below it are its children and log lines carry its trace id.
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Span } from '@opentelemetry/api';
import type { OtelTracing } from './otel.js';

export async function registerRequestSpans(app: FastifyInstance, otel: OtelTracing): Promise<void> {
  const { context, trace, SpanKind, SpanStatusCode } = await import('./otel.js');
  const spans = new WeakMap<FastifyRequest, Span>();
  app.addHook('onRequest', async (req, reply) => {
    const parent = otel.extract(req.headers);
    const span = otel.tracer.startSpan(
      `${req.method} ${req.routeOptions.url ?? 'unmatched'}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': req.method,
          'http.route': req.routeOptions.url ?? '',
          'url.path': req.url.split('?')[0] ?? '',
          'ocellus.request_id': String(req.id),
        },
      },
      parent,
    );
    spans.set(req, span);
    // Every line the request logs, in hooks and the error handler too, carries its trace.
    const ids = span.spanContext();
    req.log = req.log.child({ trace_id: ids.traceId, span_id: ids.spanId });
    reply.raw.once('close', () => {
      const status = reply.raw.headersSent ? reply.raw.statusCode : 499;
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
  });
  // Handlers run inside the request span's context (hooks cannot carry it across).
  app.addHook('onRoute', (route: RouteOptions) => {
    const handler = route.handler;
    route.handler = function (this: FastifyInstance, req, reply) {
      const span = spans.get(req);
      if (!span) return handler.call(this, req, reply);
      return context.with(trace.setSpan(context.active(), span), () => handler.call(this, req, reply));
    };
  });
}
