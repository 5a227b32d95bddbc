/**
 * The one tracing interface the rest of the code is handed. With tracing off it is
 * `NO_SPANS`, which only calls through (no OpenTelemetry code runs or is even loaded);
 * with tracing on, tracing/otel.ts backs it with @opentelemetry/api spans.
 */
export type SpanAttributes = Record<string, string | number | boolean | undefined>;

export interface Spans {
  readonly enabled: boolean;
  /** Runs `fn` inside a span named `name` (a child of the active span); errors mark it failed. */
  run<T>(name: string, attributes: SpanAttributes, fn: () => Promise<T>): Promise<T>;
  /** Wraps an async iterable: the span lasts from the first pull to the end of the iteration. */
  iterate<T>(name: string, attributes: SpanAttributes, source: () => AsyncIterable<T>): AsyncIterable<T>;
  /** A span for work measured elsewhere (the vision worker's stage times), ending now. */
  recordDone(name: string, attributes: SpanAttributes, durationMs: number): void;
  /** Trace and span ids of the active span, for log lines. */
  activeIds(): { trace_id: string; span_id: string } | undefined;
}

export const NO_SPANS: Spans = {
  enabled: false,
  run: (_name, _attributes, fn) => fn(),
  iterate: (_name, _attributes, source) => source(),
  recordDone: () => undefined,
  activeIds: () => undefined,
};
