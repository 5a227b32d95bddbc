/**
 * Tracing for one server: off (NO_SPANS, nothing loaded) unless an OTLP endpoint is
 * configured, in which case the OpenTelemetry modules are imported now.
 */
import type { FastifyInstance } from 'fastify';
import { NO_SPANS, type Spans } from './spans.js';

export interface Tracing {
  spans: Spans;
  /** Adds the request span hooks; call before any route is registered. */
  instrument(app: FastifyInstance): Promise<void>;
  close(): Promise<void>;
}

export async function openTracing(opts: { endpoint: string | undefined; serviceName: string }): Promise<Tracing> {
  if (!opts.endpoint) return { spans: NO_SPANS, instrument: async () => undefined, close: async () => undefined };
  const { startOtel } = await import('./otel.js');
  const { registerRequestSpans } = await import('./http.js');
  const otel = startOtel({ endpoint: opts.endpoint, serviceName: opts.serviceName });
  return {
    spans: otel.spans,
    instrument: (app) => registerRequestSpans(app, otel),
    close: () => otel.shutdown(),
  };
}
