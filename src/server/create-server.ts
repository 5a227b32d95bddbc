/**
 * The composition root: builds every service from the config and hands each its
 * dependencies. Nothing else constructs stores, caches or engines, so tests and the CLI
 * get the same server by calling this one function.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from '../config.js';
import type { Engine } from '../seam/request.js';
import { MeasurementsOnly } from '../engine/offline/measurements-only.js';
import { OfflineVision } from '../engine/offline/vision.js';
import { shrink } from '../engine/offline/shrink.js';
import { createOfflineProvider, type InstalledModels, type OfflineAnswerer } from '../engine/offline/provider.js';
import { RoutingEngine } from '../engine/router.js';
import { createProviders } from '../providers/registry.js';
import { effectiveRouting, OFFLINE_PROVIDER } from '../engine/routing-file.js';
import type { SegmentBoxes } from '../providers/grounded-sam/provider.js';
import { vocabulary } from '../vision/detect/coco.js';
import { VisionPool } from '../vision/pool.js';
import { AnalysisCache } from '../vision/analysis-cache.js';
import { analysisNamespace, redisAnalyses } from '../vision/shared-analyses.js';
import { CONVERTER_VERSION } from '../vision/detect/onnx/converted.js';
import { createModelCatalog, DEFAULT_MODELS, withRoutedModels } from '../engine/model-catalog.js';
import { createDiskGuard } from '../files/disk-space.js';
import { FsBlobStore } from '../files/fs-blob.js';
import { createFilesService } from '../files/service.js';
import { openSqliteMetaStore } from '../files/sqlite-meta.js';
import { createGenerateService } from '../generate/service.js';
import type { ImageSource } from '../generate/inputs.js';
import { inspectImage, validateImage } from '../media/decode.js';
import { ImageCache } from '../media/image-cache.js';
import { CachedTextTokenCounter, GemmaTextTokenCounter, type TextTokenCounter } from '../media/text-tokens.js';
import { SchemaValidators } from '../wire/schema.js';
import { buildApp } from './app.js';
import { OPEN_PROJECT } from './auth.js';
import { openDatabase } from '../db/database.js';
import { connectRedis } from '../limits/redis.js';
import { createRequestLimiter } from '../limits/request-limiter.js';
import { PgMetaStore } from '../files/pg-meta.js';
import { S3BlobStore } from '../files/s3-blob.js';
import { createS3Client } from '../files/s3-client.js';
import { watchLoopDelay } from './loop-delay.js';
import { quietNativeLibraries } from './native-env.js';
import { createFileRoutes } from './routes/files.js';
import { createGenerateRoutes, type GenerateRouteOptions } from './routes/generate.js';
import { access, constants as fsConstants } from 'node:fs/promises';
import { createMetrics, type Metrics } from '../metrics/registry.js';
import { instrumentGenerate } from '../metrics/generate.js';
import { instrumentProviders } from '../metrics/providers.js';
import { instrumentStore } from '../metrics/store.js';
import { observePool, stageModels } from '../metrics/vision.js';
import { startMetricsServer, type MetricsServer } from '../metrics/server.js';
import { openTracing } from '../tracing/setup.js';
import { createReadiness, type Readiness } from './health.js';
import { openSqliteKeyStore } from '../keys/sqlite.js';
import { openPostgresKeyStore } from '../keys/postgres.js';
import { createKeyLookup } from '../keys/lookup.js';
import type { KeyStore } from '../keys/store.js';
import { createModelRoutes } from './routes/models.js';
import { createUploadRoutes } from './routes/upload.js';
import { createPlaygroundRoutes } from './routes/playground.js';
import { createBatchRoutes } from './routes/batches.js';
import { createDownloadRoutes, createMediaDownloadRoutes } from './routes/download.js';
import { createBatchMode } from '../batch/mode.js';
import { batchFilesOf } from './batch-files.js';
import { checkTextBudget } from '../generate/text-budget.js';
import { open, readFile } from 'node:fs/promises';
import { SUPPORTED_FORMATS_TEXT, sniffImageFormat } from '../media/sniff.js';

export interface ServerOptions {
  logger?: Logger;
  /** Replaces the default engine (tests, other providers). */
  engine?: Engine;
  /** Where the default logger writes (stdout when unset); tests read the log lines from it. */
  logDestination?: DestinationStream;
  /** Where `ocellus keys create` keys live (default: SQLite in the data dir unless --no-stored-keys). */
  keyStore?: KeyStore;
  /** Replaces the Gemma tokenizer (tests that must not load it). */
  textTokens?: TextTokenCounter;
}

export interface OcellusServer {
  app: FastifyInstance;
  config: Config;
  /** Listens on config.host:config.port; resolves to the bound base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
  /** /readyz's state; `startDraining` turns it to 503. */
  readiness: Readiness;
  metrics: Metrics;
  /** Where --metrics-port serves /metrics, once listening (undefined: on the API port). */
  metricsUrl(): string | undefined;
  /**
   * SIGTERM: not ready, stop accepting, let in-flight requests and streams finish for up to
   * `graceMs`, then cut what is left and close. Resolves when closed.
   */
  shutdown(graceMs: number): Promise<void>;
}

export async function createServer(config: Config, opts: ServerOptions = {}): Promise<OcellusServer> {
  const tracing = await openTracing({ endpoint: config.ops.otlpEndpoint, serviceName: config.ops.serviceName });
  const { spans } = tracing;
  // Trace and span ids in every log line written inside a traced request.
  // (A request's own logger has them bound already: tracing/http.ts.)
  const logOptions = {
    level: config.logLevel,
    ...(spans.enabled ? { mixin: (_o: object, _l: number, log: Logger) => ('trace_id' in log.bindings() ? {} : (spans.activeIds() ?? {})) } : {}),
  };
  const logger = opts.logger ?? (opts.logDestination ? pino(logOptions, opts.logDestination) : pino(logOptions));
  const metrics = createMetrics();
  quietNativeLibraries();
  mkdirSync(config.dataDir, { recursive: true });

  // Shared state for several replicas (--database-url, --redis-url); none of it by default.
  const database = config.scale.databaseUrl ? await openDatabase(config.scale.databaseUrl, logger) : undefined;
  const redis = config.scale.redisUrl ? connectRedis(config.scale.redisUrl, logger) : undefined;
  // Keys made by `ocellus keys create`: in the shared database when there is one, so a key
  // revoked anywhere is refused by every replica.
  const keyStore: KeyStore | undefined =
    opts.keyStore ?? (!config.ops.storedKeys ? undefined : database ? await openPostgresKeyStore(database.pool) : openSqliteKeyStore(config.dataDir));
  // Counts only requests that have a limit (the flag's, or a stored key's own --rpm).
  const limiter = createRequestLimiter({ redis, pg: database?.pool });
  if (config.scale.requestsPerMinute) logger.info({ perMinute: config.scale.requestsPerMinute, store: limiter.store }, 'per-key request limit');
  if (database && !config.scale.storage)
    logger.warn('--database-url without --storage-url: file bytes stay in this replica\'s data dir, so other replicas cannot read them');

  const baseTokens =
    opts.textTokens ??
    new GemmaTextTokenCounter({ onLoadError: (err) => logger.warn({ err }, 'Gemma tokenizer unavailable; text tokens are estimated') });
  // Built while the models warm; listen() waits for it (see there).
  const tokenizerLoaded = baseTokens instanceof GemmaTextTokenCounter ? baseTokens.load() : Promise.resolve();
  const textTokens = new CachedTextTokenCounter(baseTokens);

  const cache = new ImageCache();
  const images: ImageSource = {
    info: (bytes, o) => inspectImage(bytes, o),
    decode: (bytes, o) => cache.getOrDecode(bytes, o),
    cached: (hash) => cache.peek(hash),
  };

  const meta = database ? new PgMetaStore(database.pool) : openSqliteMetaStore(config.dataDir);
  const { storage } = config.scale;
  // With S3, the data dir keeps only chunk spool files and the decoders' local copies.
  const blobs = storage
    ? new S3BlobStore({ client: createS3Client(storage), bucket: storage.bucket, prefix: storage.prefix, localDir: config.dataDir })
    : new FsBlobStore(path.join(config.dataDir));
  const files = createFilesService({
    blobs: instrumentStore(blobs, 'blobs', metrics, spans),
    meta: instrumentStore(meta, 'metadata', metrics, spans),
    limits: config.limits,
    logger,
    disk: createDiskGuard({ dir: config.dataDir, minFreeBytes: config.limits.minFreeDiskBytes }),
    inspect: (filePath, declaredMimeType) => inspectUpload(filePath, declaredMimeType, config.limits.maxPixels, (n) => cache.reservePixels(n)),
  });

  const routing = effectiveRouting(config.providers);
  const models = createModelCatalog(withRoutedModels(DEFAULT_MODELS, Object.keys(routing.models)));
  const { vision } = config;
  const pool =
    opts.engine || vision.engine !== 'vision'
      ? undefined
      : new VisionPool({
          threads: vision.threads,
          maxQueue: vision.maxQueue,
          queueTimeoutMs: vision.queueTimeoutMs,
          ...(vision.intraOpThreads !== undefined ? { intraOpThreads: vision.intraOpThreads } : {}),
          ...(vision.samWideThreads !== undefined ? { wideEncoderThreads: vision.samWideThreads } : {}),
          logger,
          models: { detector: vision.detector, ...(vision.detectorRuntime ? { detectorRuntime: vision.detectorRuntime } : {}), segment: vision.segment, ocrLatin: vision.ocr, ocrCjk: vision.ocr, safety: vision.safety, people: vision.people, verifyLabels: vision.verifyLabels, closerLook: vision.closerLook },
        });
  // Replicas sharing a Redis share the analyses of the models they all run (the namespace names them).
  const sharedAnalyses =
    redis && vision.analysisCacheEntries > 0
      ? redisAnalyses(redis, {
          namespace: analysisNamespace({ detector: vision.detector, detectorRuntime: vision.detectorRuntime ?? 'auto', verifyLabels: vision.verifyLabels, closerLook: vision.closerLook, ocr: vision.ocr, safety: vision.safety, people: vision.people, converter: CONVERTER_VERSION }),
        })
      : undefined;
  const analysisCache = new AnalysisCache({
    maxEntries: vision.analysisCacheEntries,
    onLookup: (result) => metrics.analysisCache(result),
    ...(sharedAnalyses ? { shared: sharedAnalyses } : {}),
  });
  // A replacement engine (tests) stands in for the offline models and claims all of them.
  const installed: InstalledModels | undefined = opts.engine
    ? { detect: true, segment: true, ocr: true }
    : pool
      ? { detect: vision.detector !== null, segment: vision.segment, ocr: vision.ocr, safety: vision.safety, people: vision.people }
      : undefined;
  const offlineEngine: OfflineAnswerer =
    opts.engine ??
    (pool && installed ? new OfflineVision({ runModels: (image, needs, signal) => pool.analyse(image, needs, signal), installed, cache: analysisCache }) : new MeasurementsOnly());
  const offline = createOfflineProvider(offlineEngine, installed);
  // SAM over boxes from elsewhere (grounded-sam), at the size the offline models work at.
  const segmentBoxes: SegmentBoxes | undefined =
    pool && vision.segment
      ? async (image, boxes, signal) => (await pool.analyse(await shrink(image, 1024), { segment: { boxes } }, signal)).masks ?? []
      : undefined;
  const providerSet = createProviders(config.providers, routing, { logger, files, offline, segmentBoxes });
  const router = new RoutingEngine({
    providers: instrumentProviders(providerSet.providers, metrics, spans),
    spans,
    routing: providerSet.routing,
    vocabulary,
    logger,
    ...(offlineEngine.rateSafety ? { rateSafety: offlineEngine.rateSafety.bind(offlineEngine) } : {}),
  });
  const engine: Engine = router;
  let ready = !pool;
  if (pool) {
    observePool(pool, stageModels(vision.detector), metrics, spans);
    metrics.watchPool(() => pool.stats());
  }
  const readiness = createReadiness([
    { name: 'models', check: () => (ready ? undefined : 'the vision models are loading') },
    { name: 'metadata', check: async () => void (await meta.usedBytes('readyz', Date.now())) },
    { name: 'store', check: () => access(config.dataDir, fsConstants.W_OK) },
    ...(keyStore ? [{ name: 'keys', check: async () => void (await keyStore.any()) }] : []),
  ]);
  const generate = createGenerateService({
    models,
    engine,
    files,
    images,
    text: textTokens,
    limits: config.limits,
    schemas: new SchemaValidators(),
  });

  // Batch mode: each request runs through the same generation path as generateContent,
  // and only while the model pool has no interactive request waiting.
  // With --database-url, batches live in PostgreSQL and every replica works them.
  const batch = createBatchMode({
    dataDir: config.dataDir,
    database: database?.pool,
    concurrency: config.batch.concurrency,
    expiryMs: config.batch.expiryMs,
    leaseMs: config.batch.leaseMs,
    files: batchFilesOf(files, blobs, meta),
    resolveModel: (name, version) => `models/${generate.resolveModel(name, 'batchGenerateContent', version).id}`,
    run: async ({ project, model, request, signal }) => {
      const entry = generate.resolveModel(model.replace(/^models\//, ''), 'generateContent', 'v1beta');
      await checkTextBudget(request, entry.inputTokenLimit, textTokens);
      return generate.generate(await generate.prepare(project, entry, request), signal);
    },
    ...(pool ? { gate: (inFlight: number) => pool.stats().admitted <= inFlight } : {}),
    log: logger,
  });
  const downloads = { files: batchFilesOf(files, blobs, meta), isGenerated: batch.service.isGenerated };

  const loopDelay = watchLoopDelay();
  const app = await buildApp({
    config,
    logger,
    // The key's project id (a hash), never the raw key, names its counter in Redis/PostgreSQL.
    limitRequest: async (p) => {
      const perMinute = p.rpm ?? config.scale.requestsPerMinute;
      if (perMinute) await limiter.consume(p.project === OPEN_PROJECT ? 'anonymous' : p.project, perMinute);
    },
    apiRoutes: [createModelRoutes(models, (id) => router.routesOf(id)), createGenerateRoutes(instrumentGenerate(generate, metrics), { textTokens, ...(pool ? admitOffline(pool, router) : {}) }), createFileRoutes(files), createBatchRoutes(batch.service), createDownloadRoutes(downloads)],
    uploadRoutes: [createUploadRoutes(files)],
    rootRoutes: [createMediaDownloadRoutes(downloads), createPlaygroundRoutes({ images, files, maxPixels: config.limits.maxPixels, maxBytes: config.limits.requestBytes })],
    readiness,
    metrics: { registry: metrics, modelId: (name) => models.find(name)?.id, route: config.ops.metricsPort === undefined },
    instrument: (a) => tracing.instrument(a),
    ...(keyStore ? { storedKeys: createKeyLookup(instrumentStore(keyStore, 'keys', metrics, spans)) } : {}),
    health: () => ({
      engine: offlineEngine.name,
      providers: [...providerSet.providers.keys()],
      ready,
      ...(pool ? { vision: pool.stats(), analysisCache: analysisCache.stats() } : {}),
      eventLoopDelay: loopDelay.stats(),
    }),
    onClose: async () => {
      loopDelay.stop();
      await batch.close();
      await files.stop();
      meta.close();
      await providerSet.close();
      redis?.disconnect();
      await database?.close();
      await pool?.close();
    },
  });
  files.startSweeper();

  let metricsServer: MetricsServer | undefined;
  const close = async () => {
    await app.close();
    await metricsServer?.close();
    await tracing.close();
    await keyStore?.close();
  };
  return {
    app,
    config,
    async listen() {
      if (pool && vision.warm) {
        const started = performance.now();
        logger.info({ threads: pool.threads, models: vision }, 'loading and warming the vision models');
        await pool.warm();
        logger.info({ ms: Math.round(performance.now() - started) }, 'vision models ready');
      }
      // The tokenizer's build holds the thread for a second or more: done before listening, it
      // cannot stall the first requests (it held /healthz 1.7 s right after start-up).
      await tokenizerLoaded;
      // Start-up's own blocks (module compilation, that build) are not the serving loop's: the
      // /healthz loop delay counts from here.
      loopDelay.reset();
      ready = true;
      batch.start();
      // Remote and pulled providers are checked in the background: a refused key or a server
      // that is down shows in the log at start-up, while requests fall back as routed.
      for (const p of providerSet.providers.values())
        p.warm?.().catch((err: unknown) => logger.warn({ provider: p.id, err: (err as Error).message }, 'provider is not ready'));
      const address = await app.listen({ port: config.port, host: config.host });
      if (config.ops.metricsPort !== undefined) metricsServer = await startMetricsServer(metrics, config.ops.metricsHost, config.ops.metricsPort);
      if (config.apiKeys.length === 0)
        logger.warn('no API keys configured: the server is open to anyone who can reach it (local use); set --api-key or OCELLUS_API_KEYS to enforce keys');
      else logger.info({ keys: config.apiKeys.length }, 'API keys enforced');
      return address;
    },
    close,
    readiness,
    metrics,
    metricsUrl: () => metricsServer?.url,
    async shutdown(graceMs) {
      readiness.startDraining();
      // app.close() stops accepting at once, answers new requests on kept-alive connections
      // with 503, closes idle connections and waits for the in-flight ones (streams included).
      const closing = close();
      const grace = setTimeout(() => {
        logger.warn({ graceMs }, 'shutdown grace period over: closing the connections still open');
        app.server.closeAllConnections();
      }, graceMs);
      try {
        await closing;
      } finally {
        clearTimeout(grace);
      }
    },
  };
}

/**
 * Early admission for models the offline engine serves first for every capability (the
 * default setup): their requests take a place in the model queue before decoding, and are
 * refused before their bodies are parsed when the queue is already full. Models routed to
 * other providers first are admitted by the pool only when a task reaches it.
 */
function admitOffline(pool: VisionPool, router: RoutingEngine): Pick<GenerateRouteOptions, 'admit' | 'refuseIfFull'> {
  const offlineFirst = new Map<string, boolean>(); // keyed by catalogue ids only
  const isOfflineFirst = (modelId: string): boolean => {
    let first = offlineFirst.get(modelId);
    if (first === undefined) {
      first = router.routesOf(modelId).every((r) => r.providers.length === 0 || r.providers[0] === OFFLINE_PROVIDER);
      offlineFirst.set(modelId, first);
    }
    return first;
  };
  return {
    admit: (modelId, signal) => {
      if (isOfflineFirst(modelId)) pool.admit(signal);
    },
    refuseIfFull: (modelId) => {
      // A full queue refuses any admission at once (nothing runs in between), so this throws
      // the queue's own 429 (message, Retry-After, refused count) and never takes a place.
      if (isOfflineFirst(modelId) && pool.full) pool.admit(new AbortController().signal);
    },
  };
}

/**
 * The Files API's ACTIVE/FAILED decision. The first bytes are sniffed before anything else,
 * so a large upload that is not an image is refused without reading it into memory; an
 * image is then decoded fully, so truncated data fails here rather than at first use.
 */
async function inspectUpload(filePath: string, declaredMimeType: string, maxPixels: number, reservePixels: (pixels: number) => Promise<() => void>) {
  const head = Buffer.alloc(64 * 1024);
  const file = await open(filePath, 'r');
  const { bytesRead } = await file.read(head, 0, head.length, 0).finally(() => file.close());
  if (!sniffImageFormat(head.subarray(0, bytesRead)))
    return { ok: false as const, message: `The uploaded file is not a supported image (${SUPPORTED_FORMATS_TEXT}).` };
  try {
    // Uploads decode fully to be validated: they share the decode pixel budget with requests.
    const info = await validateImage(await readFile(filePath), { declaredMimeType, partLabel: 'the uploaded file', maxPixels, reservePixels });
    return { ok: true as const, mimeType: info.mimeType };
  } catch (err) {
    return { ok: false as const, message: (err as Error).message };
  }
}
