/**
 * The one typed configuration object. Built from CLI flags, then OCELLUS_* environment
 * variables, then defaults; nothing else in the code base reads process.env.
 */
import path from 'node:path';
import { z } from 'zod';

const MiB = 1024 * 1024;
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
  /** How long an uploaded file lives. */
  fileTtlMs: number;
  /** How long an unfinished resumable upload session lives. */
  uploadSessionTtlMs: number;
  /** How often expired files and sessions are swept. */
  sweepIntervalMs: number;
}

export interface VisionConfig {
  /** `vision`: the offline models; `measurements`: pixel measurements only (no models loaded). */
  engine: 'vision' | 'measurements';
  /** COCO detector id (centernet, ssd-mobilenet, nanodet, yolov5s) or none. */
  detector: string | null;
  segment: boolean;
  ocr: boolean;
  /** Rate images for safetyRatings / safetySettings (nsfwjs). */
  safety: boolean;
  /** Faces, expressions and body pose for questions about people. */
  people: boolean;
  /** Worker threads running the models. */
  threads: number;
  /** Requests that may wait for a worker before new ones get 429. */
  maxQueue: number;
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
  vision: VisionConfig;
  providers: ProvidersConfig;
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
  fileTtlHours?: string | number;
  engine?: string;
  detector?: string;
  segment?: boolean;
  ocr?: boolean;
  safety?: boolean;
  people?: boolean;
  visionThreads?: string | number;
  visionQueue?: string | number;
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
  fileTtlHours: z.coerce.number().positive('file TTL must be positive'),
  engine: z.enum(['vision', 'measurements'], { error: 'engine must be vision or measurements' }),
  detector: z.enum(['centernet', 'ssd-mobilenet', 'nanodet', 'yolov5s', 'none'], {
    error: 'detector must be centernet, ssd-mobilenet, nanodet, yolov5s or none',
  }),
  segment: z.boolean(),
  ocr: z.boolean(),
  safety: z.boolean(),
  people: z.boolean(),
  visionThreads: positiveInt('vision threads'),
  visionQueue: z.coerce.number().int().min(0),
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
    fileTtlHours: pick(flags.fileTtlHours, 'OCELLUS_FILE_TTL_HOURS', 48),
    engine: pick(flags.engine, 'OCELLUS_ENGINE', 'vision'),
    detector: pick(flags.detector, 'OCELLUS_DETECTOR', 'centernet'),
    segment: flags.segment ?? bool(env.OCELLUS_SEGMENT) ?? true,
    ocr: flags.ocr ?? bool(env.OCELLUS_OCR) ?? true,
    safety: flags.safety ?? bool(env.OCELLUS_SAFETY) ?? true,
    people: flags.people ?? bool(env.OCELLUS_PEOPLE) ?? true,
    visionThreads: pick(flags.visionThreads, 'OCELLUS_VISION_THREADS', 2),
    visionQueue: pick(flags.visionQueue, 'OCELLUS_VISION_QUEUE', 32),
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
  };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`invalid configuration: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const c = parsed.data;
  if (c.openaiUrl && !c.openaiModel) throw new ConfigError('invalid configuration: --openai-url needs --openai-model (the served model name)');
  return {
    port: c.port,
    host: c.host,
    dataDir: path.resolve(c.dataDir),
    publicUrl: c.publicUrl?.replace(/\/+$/, ''),
    apiKeys: c.apiKeys,
    logLevel: c.logLevel,
    limits: {
      requestBytes: c.requestBytes,
      fileBytes: c.fileBytes,
      projectBytes: c.projectBytes,
      imagesPerRequest: c.imagesPerRequest,
      maxPixels: c.maxPixels,
      fileTtlMs: Math.round(c.fileTtlHours * 3600_000),
      uploadSessionTtlMs: Math.round(c.fileTtlHours * 3600_000),
      sweepIntervalMs: 60_000,
    },
    vision: {
      engine: c.engine,
      detector: c.detector === 'none' ? null : c.detector,
      segment: c.segment,
      ocr: c.ocr,
      safety: c.safety,
      people: c.people,
      threads: c.visionThreads,
      maxQueue: c.visionQueue,
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
  };
}

/** `~/.cache/ocellus/models` (or under XDG_CACHE_HOME), shared by `ocellus pull` and the server. */
function defaultModelsDir(env: Env): string {
  const cache = env.XDG_CACHE_HOME ?? path.join(env.HOME ?? '.', '.cache');
  return path.join(cache, 'ocellus', 'models');
}
