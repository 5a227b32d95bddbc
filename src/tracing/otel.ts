/**
 * OpenTelemetry behind the Spans interface, exporting over OTLP/HTTP (JSON) to
 * `${OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces`. Loaded only when that endpoint is set
 * (tracing/setup.ts imports this module dynamically), so a server without tracing never
 * loads the SDK.
 *
 * The tracer provider is this server's own, not registered globally: tests start several
 * servers in one process, and each must export to its own endpoint and flush on close. Only
 * the context manager (AsyncLocalStorage) is process-wide by nature; it is installed once.
 */
import { context, propagation, trace, SpanKind, SpanStatusCode, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { SpanAttributes, Spans } from './spans.js';

export interface OtelTracing {
  spans: Spans;
  tracer: Tracer;
  /** Parent context carried by a request's `traceparent` header. */
  extract(headers: Record<string, string | string[] | undefined>): Context;
  shutdown(): Promise<void>;
}

let contextInstalled = false;

function clean(attributes: SpanAttributes): Record<string, string | number | boolean> {
  return Object.fromEntries(Object.entries(attributes).filter((e): e is [string, string | number | boolean] => e[1] !== undefined));
}

export function startOtel(opts: { endpoint: string; serviceName: string }): OtelTracing {
  if (!contextInstalled) {
    contextInstalled = context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${opts.endpoint}/v1/traces` }), { scheduledDelayMillis: 1000 }),
    ],
  });
  const tracer = provider.getTracer('ocellus');

  const fail = (span: Span, err: unknown) => {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message ?? String(err) });
  };

  const spans: Spans = {
    enabled: true,
    run(name, attributes, fn) {
      return tracer.startActiveSpan(name, { attributes: clean(attributes) }, async (span) => {
        try {
          return await fn();
        } catch (err) {
          fail(span, err);
          throw err;
        } finally {
          span.end();
        }
      });
    },
    iterate(name, attributes, source) {
      return {
        [Symbol.asyncIterator]() {
          const span = tracer.startSpan(name, { attributes: clean(attributes) });
          const ctx = trace.setSpan(context.active(), span);
          const it = context.with(ctx, () => source()[Symbol.asyncIterator]());
          let ended = false;
          const end = () => {
            if (!ended) span.end();
            ended = true;
          };
          return {
            async next() {
              try {
                const r = await context.with(ctx, () => it.next());
                if (r.done) end();
                return r;
              } catch (err) {
                fail(span, err);
                end();
                throw err;
              }
            },
            async return(value?: unknown) {
              end();
              return (await it.return?.(value)) ?? { done: true as const, value: undefined };
            },
          } as AsyncIterator<never>;
        },
      };
    },
    recordDone(name, attributes, durationMs) {
      const endTime = Date.now();
      tracer.startSpan(name, { attributes: clean(attributes), startTime: endTime - durationMs }).end(endTime);
    },
    activeIds() {
      const sc = trace.getActiveSpan()?.spanContext();
      return sc ? { trace_id: sc.traceId, span_id: sc.spanId } : undefined;
    },
  };

  return {
    spans,
    tracer,
    extract: (headers) => propagation.extract(context.active(), headers),
    shutdown: () => provider.shutdown(),
  };
}

export { SpanKind, SpanStatusCode, context, trace };
