/**
 * The one typed configuration object of the server. Built from CLI flags, then OCELLUS_*
 * environment variables, then defaults. The other readers of the environment, and why
 * they are not here:
 * - engine/routing-file.ts expands `${VAR}` in routing files, so provider keys stay out of
 *   the file (the environment is a parameter, process.env by default);
 * - cli/ask.ts, cli/label.ts and cli/pull.ts are clients that run without a server Config
 *   (the ask and label commands' key and base URL; the model hub's endpoint and token);
 * - vision/detect/model-files.ts finds detector weights for tools that have no Config
 *   (bench, eval, tests) through OCELLUS_MODELS_DIR and OCELLUS_MODEL_CACHE; the server
 *   passes config.modelsDir;
 * - vision/pool.ts falls back to OCELLUS_VISION_INTRA_THREADS and OCELLUS_SAM_WIDE_THREADS for
 *   pools built without a Config (the benchmarks' bare runs); the server passes
 *   config.vision.intraOpThreads and config.vision.samWideThreads;
 * - files/s3-client.ts leaves the S3 credentials to the AWS SDK's default chain
 *   (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, profiles, roles), as every S3 tool does;
 * - server/native-env.ts writes, not reads, a variable that onnxruntime reads natively.
 */
import path from 'node:path';
import { z } from 'zod';
import { DETECTOR_IDS, ONNX_DETECTORS } from './vision/detect/ids.js';
import { DEFAULT_HEAP_GROWTH } from './heap-growth.js';

const MiB = 1024 * 1024;
/**
 * Default pixel budget of one request: 8 images of ~10,000×10,000 decoded at once took
 * 2.4 GB of RGB and left 1.4 GB of RSS behind; 150 MP (450 MB of RGB) still takes one
 * image at the per-image limit plus a handful of phone photos.
 */
const DEFAULT_REQUEST_PIXELS = 150_000_000;
const GiB = 1024 * MiB;

export interface Limits {
  /** Largest JSON request body (generateContent with inline images). Gemini's classic limit is 20 MB. */
  requestBytes: number;
  /** Largest single uploaded file. */
  fileBytes: number;
  /** Total bytes of live files per project (API key). */
  projectBytes: number;
  /** Most images in one request (Gemini: 3,600). */
  imagesPerRequest: number;
  /** Decompression-bomb guard: most pixels an image may declare. */
  maxPixels: number;
  /** Most pixels (sum of width*height) of the images of one request; decoded pixels take 3 bytes each. */
  requestPixels: number;
  /** How long an uploaded file lives. */
  fileTtlMs: number;
  /** How long an unfinished resumable upload session lives. */
  uploadSessionTtlMs: number;
  /** How often expired files and sessions are swept. */
  sweepIntervalMs: number;
  /** Upload bytes are refused (503) when the data dir's file system would have less free space than this. */
  minFreeDiskBytes: number;
}

/** Timeouts and caps of the HTTP server: what a slow or greedy client may hold. */
export interface HttpConfig {
  /** Time to receive a request's headers (Node's headersTimeout; also covers a new, silent connection). */
  headersTimeoutMs: number;
  /** A request body that delivers less than 1 KiB (and does not end) within this time is closed with 408. */
  bodyIdleTimeoutMs: number;
  /** Time to receive a whole ordinary request (headers and body); upload bodies are judged by progress only. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept open between requests. */
  keepAliveTimeoutMs: number;
  /** Most open connections; more are refused at accept. */
  maxConnections: number;
}

/** Who may talk to the server from where: Host names, browser origins, proxies. */
export interface AccessConfig {
  /** Extra Host names (with or without port) accepted in open mode; `*` accepts any. */
  allowedHosts: string[];
  /** Browser origins answered with CORS besides the server's own; `*` answers any. */
  corsOrigins: string[];
  /** Honour X-Forwarded-Host/-Proto/-Prefix/-For (only behind a reverse proxy that sets them). */
  trustProxy: boolean;
}

export interface VisionConfig {
  /** `vision`: the offline models; `measurements`: pixel measurements only (no models loaded). */
  engine: 'vision' | 'measurements';
  /** COCO detector id (one of DETECTOR_IDS) or none. */
  detector: string | null;
  /** The detector's runtime; undefined: onnxruntime where the detector has a conversion, else TF.js. */
  detectorRuntime: 'onnx' | 'tfjs' | undefined;
  segment: boolean;
  ocr: boolean;
  /** Rate images for safetyRatings / safetySettings (nsfwjs). */
  safety: boolean;
  /** Faces, expressions and body pose for questions about people. */
  people: boolean;
  /** Drop asserted labels an ImageNet classifier refutes on the box's crop (detect/verify-crop.ts). */
  verifyLabels: boolean;
  /** Detect boxes whose class is in doubt again, zoomed in (detect/closer-look.ts). */
  closerLook: boolean;
  /** Worker threads running the models. */
  threads: number;
  /** onnxruntime intra-op threads per model in each worker; undefined: the cores spread over the workers. */
  intraOpThreads: number | undefined;
  /** Threads of SAM's encoder when no other request is running (0: never more than intraOpThreads); undefined: every core. */
  samWideThreads: number | undefined;
  /** Requests that may wait for a worker before new ones get 429. */
  maxQueue: number;
  /** Longest a request's model task may wait for a worker before it fails with 503. */
  queueTimeoutMs: number;
  /** Analyses kept by image hash (src/vision/analysis-cache.ts); 0: none. */
  analysisCacheEntries: number;
  /** V8's --heap-growing-percent for the whole process (src/heap-growth.ts); 0: V8's own factor. */
  heapGrowthPercent: number;
  /** Load and run every model at start-up, before serving. */
  warm: boolean;
}

export interface ProvidersConfig {
  /** Routing file (YAML or JSON): providers and per-model routes. */
  routesFile: string | undefined;
  /** Quick setup without a file: an OpenAI-compatible vision server routed before the offline engine. */
  openai: { baseUrl: string; model: string; apiKey: string | undefined } | undefined;
  /** Quick setup without a file: upstream Gemini with the operator's key, routed before the offline engine. */
  gemini: { apiKey: string; baseUrl: string | undefined } | undefined;
  /** Where `ocellus pull` puts hub models and hub providers load them from. */
  modelsDir: string;
  /** Most bytes of hub model weights kept loaded at once; the least recently used is unloaded past it. */
  hubMemoryBytes: number;
  /** Default per-provider deadline for the first byte and between streamed pieces. */
  timeoutMs: number;
}

/** Running it in production: metrics, tracing, shutdown, stored keys. */
export interface OpsConfig {
  /** Serve /metrics on this port instead of the API port (undefined: on the API port). */
  metricsPort: number | undefined;
  /** Address the metrics port binds. */
  metricsHost: string;
  /** After SIGTERM, how long in-flight requests and streams may run before connections are cut. */
  shutdownGraceMs: number;
  /** OTLP/HTTP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT); tracing is off when unset. */
  otlpEndpoint: string | undefined;
  /** service.name of the spans (OTEL_SERVICE_NAME). */
  serviceName: string;
  /** Whether keys made with `ocellus keys create` are accepted (the key store in the data dir). */
  storedKeys: boolean;
}

/**
 * Shared state for several replicas (all optional; none set = the embedded single-node
 * default: SQLite and files under the data dir, limits counted in this process).
 */
export interface ScaleConfig {
  /** `postgres://…`: file and upload-session metadata, rate counters when there is no Redis. */
  databaseUrl: string | undefined;
  /** `redis://…`: shared rate-limit counters. */
  redisUrl: string | undefined;
  /** Where file bytes live; undefined = the data dir. */
  storage: S3Location | undefined;
  /** Per-key requests per minute (every authenticated request counts); undefined = no limit. */
  requestsPerMinute: number | undefined;
}

/** `s3://BUCKET[/PREFIX]?endpoint=URL&region=R&force_path_style=true`, parsed. */
export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing slash ('' for the bucket's root). */
  prefix: string;
  endpoint: string | undefined;
  region: string | undefined;
  forcePathStyle: boolean;
}

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** Externally visible base URL (scheme://host[:port][/prefix]); derived from each request when unset. */
  publicUrl: string | undefined;
  /** Keys that are accepted. Empty: the server runs open (local use). */
  apiKeys: string[];
  logLevel: string;
  limits: Limits;
  http: HttpConfig;
  access: AccessConfig;
  vision: VisionConfig;
  providers: ProvidersConfig;
  batch: BatchConfig;
  scale: ScaleConfig;
  ops: OpsConfig;
}

export interface BatchConfig {
  /** Batch requests run at once by the embedded queue (interactive requests still go first). */
  concurrency: number;
  /** A batch not finished this long after creation is EXPIRED (Gemini: 48 h). */
  expiryMs: number;
  /** A running batch request's lease (renewed while it runs); a dead replica's requests run elsewhere after it. */
  leaseMs: number;
}

/** Flags as the CLI parser hands them over: every value optional, strings or numbers. */
export interface ConfigFlags {
  port?: string | number;
  host?: string;
  dataDir?: string;
  publicUrl?: string;
  apiKey?: string[];
  logLevel?: string;
  maxRequestBytes?: string | number;
  maxFileBytes?: string | number;
  maxProjectBytes?: string | number;
  maxImages?: string | number;
  maxPixels?: string | number;
  maxRequestPixels?: string | number;
  fileTtlHours?: string | number;
  engine?: string;
  detector?: string;
  detectorRuntime?: string;
  segment?: boolean;
  ocr?: boolean;
  safety?: boolean;
  people?: boolean;
  verifyLabels?: boolean;
  closerLook?: boolean;
  visionThreads?: string | number;
  visionIntraThreads?: string | number;
  samWideThreads?: string | number;
  visionQueue?: string | number;
  visionQueueTimeout?: string | number;
  analysisCache?: string | number;
  heapGrowth?: string | number;
  warm?: boolean;
  routes?: string;
  openaiUrl?: string;
  openaiModel?: string;
  openaiApiKey?: string;
  geminiApiKey?: string;
  geminiUrl?: string;
  modelsDir?: string;
  hubMemoryMb?: string | number;
  providerTimeoutMs?: string | number;
  headersTimeoutMs?: string | number;
  bodyIdleTimeoutMs?: string | number;
  requestTimeoutMs?: string | number;
  keepAliveTimeoutMs?: string | number;
  maxConnections?: string | number;
  allowedHosts?: string[];
  corsOrigins?: string[];
  trustProxy?: boolean;
  minFreeDiskMb?: string | number;
  batchConcurrency?: string | number;
  batchExpiryHours?: string | number;
  batchLeaseSeconds?: string | number;
  databaseUrl?: string;
  redisUrl?: string;
  storageUrl?: string;
  requestsPerMinute?: string | number;
  sweepIntervalMs?: string | number;
  metricsPort?: string | number;
  metricsHost?: string;
  shutdownGraceSeconds?: string | number;
  storedKeys?: boolean;
}

type Env = Record<string, string | undefined>;

const positiveInt = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a number` })
    .int(`${name} must be a whole number`)
    .positive(`${name} must be positive`);

const schema = z.object({
  port: z.coerce.number().int().min(0).max(65535),
  host: z.string().min(1),
  dataDir: z.string().min(1),
  publicUrl: z
    .url({ error: 'public URL must be an absolute http(s) URL' })
    .refine((u) => /^https?:\/\//.test(u), 'public URL must start with http:// or https://')
    .optional(),
  apiKeys: z.array(z.string().min(1)),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  requestBytes: positiveInt('max request bytes'),
  fileBytes: positiveInt('max file bytes'),
  projectBytes: positiveInt('max project bytes'),
  imagesPerRequest: positiveInt('max images'),
  maxPixels: positiveInt('max pixels'),
  maxRequestPixels: positiveInt('max request pixels'),
  fileTtlHours: z.coerce.number().positive('file TTL must be positive'),
  engine: z.enum(['vision', 'measurements'], { error: 'engine must be vision or measurements' }),
  detector: z.enum([...DETECTOR_IDS, 'none'], {
    error: `detector must be ${DETECTOR_IDS.join(', ')} or none`,
  }),
  detectorRuntime: z.enum(['onnx', 'tfjs'], { error: 'detector runtime must be onnx or tfjs' }).optional(),
  segment: z.boolean(),
  ocr: z.boolean(),
  safety: z.boolean(),
  people: z.boolean(),
  verifyLabels: z.boolean(),
  closerLook: z.boolean(),
  visionThreads: positiveInt('vision threads'),
  visionIntraThreads: positiveInt('vision intra-op threads').optional(),
  samWideThreads: z.coerce.number({ error: 'SAM wide threads must be a number' }).int('SAM wide threads must be a whole number').min(0, 'SAM wide threads must be 0 (off) or more').optional(),
  visionQueue: z.coerce.number().int().min(0),
  visionQueueTimeout: z.coerce.number({ error: 'vision queue timeout must be a number' }).positive('vision queue timeout must be positive'),
  analysisCache: z.coerce.number({ error: 'analysis cache must be a number of entries' }).int('analysis cache must be a whole number of entries').min(0, 'analysis cache must be 0 (off) or more entries'),
  heapGrowth: z.coerce.number({ error: 'heap growth must be a percentage' }).int('heap growth must be a whole percentage').min(0, "heap growth must be 0 (V8's own) or more").max(1000, 'heap growth must be at most 1000 %'),
  warm: z.boolean(),
  routes: z.string().min(1).optional(),
  openaiUrl: z.url({ error: 'OpenAI-compatible URL must be an absolute http(s) URL' }).optional(),
  openaiModel: z.string().min(1).optional(),
  openaiApiKey: z.string().optional(),
  geminiApiKey: z.string().min(1).optional(),
  geminiUrl: z.url({ error: 'Gemini upstream URL must be an absolute http(s) URL' }).optional(),
  modelsDir: z.string().min(1),
  hubMemoryMb: positiveInt('hub memory MB'),
  providerTimeoutMs: positiveInt('provider timeout ms'),
  headersTimeoutMs: positiveInt('headers timeout ms'),
  bodyIdleTimeoutMs: positiveInt('body idle timeout ms'),
  requestTimeoutMs: positiveInt('request timeout ms'),
  keepAliveTimeoutMs: positiveInt('keep-alive timeout ms'),
  maxConnections: positiveInt('max connections'),
  allowedHosts: z.array(z.string().regex(/^(\*|[\w.\-\[\]:]+)$/, 'allowed hosts must be host names, host:port or *')),
  corsOrigins: z.array(
    z.string().regex(/^(\*|https?:\/\/[\w.\-\[\]:]+)$/, 'CORS origins must be scheme://host[:port] (no path) or *'),
  ),
  trustProxy: z.boolean(),
  minFreeDiskMb: z.coerce.number({ error: 'min free disk MB must be a number' }).min(0, 'min free disk MB must not be negative'),
  batchConcurrency: positiveInt('batch concurrency'),
  batchExpiryHours: z.coerce.number().positive('batch expiry must be positive'),
  batchLeaseSeconds: z.coerce.number().min(1, 'batch lease must be at least 1 second'),
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'database URL must be postgres://…').optional(),
  redisUrl: z.string().regex(/^rediss?:\/\/\S+$/, 'Redis URL must be redis://… or rediss://…').optional(),
  storageUrl: z.string().regex(/^(s3|file):\/\/\S+$/, 'storage URL must be s3://BUCKET[/PREFIX]?endpoint=… or file://DIR').optional(),
  requestsPerMinute: positiveInt('requests per minute').optional(),
  sweepIntervalMs: positiveInt('sweep interval ms'),
  metricsPort: z.coerce.number({ error: 'metrics port must be a number' }).int().min(0).max(65535).optional(),
  metricsHost: z.string().min(1),
  shutdownGraceSeconds: z.coerce.number({ error: 'shutdown grace seconds must be a number' }).min(0, 'shutdown grace seconds must not be negative'),
  otlpEndpoint: z.url({ error: 'OTEL_EXPORTER_OTLP_ENDPOINT must be an absolute http(s) URL' }).optional(),
  serviceName: z.string().min(1),
  storedKeys: z.boolean(),
});

const bool = (v: string | undefined): boolean | undefined =>
  v === undefined ? undefined : ['1', 'true', 'yes', 'on'].includes(v.trim().toLowerCase());

const splitList = (s: string | undefined): string[] | undefined =>
  s === undefined
    ? undefined
    : s
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean);

/** A repeatable flag whose values may also be comma lists (`--allowed-hosts a,b --allowed-hosts c`). */
const listFlag = (values: string[] | undefined): string[] | undefined =>
  values && values.length > 0 ? values.flatMap((v) => splitList(v) ?? []) : undefined;

export class ConfigError extends Error {}

export function loadConfig(flags: ConfigFlags = {}, env: Env = process.env): Config {
  const pick = <T>(flag: T | undefined, envName: string, fallback: T | string): T | string =>
    flag ?? env[envName] ?? fallback;
  const raw = {
    port: pick(flags.port, 'OCELLUS_PORT', 8080),
    host: pick(flags.host, 'OCELLUS_HOST', '127.0.0.1'),
    dataDir: pick(flags.dataDir, 'OCELLUS_DATA_DIR', './data'),
    publicUrl: flags.publicUrl ?? env.OCELLUS_PUBLIC_URL ?? undefined,
    apiKeys: flags.apiKey && flags.apiKey.length > 0 ? flags.apiKey : (splitList(env.OCELLUS_API_KEYS) ?? []),
    logLevel: pick(flags.logLevel, 'OCELLUS_LOG_LEVEL', 'info'),
    requestBytes: pick(flags.maxRequestBytes, 'OCELLUS_MAX_REQUEST_BYTES', 20 * MiB),
    fileBytes: pick(flags.maxFileBytes, 'OCELLUS_MAX_FILE_BYTES', 2 * GiB),
    projectBytes: pick(flags.maxProjectBytes, 'OCELLUS_MAX_PROJECT_BYTES', 20 * GiB),
    imagesPerRequest: pick(flags.maxImages, 'OCELLUS_MAX_IMAGES', 3600),
    maxPixels: pick(flags.maxPixels, 'OCELLUS_MAX_PIXELS', 100_000_000),
    maxRequestPixels: pick(flags.maxRequestPixels, 'OCELLUS_MAX_REQUEST_PIXELS', DEFAULT_REQUEST_PIXELS),
    fileTtlHours: pick(flags.fileTtlHours, 'OCELLUS_FILE_TTL_HOURS', 48),
    engine: pick(flags.engine, 'OCELLUS_ENGINE', 'vision'),
    detector: pick(flags.detector, 'OCELLUS_DETECTOR', 'ssd-centernet'),
    detectorRuntime: flags.detectorRuntime ?? (env.OCELLUS_DETECTOR_RUNTIME || undefined),
    segment: flags.segment ?? bool(env.OCELLUS_SEGMENT) ?? true,
    ocr: flags.ocr ?? bool(env.OCELLUS_OCR) ?? true,
    safety: flags.safety ?? bool(env.OCELLUS_SAFETY) ?? true,
    people: flags.people ?? bool(env.OCELLUS_PEOPLE) ?? true,
    verifyLabels: flags.verifyLabels ?? bool(env.OCELLUS_VERIFY_LABELS) ?? true,
    closerLook: flags.closerLook ?? bool(env.OCELLUS_CLOSER_LOOK) ?? true,
    visionThreads: pick(flags.visionThreads, 'OCELLUS_VISION_THREADS', 2),
    visionIntraThreads: pick(flags.visionIntraThreads, 'OCELLUS_VISION_INTRA_THREADS', undefined),
    samWideThreads: pick(flags.samWideThreads, 'OCELLUS_SAM_WIDE_THREADS', undefined),
    visionQueue: pick(flags.visionQueue, 'OCELLUS_VISION_QUEUE', 32),
    visionQueueTimeout: pick(flags.visionQueueTimeout, 'OCELLUS_VISION_QUEUE_TIMEOUT', 30),
    analysisCache: pick(flags.analysisCache, 'OCELLUS_ANALYSIS_CACHE', 512),
    heapGrowth: pick(flags.heapGrowth, 'OCELLUS_HEAP_GROWTH', DEFAULT_HEAP_GROWTH),
    warm: flags.warm ?? bool(env.OCELLUS_WARM) ?? true,
    routes: flags.routes ?? env.OCELLUS_ROUTES,
    openaiUrl: flags.openaiUrl ?? env.OCELLUS_OPENAI_URL,
    openaiModel: flags.openaiModel ?? env.OCELLUS_OPENAI_MODEL,
    openaiApiKey: flags.openaiApiKey ?? env.OCELLUS_OPENAI_API_KEY,
    geminiApiKey: flags.geminiApiKey ?? env.OCELLUS_GEMINI_API_KEY,
    geminiUrl: flags.geminiUrl ?? env.OCELLUS_GEMINI_URL,
    modelsDir: pick(flags.modelsDir, 'OCELLUS_MODELS_DIR', defaultModelsDir(env)),
    hubMemoryMb: pick(flags.hubMemoryMb, 'OCELLUS_HUB_MEMORY_MB', 8192),
    providerTimeoutMs: pick(flags.providerTimeoutMs, 'OCELLUS_PROVIDER_TIMEOUT_MS', 120_000),
    headersTimeoutMs: pick(flags.headersTimeoutMs, 'OCELLUS_HEADERS_TIMEOUT_MS', 30_000),
    bodyIdleTimeoutMs: pick(flags.bodyIdleTimeoutMs, 'OCELLUS_BODY_IDLE_TIMEOUT_MS', 10_000),
    requestTimeoutMs: pick(flags.requestTimeoutMs, 'OCELLUS_REQUEST_TIMEOUT_MS', 120_000),
    keepAliveTimeoutMs: pick(flags.keepAliveTimeoutMs, 'OCELLUS_KEEP_ALIVE_TIMEOUT_MS', 5_000),
    maxConnections: pick(flags.maxConnections, 'OCELLUS_MAX_CONNECTIONS', 512),
    allowedHosts: listFlag(flags.allowedHosts) ?? splitList(env.OCELLUS_ALLOWED_HOSTS) ?? [],
    corsOrigins: (listFlag(flags.corsOrigins) ?? splitList(env.OCELLUS_CORS_ORIGINS) ?? []).map((o) => o.replace(/\/+$/, '')),
    trustProxy: flags.trustProxy ?? bool(env.OCELLUS_TRUST_PROXY) ?? false,
    minFreeDiskMb: pick(flags.minFreeDiskMb, 'OCELLUS_MIN_FREE_DISK_MB', 256),
    batchConcurrency: pick(flags.batchConcurrency, 'OCELLUS_BATCH_CONCURRENCY', 1),
    batchExpiryHours: pick(flags.batchExpiryHours, 'OCELLUS_BATCH_EXPIRY_HOURS', 48),
    batchLeaseSeconds: pick(flags.batchLeaseSeconds, 'OCELLUS_BATCH_LEASE_SECONDS', 30),
    databaseUrl: flags.databaseUrl ?? (env.OCELLUS_DATABASE_URL || undefined),
    redisUrl: flags.redisUrl ?? (env.OCELLUS_REDIS_URL || undefined),
    storageUrl: flags.storageUrl ?? (env.OCELLUS_STORAGE_URL || undefined),
    requestsPerMinute: flags.requestsPerMinute ?? (env.OCELLUS_REQUESTS_PER_MINUTE || undefined),
    sweepIntervalMs: pick(flags.sweepIntervalMs, 'OCELLUS_SWEEP_INTERVAL_MS', 60_000),
    metricsPort: flags.metricsPort ?? (env.OCELLUS_METRICS_PORT || undefined),
    metricsHost: pick(flags.metricsHost, 'OCELLUS_METRICS_HOST', '127.0.0.1'),
    shutdownGraceSeconds: pick(flags.shutdownGraceSeconds, 'OCELLUS_SHUTDOWN_GRACE_SECONDS', 30),
    // The standard OpenTelemetry variables, so the usual operator setup works unchanged.
    otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined,
    serviceName: env.OTEL_SERVICE_NAME || 'ocellus',
    storedKeys: flags.storedKeys ?? bool(env.OCELLUS_STORED_KEYS) ?? true,
  };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`invalid configuration: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const c = parsed.data;
  if (c.detectorRuntime === 'tfjs' && c.detector === 'ssd-centernet')
    throw new ConfigError('invalid configuration: detectorRuntime: detector ssd-centernet runs on onnx only (name another --detector for tfjs)');
  if (c.detectorRuntime === 'onnx' && c.detector !== 'none' && !(ONNX_DETECTORS as readonly string[]).includes(c.detector))
    throw new ConfigError(`invalid configuration: detectorRuntime: detector ${c.detector} has no ONNX conversion; onnx runs ${ONNX_DETECTORS.join(', ')}`);
  if (c.openaiUrl && !c.openaiModel) throw new ConfigError('invalid configuration: --openai-url needs --openai-model (the served model name)');
  const storage = c.storageUrl === undefined ? undefined : parseStorageUrl(c.storageUrl);
  return {
    port: c.port,
    host: c.host,
    // file://DIR is today's behaviour with DIR as the data dir.
    dataDir: path.resolve(storage?.kind === 'file' ? storage.dir : c.dataDir),
    publicUrl: c.publicUrl?.replace(/\/+$/, ''),
    apiKeys: c.apiKeys,
    logLevel: c.logLevel,
    limits: {
      requestBytes: c.requestBytes,
      fileBytes: c.fileBytes,
      projectBytes: c.projectBytes,
      imagesPerRequest: c.imagesPerRequest,
      maxPixels: c.maxPixels,
      requestPixels: c.maxRequestPixels,
      fileTtlMs: Math.round(c.fileTtlHours * 3600_000),
      uploadSessionTtlMs: Math.round(c.fileTtlHours * 3600_000),
      sweepIntervalMs: c.sweepIntervalMs,
      minFreeDiskBytes: Math.round(c.minFreeDiskMb * MiB),
    },
    http: {
      headersTimeoutMs: c.headersTimeoutMs,
      bodyIdleTimeoutMs: c.bodyIdleTimeoutMs,
      requestTimeoutMs: c.requestTimeoutMs,
      keepAliveTimeoutMs: c.keepAliveTimeoutMs,
      maxConnections: c.maxConnections,
    },
    access: {
      allowedHosts: c.allowedHosts.map((h) => h.toLowerCase()),
      corsOrigins: c.corsOrigins.map((o) => o.toLowerCase()),
      trustProxy: c.trustProxy,
    },
    vision: {
      engine: c.engine,
      detector: c.detector === 'none' ? null : c.detector,
      detectorRuntime: c.detectorRuntime,
      segment: c.segment,
      ocr: c.ocr,
      safety: c.safety,
      people: c.people,
      verifyLabels: c.verifyLabels,
      closerLook: c.closerLook,
      threads: c.visionThreads,
      intraOpThreads: c.visionIntraThreads,
      samWideThreads: c.samWideThreads,
      maxQueue: c.visionQueue,
      queueTimeoutMs: Math.round(c.visionQueueTimeout * 1000),
      analysisCacheEntries: c.analysisCache,
      heapGrowthPercent: c.heapGrowth,
      warm: c.warm,
    },
    providers: {
      routesFile: c.routes ? path.resolve(c.routes) : undefined,
      openai: c.openaiUrl ? { baseUrl: c.openaiUrl.replace(/\/+$/, ''), model: c.openaiModel!, apiKey: c.openaiApiKey } : undefined,
      gemini: c.geminiApiKey ? { apiKey: c.geminiApiKey, baseUrl: c.geminiUrl?.replace(/\/+$/, '') } : undefined,
      modelsDir: path.resolve(c.modelsDir),
      hubMemoryBytes: c.hubMemoryMb * MiB,
      timeoutMs: c.providerTimeoutMs,
    },
    batch: { concurrency: c.batchConcurrency, expiryMs: Math.round(c.batchExpiryHours * 3_600_000), leaseMs: Math.round(c.batchLeaseSeconds * 1000) },
    scale: {
      databaseUrl: c.databaseUrl,
      redisUrl: c.redisUrl,
      storage: storage?.kind === 's3' ? storage.location : undefined,
      requestsPerMinute: c.requestsPerMinute,
    },
    ops: {
      metricsPort: c.metricsPort,
      metricsHost: c.metricsHost,
      shutdownGraceMs: Math.round(c.shutdownGraceSeconds * 1000),
      otlpEndpoint: c.otlpEndpoint?.replace(/\/+$/, ''),
      serviceName: c.serviceName,
      storedKeys: c.storedKeys,
    },
  };
}

/** `~/.cache/ocellus/models` (or under XDG_CACHE_HOME), shared by `ocellus pull` and the server. */
function defaultModelsDir(env: Env): string {
  const cache = env.XDG_CACHE_HOME ?? path.join(env.HOME ?? '.', '.cache');
  return path.join(cache, 'ocellus', 'models');
}

/** `s3://BUCKET[/PREFIX]?endpoint=URL&region=R&force_path_style=true` or `file://DIR`. */
export function parseStorageUrl(raw: string): { kind: 'file'; dir: string } | { kind: 's3'; location: S3Location } {
  const fail = (why: string) => new ConfigError(`invalid configuration: storageUrl: ${why}`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw fail(`not a URL: ${raw}`);
  }
  if (url.protocol === 'file:') {
    // file://DIR with a relative DIR is file://./data; an absolute one file:///srv/ocellus.
    const dir = decodeURIComponent(url.host ? `${url.host}${url.pathname}` : url.pathname);
    if (!dir) throw fail('file:// needs a directory');
    return { kind: 'file', dir };
  }
  const bucket = url.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw fail(`"${bucket}" is not an S3 bucket name`);
  const known = new Set(['endpoint', 'region', 'force_path_style']);
  for (const k of url.searchParams.keys()) if (!known.has(k)) throw fail(`unknown parameter "${k}" (endpoint, region, force_path_style)`);
  const endpoint = url.searchParams.get('endpoint') ?? undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^/\s]+/.test(endpoint)) throw fail('endpoint must be an http(s) URL');
  const fps = url.searchParams.get('force_path_style');
  if (fps !== null && !['true', 'false'].includes(fps)) throw fail('force_path_style must be true or false');
  return {
    kind: 's3',
    location: {
      bucket,
      prefix: decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, ''),
      endpoint,
      region: url.searchParams.get('region') ?? undefined,
      forcePathStyle: fps === 'true',
    },
  };
}
