/**
 * The Prometheus metrics of one server instance. Each `createMetrics` call owns its own
 * prom-client Registry (no module-level default registry), so tests that start several
 * servers in one process get separate, exact counts.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ProviderMetrics, StoreMetrics } from './ports.js';

/** What the vision pool's admission reports (src/vision/admission.ts AdmissionStats, read-only). */
export interface PoolSnapshot {
  admitted: number;
  running: number;
  waiting: number;
  refused: number;
  timedOut: number;
}

export interface RequestObservation {
  route: string;
  method: string;
  model: string;
  status: number;
  seconds: number;
}

export interface Metrics extends ProviderMetrics, StoreMetrics {
  readonly registry: Registry;
  observeRequest(o: RequestObservation): void;
  tokens(model: string, input: number, output: number): void;
  image(format: string): void;
  /** One model stage's run time as the vision pool reported it. */
  inference(model: string, stage: string, seconds: number): void;
  uploadBytes(bytes: number): void;
  uploadSession(event: 'started' | 'finalized' | 'cancelled'): void;
  /** One lookup in the analysis cache (src/vision/analysis-cache.ts). */
  analysisCache(result: 'hit' | 'miss' | 'joined' | 'shared'): void;
  /** Reads the pool's admission state at every scrape. */
  watchPool(stats: () => PoolSnapshot): void;
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

const PREFIX = 'ocellus_';

/** Request latency: from a cached countTokens (ms) to a detailed answer under load (tens of s). */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** One model stage: SSD ~50 ms, SAM encode ~1 s, OCR of a page several seconds. */
const STAGE_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: PREFIX });

  const requests = new Counter({
    name: `${PREFIX}http_requests_total`,
    help: 'HTTP requests answered, by route pattern, method, model and status code.',
    labelNames: ['route', 'method', 'model', 'status'] as const,
    registers,
  });
  const latency = new Histogram({
    name: `${PREFIX}http_request_duration_seconds`,
    help: 'Time from the request arriving to the last byte of its answer (streams included).',
    labelNames: ['route', 'model', 'status'] as const,
    buckets: REQUEST_BUCKETS,
    registers,
  });
  const tokens = new Counter({
    name: `${PREFIX}tokens_total`,
    help: 'Tokens reported in usageMetadata: direction="in" is promptTokenCount, "out" candidatesTokenCount.',
    labelNames: ['model', 'direction'] as const,
    registers,
  });
  const images = new Counter({
    name: `${PREFIX}images_total`,
    help: 'Images accepted in generateContent requests, by decoded format.',
    labelNames: ['format'] as const,
    registers,
  });
  const inference = new Histogram({
    name: `${PREFIX}model_inference_seconds`,
    help: 'Model run time per stage as the vision worker measured it.',
    labelNames: ['model', 'stage'] as const,
    buckets: STAGE_BUCKETS,
    registers,
  });
  const uploadBytes = new Counter({
    name: `${PREFIX}upload_bytes_total`,
    help: 'File bytes received by uploads that were accepted (chunk, raw and multipart bodies).',
    registers,
  });
  const uploadSessions = new Counter({
    name: `${PREFIX}upload_sessions_total`,
    help: 'Resumable upload sessions started, finalized (a file was made) and cancelled.',
    labelNames: ['event'] as const,
    registers,
  });
  const providerCalls = new Counter({
    name: `${PREFIX}provider_calls_total`,
    help: 'Calls the router made to a provider, by provider and capability.',
    labelNames: ['provider', 'capability'] as const,
    registers,
  });
  const providerErrors = new Counter({
    name: `${PREFIX}provider_errors_total`,
    help: 'Provider calls that failed (before or after their first piece).',
    labelNames: ['provider', 'capability'] as const,
    registers,
  });
  const providerFallbacks = new Counter({
    name: `${PREFIX}provider_fallbacks_total`,
    help: 'Requests handed from one provider to the next after a retryable failure.',
    labelNames: ['from', 'to', 'capability'] as const,
    registers,
  });
  const store = new Histogram({
    name: `${PREFIX}store_operation_seconds`,
    help: 'Latency of blob store and metadata database operations.',
    labelNames: ['store', 'op', 'outcome'] as const,
    buckets: STORE_BUCKETS,
    registers,
  });

  const analysisLookups = new Counter({
    name: `${PREFIX}analysis_cache_lookups_total`,
    help: 'Images whose model analysis was looked up by hash: result="hit" (kept), "joined" (an identical run in flight), "shared" (kept by another replica, --redis-url), "miss" (models ran).',
    labelNames: ['result'] as const,
    registers,
  });

  let pool: (() => PoolSnapshot) | undefined;
  // Cumulative counts live in the admission object; the counters follow them at scrape time.
  let seenRefused = 0;
  let seenTimedOut = 0;
  const snapshot = () => pool?.();
  new Gauge({
    name: `${PREFIX}vision_queue_depth`,
    help: 'Model tasks waiting for a worker thread now.',
    registers,
    collect() {
      const s = snapshot();
      if (s) this.set(s.waiting);
    },
  });
  new Gauge({
    name: `${PREFIX}vision_running`,
    help: 'Model tasks running on worker threads now.',
    registers,
    collect() {
      const s = snapshot();
      if (s) this.set(s.running);
    },
  });
  new Gauge({
    name: `${PREFIX}vision_admitted_requests`,
    help: 'Requests holding a place in the model queue now (running or waiting).',
    registers,
    collect() {
      const s = snapshot();
      if (s) this.set(s.admitted);
    },
  });
  new Counter({
    name: `${PREFIX}vision_rejections_total`,
    help: 'Requests the model queue turned away: reason="queue_full" (429), "queue_timeout" (503).',
    labelNames: ['reason'] as const,
    registers,
    collect() {
      const s = snapshot();
      if (!s) return;
      if (s.refused > seenRefused) this.inc({ reason: 'queue_full' }, s.refused - seenRefused);
      if (s.timedOut > seenTimedOut) this.inc({ reason: 'queue_timeout' }, s.timedOut - seenTimedOut);
      seenRefused = s.refused;
      seenTimedOut = s.timedOut;
    },
  });

  return {
    registry,
    observeRequest(o) {
      const status = String(o.status);
      requests.inc({ route: o.route, method: o.method, model: o.model, status });
      latency.observe({ route: o.route, model: o.model, status }, o.seconds);
    },
    tokens(model, input, output) {
      if (input > 0) tokens.inc({ model, direction: 'in' }, input);
      if (output > 0) tokens.inc({ model, direction: 'out' }, output);
    },
    image: (format) => images.inc({ format }),
    inference: (model, stage, seconds) => inference.observe({ model, stage }, seconds),
    uploadBytes: (bytes) => {
      if (bytes > 0) uploadBytes.inc(bytes);
    },
    uploadSession: (event) => uploadSessions.inc({ event }),
    providerCall: (provider, capability) => providerCalls.inc({ provider, capability }),
    providerError: (provider, capability) => providerErrors.inc({ provider, capability }),
    providerFallback: (from, to, capability) => providerFallbacks.inc({ from, to, capability }),
    storeOperation: (storeName, op, seconds, ok) => store.observe({ store: storeName, op, outcome: ok ? 'ok' : 'error' }, seconds),
    analysisCache: (result) => analysisLookups.inc({ result }),
    watchPool(stats) {
      pool = stats;
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
