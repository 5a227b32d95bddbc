/**
 * Starts the real Ocellus server (createServer, the same composition root the CLI uses) on
 * 127.0.0.1 with an ephemeral port and a fresh temp data dir, for end-to-end tests that talk
 * to it over HTTP with the SDKs, curl or fetch. `stop()` closes it and removes the data dir.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type ConfigFlags, type Limits } from '../../src/config.js';
import type { Engine } from '../../src/seam/request.js';
import { GemmaTextTokenCounter, type TextTokenCounter } from '../../src/media/text-tokens.js';
import { createServer, type OcellusServer } from '../../src/server/create-server.js';

export interface StartServerOptions {
  /** Keys the server enforces; none (the default) runs it open. */
  apiKeys?: string[];
  /** Limits set through the config flags (`maxRequestBytes`, `maxImages`, `maxPixels`, …). */
  flags?: Pick<
    ConfigFlags,
    | 'maxRequestBytes' | 'maxFileBytes' | 'maxProjectBytes' | 'maxImages' | 'maxPixels' | 'fileTtlHours' | 'engine' | 'detector' | 'segment' | 'ocr' | 'warm' | 'visionThreads' | 'verifyLabels'
    | 'openaiUrl' | 'openaiModel' | 'openaiApiKey' | 'geminiApiKey' | 'geminiUrl' | 'modelsDir' | 'hubMemoryMb' | 'providerTimeoutMs'
  >;
  /** A routing file's content (providers and per-model routes), written into the data dir and passed as --routes. */
  routes?: unknown;
  /** Any limit, applied over the config after flags (for the ones without a flag). */
  limits?: Partial<Limits>;
  publicUrl?: string;
  engine?: Engine;
  /** Defaults to the real Gemma tokenizer (one instance shared by the servers of a test file). */
  textTokens?: TextTokenCounter;
}

export interface RunningServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  baseUrl: string;
  dataDir: string;
  server: OcellusServer;
  /** Closes the server and removes its data dir. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * One Gemma tokenizer per test process, shared by every server it starts: it costs ~1 s of
 * CPU and ~225 MB to build, and it keeps no per-server state.
 */
let sharedTokens: GemmaTextTokenCounter | undefined;

export async function startServer(opts: StartServerOptions = {}): Promise<RunningServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ocellus-e2e-'));
  const routesFile = path.join(dataDir, 'routes.json');
  if (opts.routes !== undefined) writeFileSync(routesFile, JSON.stringify(opts.routes, null, 2));
  const config = loadConfig(
    {
      port: 0,
      host: '127.0.0.1',
      dataDir,
      apiKey: opts.apiKeys ?? [],
      logLevel: process.env.OCELLUS_TEST_LOG ?? 'silent',
      // One model thread, loaded on first use: test files run side by side on 2 cores.
      visionThreads: 1,
      warm: false,
      ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}),
      ...(opts.routes !== undefined ? { routes: routesFile } : {}),
      ...opts.flags,
    },
    {},
  );
  config.limits = { ...config.limits, ...opts.limits };
  let server: OcellusServer;
  try {
    server = await createServer(config, {
      ...(opts.engine ? { engine: opts.engine } : {}),
      textTokens: opts.textTokens ?? (sharedTokens ??= new GemmaTextTokenCounter()),
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  let address: string;
  try {
    address = await server.listen();
  } catch (err) {
    await server.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const port = new URL(address).port;
  let stopped = false;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    dataDir,
    server,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await server.close();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** Every regular file under `dir`, as paths relative to it (sorted). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** The stored blobs and partial uploads of a data dir (what a rejected request must not leave). */
export function storedBlobs(dataDir: string): string[] {
  return filesUnder(dataDir).filter((f) => f.startsWith(`blobs${path.sep}`) || f.startsWith(`uploads${path.sep}`));
}
