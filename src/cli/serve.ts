/** `ocellus serve`: starts the HTTP server with the configured engine and providers. */
import { Command, Option } from 'commander';
import { loadConfig, type ConfigFlags } from '../config.js';
import { setHeapGrowth } from '../heap-growth.js';
import { createServer } from '../server/create-server.js';
import { checkModelsInstalled } from './preflight.js';

export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Only what was typed counts as a flag; commander's defaults must not hide the environment. */
export function typedFlags<T>(command: Command): T {
  return Object.fromEntries(Object.entries(command.opts()).filter(([k]) => command.getOptionValueSource(k) === 'cli')) as T;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('start the HTTP server')
    .addOption(new Option('--port <n>', 'port to listen on (OCELLUS_PORT, default 8080)'))
    .addOption(new Option('--host <addr>', 'address to bind (OCELLUS_HOST, default 127.0.0.1)'))
    .addOption(new Option('--data-dir <dir>', 'where files and metadata live (OCELLUS_DATA_DIR, default ./data)'))
    .addOption(new Option('--public-url <url>', 'externally visible base URL, for upload URLs and file URIs (OCELLUS_PUBLIC_URL)'))
    .addOption(new Option('--api-key <key>', 'accept this API key; repeatable (OCELLUS_API_KEYS=k1,k2). None: open').argParser(collect))
    .addOption(new Option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (OCELLUS_LOG_LEVEL)'))
    .addOption(new Option('--max-request-bytes <n>', 'largest JSON request body (OCELLUS_MAX_REQUEST_BYTES, default 20 MiB)'))
    .addOption(new Option('--max-file-bytes <n>', 'largest uploaded file (OCELLUS_MAX_FILE_BYTES, default 2 GiB)'))
    .addOption(new Option('--max-project-bytes <n>', 'file storage per API key (OCELLUS_MAX_PROJECT_BYTES, default 20 GiB)'))
    .addOption(new Option('--max-images <n>', 'images per request (OCELLUS_MAX_IMAGES, default 3600)'))
    .addOption(new Option('--max-pixels <n>', 'pixels per image, the decompression-bomb guard (OCELLUS_MAX_PIXELS, default 100000000)'))
    .addOption(new Option('--max-request-pixels <n>', 'pixels of all images of one request (OCELLUS_MAX_REQUEST_PIXELS, default 150000000)'))
    .addOption(new Option('--file-ttl-hours <h>', 'how long uploaded files live (OCELLUS_FILE_TTL_HOURS, default 48)'))
    .addOption(new Option('--engine <name>', 'vision (offline models) or measurements (no models) (OCELLUS_ENGINE, default vision)'))
    .addOption(new Option('--detector <id>', 'ssd-centernet (SSD and CenterNet fused) | ssd-mobilenet (fastest) | centernet | nanodet | yolov5s (AGPL) | none (OCELLUS_DETECTOR, default ssd-centernet); ocellus pull <id> installs one'))
    .addOption(new Option('--detector-runtime <name>', 'onnx | tfjs: where the detector runs (OCELLUS_DETECTOR_RUNTIME, default onnx where the detector has a conversion, else tfjs)'))
    .addOption(new Option('--no-segment', 'do not load SAM for segmentation masks (OCELLUS_SEGMENT=0)'))
    .addOption(new Option('--no-ocr', 'do not load the text readers (OCELLUS_OCR=0)'))
    .addOption(new Option('--no-people', 'do not load the face, expression and pose models (OCELLUS_PEOPLE=0)'))
    .addOption(new Option('--no-verify-labels', 'do not have an ImageNet classifier check asserted labels on their crops (OCELLUS_VERIFY_LABELS=0)'))
    .addOption(new Option('--no-closer-look', 'do not detect boxes whose class is in doubt again, zoomed in (OCELLUS_CLOSER_LOOK=0)'))
    .addOption(new Option('--no-safety', 'do not rate images for safetyRatings / safetySettings (OCELLUS_SAFETY=0)'))
    .addOption(new Option('--vision-threads <n>', 'worker threads running the models (OCELLUS_VISION_THREADS, default 2)'))
    .addOption(new Option('--vision-intra-threads <n>', 'onnxruntime threads per model in each worker (OCELLUS_VISION_INTRA_THREADS, default: cores / vision threads)'))
    .addOption(new Option('--sam-wide-threads <n>', "threads of SAM's encoder when no other request is running, 0: off (OCELLUS_SAM_WIDE_THREADS, default: every core)"))
    .addOption(new Option('--vision-queue <n>', 'requests that may wait for a worker before 429 (OCELLUS_VISION_QUEUE, default 32)'))
    .addOption(new Option('--vision-queue-timeout <s>', 'seconds a request may wait for a worker before 503 (OCELLUS_VISION_QUEUE_TIMEOUT, default 30)'))
    .addOption(new Option('--analysis-cache <n>', 'analyses kept by image hash, so a chat\'s image is not re-run every turn; 0: off (OCELLUS_ANALYSIS_CACHE, default 512)'))
    .addOption(new Option('--heap-growth <percent>', "how far V8 lets a heap grow before its next full garbage collection, fewer collections for more memory; 0: V8's own (OCELLUS_HEAP_GROWTH, default 200)"))
    .addOption(new Option('--no-warm', 'load models on first use instead of at start-up (OCELLUS_WARM=0)'))
    .addOption(new Option('--batch-concurrency <n>', 'batch requests run at once, after interactive ones (OCELLUS_BATCH_CONCURRENCY, default 1)'))
    .addOption(new Option('--batch-expiry-hours <h>', 'a batch not finished this long after creation ends EXPIRED (OCELLUS_BATCH_EXPIRY_HOURS, default 48)'))
    .addOption(new Option('--batch-lease-seconds <s>', "a running batch request's lease; a dead replica's requests run elsewhere after it (OCELLUS_BATCH_LEASE_SECONDS, default 30)"))
    .addOption(new Option('--routes <file>', 'routing file (YAML/JSON): providers and which serve each capability per model (OCELLUS_ROUTES)'))
    .addOption(new Option('--openai-url <url>', 'an OpenAI-compatible vision server, e.g. http://127.0.0.1:11434/v1, tried before the offline engine (OCELLUS_OPENAI_URL)'))
    .addOption(new Option('--openai-model <name>', 'the model that server serves, e.g. qwen2.5vl:7b (OCELLUS_OPENAI_MODEL)'))
    .addOption(new Option('--openai-api-key <key>', 'key for that server, if it wants one (OCELLUS_OPENAI_API_KEY)'))
    .addOption(new Option('--gemini-api-key <key>', 'forward to upstream Gemini with this key, before the offline engine (OCELLUS_GEMINI_API_KEY)'))
    .addOption(new Option('--gemini-url <url>', 'upstream Gemini base URL (OCELLUS_GEMINI_URL, default https://generativelanguage.googleapis.com)'))
    .addOption(new Option('--models-dir <dir>', 'where pulled hub models live (OCELLUS_MODELS_DIR, default ~/.cache/ocellus/models)'))
    .addOption(new Option('--hub-memory-mb <n>', 'most MB of hub model weights loaded at once (OCELLUS_HUB_MEMORY_MB, default 8192)'))
    .addOption(new Option('--provider-timeout-ms <n>', 'deadline for a provider\'s first byte and between streamed pieces (OCELLUS_PROVIDER_TIMEOUT_MS, default 120000)'))
    .addOption(new Option('--headers-timeout-ms <n>', 'time to receive request headers (OCELLUS_HEADERS_TIMEOUT_MS, default 30000)'))
    .addOption(new Option('--body-idle-timeout-ms <n>', 'a request body delivering under 1 KiB in this time gets 408 (OCELLUS_BODY_IDLE_TIMEOUT_MS, default 10000)'))
    .addOption(new Option('--request-timeout-ms <n>', 'time to receive a whole non-upload request (OCELLUS_REQUEST_TIMEOUT_MS, default 120000)'))
    .addOption(new Option('--keep-alive-timeout-ms <n>', 'idle keep-alive connections are closed after this (OCELLUS_KEEP_ALIVE_TIMEOUT_MS, default 5000)'))
    .addOption(new Option('--max-connections <n>', 'most open connections; more are refused (OCELLUS_MAX_CONNECTIONS, default 512)'))
    .addOption(new Option('--allowed-hosts <hosts>', 'extra Host names served without API keys, comma list or repeated; * for any (OCELLUS_ALLOWED_HOSTS)').argParser(collect))
    .addOption(new Option('--cors-origins <origins>', 'browser origins allowed besides the server\'s own, comma list or repeated; * for any (OCELLUS_CORS_ORIGINS)').argParser(collect))
    .addOption(new Option('--trust-proxy', 'honour X-Forwarded-Host/-Proto/-Prefix/-For from a reverse proxy (OCELLUS_TRUST_PROXY=1)'))
    .addOption(new Option('--min-free-disk-mb <n>', 'refuse upload bytes (503) below this much free disk (OCELLUS_MIN_FREE_DISK_MB, default 256)'))
    .addOption(new Option('--database-url <url>', 'postgres://… shared by replicas: file and upload metadata, rate counters without Redis (OCELLUS_DATABASE_URL)'))
    .addOption(new Option('--storage-url <url>', 's3://BUCKET[/PREFIX]?endpoint=URL&region=R&force_path_style=true for file bytes, or file://DIR (OCELLUS_STORAGE_URL; AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)'))
    .addOption(new Option('--redis-url <url>', 'redis://… for rate-limit counters shared by replicas (OCELLUS_REDIS_URL)'))
    .addOption(new Option('--requests-per-minute <n>', 'per-key request limit, 429 beyond it (OCELLUS_REQUESTS_PER_MINUTE; default none)'))
    .addOption(new Option('--sweep-interval-ms <n>', 'how often expired files and uploads are swept (OCELLUS_SWEEP_INTERVAL_MS, default 60000)'))
    .addOption(new Option('--metrics-port <n>', 'serve GET /metrics on this port instead of the API port (OCELLUS_METRICS_PORT)'))
    .addOption(new Option('--metrics-host <addr>', 'address the metrics port binds (OCELLUS_METRICS_HOST, default 127.0.0.1)'))
    .addOption(new Option('--shutdown-grace-seconds <s>', 'after SIGTERM, how long in-flight requests and streams may finish (OCELLUS_SHUTDOWN_GRACE_SECONDS, default 30)'))
    .addOption(new Option('--no-stored-keys', 'accept only --api-key keys, not those made with `ocellus keys create` (OCELLUS_STORED_KEYS=0)'))
    .action(async (_flags: ConfigFlags, command: Command) => {
      const flags = typedFlags<ConfigFlags>(command);
      const config = loadConfig(flags);
      setHeapGrowth(config.vision.heapGrowthPercent);
      checkModelsInstalled(config);
      const server = await createServer(config);
      const address = await server.listen();
      server.app.log.info({ address, dataDir: config.dataDir, metrics: server.metricsUrl() ?? `${address}/metrics` }, `Ocellus listening on ${address}`);
      const shutdown = (signal: string) => {
        server.app.log.info({ signal, graceMs: config.ops.shutdownGraceMs }, 'shutting down: refusing new connections, finishing in-flight requests');
        void server.shutdown(config.ops.shutdownGraceMs).then(
          () => process.exit(0),
          (err: unknown) => {
            server.app.log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    });

}
