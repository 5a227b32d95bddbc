/**
 * Upstream Gemini as a provider: the client's request is forwarded whole to the real API
 * with the operator's key, and the answer streams back piece by piece. Ocellus stays in
 * front of it (its own keys, quotas, Files API, local capabilities): files stored here are
 * mirrored upstream on demand (file-mirror.ts), and upstream failures become the same
 * provider errors every backend raises, so the router can fall back to another provider.
 */
import type { FileOpener, StoredImageFile } from '../../seam/files.js';
import { CAPABILITIES, type Provider, type ProviderContext, type ProviderDeps } from '../../seam/provider.js';
import { providerFailed } from '../provider-errors.js';
import type { GeminiProviderSpec } from './config.js';
import { UpstreamFileError } from './errors.js';
import { createFileMirror, type MirroredFile } from './file-mirror.js';
import { buildUpstreamRequest, classifyFileUri, fileUrisOf, type UpstreamFileRef } from './request.js';
import { chunkFinishReason, chunkReport, chunkText, type UpstreamChunk } from './stream.js';
import { uploadStoredFile } from './upload.js';
import { createUpstreamClient, type UpstreamTarget } from './upstream-client.js';

export const GEMINI_BASE_URL = 'https://generativelanguage.googleapis.com';

export function createGeminiProvider(id: string, spec: GeminiProviderSpec, deps: ProviderDeps & { files: FileOpener }): Provider {
  const baseUrl = (spec.baseUrl ?? GEMINI_BASE_URL).replace(/\/+$/, '');
  const version = spec.apiVersion ?? 'v1beta';
  const origin = new URL(baseUrl).origin;
  const target: UpstreamTarget = {
    provider: id,
    baseUrl,
    version,
    apiKey: spec.apiKey,
    timeoutMs: spec.timeoutMs ?? deps.timeoutMs,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  };
  const client = createUpstreamClient(target);
  const log = deps.logger.child({ provider: id });
  const mirror = createFileMirror({
    upload: async (file: StoredImageFile) => {
      const t0 = Date.now();
      const up = await uploadStoredFile(client, file);
      log.info({ file: file.name, upstream: up.name, ms: Date.now() - t0 }, 'file mirrored to upstream Gemini');
      return up;
    },
  });

  /** Upstream copies for every local file the request names; other URIs are forwarded as written. */
  async function mirrorFiles(ctx: ProviderContext): Promise<Map<string, MirroredFile>> {
    const local = fileUrisOf(ctx.wire).filter((uri) => classifyFileUri(uri, origin).kind === 'local');
    const pairs = await Promise.all(
      local.map(async (uri) => {
        const file = await deps.files.openForGeneration(ctx.project, uri);
        return [uri, await mirror.get(ctx.project, file, ctx.signal)] as const;
      }),
    );
    return new Map(pairs);
  }

  async function* streamAnswer(ctx: ProviderContext, body: Record<string, unknown>): AsyncGenerator<string> {
    let finished = false;
    // Errors (HTTP and mid-stream `{"error":…}` events) arrive already mapped by the upstream client.
    for await (const chunk of client.streamGenerateContent(spec.model ?? ctx.model.id, body, { signal: ctx.signal }) as AsyncIterable<UpstreamChunk>) {
      const report = chunkReport(chunk);
      if (report) ctx.report(report);
      if (chunkFinishReason(chunk)) finished = true;
      const text = chunkText(chunk);
      if (text) yield text;
    }
    // The last chunk always carries finishReason; without it the answer was cut off, and
    // passing it on as complete would be a lie.
    if (!finished) throw providerFailed(id, 'the answer stream ended before its last chunk (no finishReason)');
  }

  return {
    id,
    kind: 'gemini',
    capabilities: spec.capabilities ?? CAPABILITIES,
    answersWhole: true,
    describe: () => `${spec.model ? spec.model : 'the requested model'} on upstream Gemini at ${baseUrl} (${version})`,

    async *generate(ctx) {
      for (let attempt = 0; ; attempt++) {
        const mirrors = await mirrorFiles(ctx);
        const refs = new Map<string, UpstreamFileRef>([...mirrors].map(([uri, m]) => [uri, { uri: m.uri, mimeType: m.mimeType }]));
        let yielded = false;
        try {
          for await (const piece of streamAnswer(ctx, buildUpstreamRequest(ctx.wire, refs))) {
            yielded = true;
            yield piece;
          }
          return;
        } catch (err) {
          // Our copy may be gone before its expirationTime (deleted upstream, say): upload it
          // again once. Only before any text was sent, and only for copies the error names.
          if (attempt > 0 || yielded || !(err instanceof UpstreamFileError)) throw err;
          const gone = [...mirrors.values()].filter((m) => err.message.includes(m.name.replace(/^files\//, ''))).map((m) => m.name);
          if (gone.length === 0 || mirror.forget(gone) === 0) throw err;
          log.warn({ files: gone }, 'upstream no longer has mirrored files; uploading them again');
        }
      }
    },

    /** Checks the key against the model list, so a refused key shows in the start-up log. */
    async warm() {
      await client.listModels({ pageSize: 1 });
    },

    async close() {
      mirror.clear();
    },
  };
}
