/**
 * A pulled hub model as a provider: `{ type: hub, model: onnx-community/Florence-2-base-ft }`
 * in the routing file. The adapter (florence2, chat-vlm, owlv2, clip) decides the
 * capabilities and the pre/post-processing, run here on the main thread; the model itself
 * runs in a worker thread, loaded on first use and kept warm by the shared HubModelLoader
 * within the memory budget.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { imagesOf } from '../../seam/request.js';
import type { FoundMask, FoundObject, GroundingQuery, LabelScore, Provider, ProviderContext, ProviderDeps } from '../../seam/provider.js';
import type { HubProviderSpec } from './config.js';
import type { ReadLine } from '../../vision/analysis.js';
import { ProviderError, providerCannotAnswer, providerFailed, providerNeedsInput } from '../provider-errors.js';
import { ADAPTER_CAPABILITIES, guessAdapter, type AdapterName } from './adapter-kind.js';
import { buildChatMessages, maxNewTokens, type ChatArgs, type ChatResult } from './adapters/chat-vlm.js';
import { normaliseLabels, type ClassifyArgs } from './adapters/clip.js';
import { FLORENCE_TASKS, captionTaskFor, cleanFlorenceText, parseLocBoxes, parsePolygons, parseQuads, type FlorenceGenerateArgs, type FlorenceTask } from './adapters/florence2.js';
import { RUNTIME_MODULES, runtimeModuleUrl } from './adapters/index.js';
import { splitLabels, type OwlDetectArgs, type RawDetection } from './adapters/owlv2.js';
import type { RuntimeImage } from './adapters/types.js';
import { formatDtypeSpec, parseDtypeSpec, transformersDtype } from './dtype.js';
import type { HubModelLoader } from './loader.js';
import { MANIFEST_FILE, parseManifest, weightBytes, type HubManifest } from './manifest.js';
import { polygonsToMask } from './polygon-mask.js';
import { listInstalled, modelDir, readManifest } from './store.js';
import { WorkerModel, WorkerModelError } from './worker-model.js';

export type HubProviderDeps = ProviderDeps & { modelsDir: string; loader: HubModelLoader };

/** Most distinct labels an all-objects segmentation asks Florence to outline (one generation each). */
const MAX_SEGMENT_LABELS = 8;

const precondition = (provider: string, message: string) => providerCannotAnswer(provider, message, true);

/** The adapter from the spec, else the pulled manifest (config.json's model_type), else the model id. */
function adapterFor(id: string, spec: HubProviderSpec, modelsDir: string): AdapterName {
  if (spec.adapter) return spec.adapter;
  let manifest: HubManifest | undefined;
  try {
    const file = path.join(modelDir(modelsDir, spec.model), MANIFEST_FILE);
    manifest = parseManifest(readFileSync(file, 'utf8'), file);
  } catch {
    // Not pulled yet: the id decides, and the first request says to pull.
  }
  const adapter = manifest?.adapter ?? guessAdapter(spec.model, manifest?.modelType);
  if (!adapter) throw new Error(`providers.${id}: cannot tell how to run ${spec.model}; set adapter: florence2, chat-vlm, owlv2 or clip`);
  return adapter;
}

/** The pixels for the worker: a copy, because the caller's buffer may be shared with the decode cache. */
function forWorker(images: RuntimeImage[]): { images: RuntimeImage[]; transfer: ArrayBuffer[] } {
  const copies = images.map((i) => ({ width: i.width, height: i.height, rgb: new Uint8Array(i.rgb) }));
  return { images: copies, transfer: copies.map((c) => c.rgb.buffer as ArrayBuffer) };
}

export function createHubProvider(id: string, spec: HubProviderSpec, deps: HubProviderDeps): Provider {
  const adapter = adapterFor(id, spec, deps.modelsDir);
  const repo = spec.model;
  const runtime = RUNTIME_MODULES[adapter];

  async function installed(): Promise<HubManifest> {
    let manifest: HubManifest | undefined;
    try {
      manifest = await readManifest(deps.modelsDir, repo);
    } catch (err) {
      throw precondition(id, `The hub model ${repo} has an unreadable manifest (${(err as Error).message}). Pull it again: ocellus pull ${repo}`);
    }
    const pullCmd = `ocellus pull ${repo}${spec.dtype ? ` --dtype ${spec.dtype}` : ''} --models-dir ${deps.modelsDir}`;
    if (!manifest) throw precondition(id, `The hub model ${repo} (provider "${id}") is not installed in ${deps.modelsDir}. Pull it first: ${pullCmd}`);
    if (spec.dtype && formatDtypeSpec(parseDtypeSpec(spec.dtype)) !== manifest.dtype)
      throw precondition(id, `The hub model ${repo} was pulled as dtype ${manifest.dtype}, but provider "${id}" asks for ${spec.dtype}. Run: ${pullCmd}`);
    const { models } = await listInstalled(deps.modelsDir).catch(() => ({ models: [] }));
    const missing = models.find((m) => m.manifest.repo === repo)?.missingFiles ?? [];
    if (missing.length) throw precondition(id, `The hub model ${repo} is missing ${missing.length} files (${missing.slice(0, 3).join(', ')}). Pull it again: ${pullCmd}`);
    return manifest;
  }

  /** Runs `method` on the loaded model; load and call failures become provider errors. */
  async function run<T>(method: string, args: unknown, ctx: Pick<ProviderContext, 'signal'>, extra: { transfer?: ArrayBuffer[]; onPiece?: (t: string) => void } = {}): Promise<T> {
    const manifest = await installed();
    const key = `${repo}@${manifest.commit ?? manifest.revision}:${manifest.dtype}:${adapter}`;
    const lease = await deps.loader
      .acquire({
        key,
        bytes: weightBytes(manifest),
        load: () =>
          WorkerModel.start({
            loaderUrl: runtimeModuleUrl(adapter),
            exportName: runtime.exportName,
            modelsDir: deps.modelsDir,
            options: {
              modelId: repo,
              dtype: transformersDtype(parseDtypeSpec(manifest.dtype), manifest.modules),
              ...(manifest.modelType ? { modelType: manifest.modelType } : {}),
            },
            onExit: (reason) => {
              deps.logger.warn({ provider: id, model: repo, reason }, 'hub model worker died; it will be reloaded on next use');
              void deps.loader.invalidate(key);
            },
          }),
      })
      .catch((err: unknown) => {
        throw providerFailed(id, `loading ${repo} failed: ${(err as Error).message}`);
      });
    try {
      return await lease.model.call<T>(method, args, { signal: ctx.signal, ...extra });
    } catch (err) {
      if (err instanceof WorkerModelError) throw providerFailed(id, `${repo}: ${err.message}`);
      throw err;
    } finally {
      lease.release();
    }
  }

  const imagesNeeded = (ctx: ProviderContext): RuntimeImage[] => {
    const images = imagesOf(ctx).map((p) => p.image);
    if (images.length === 0) throw providerNeedsInput(id, `${repo} needs an image to look at.`, true);
    return images;
  };

  const florence = async (ctx: ProviderContext, image: RuntimeImage, task: FlorenceTask, phrase?: string): Promise<string> => {
    const { images, transfer } = forWorker([image]);
    const args: FlorenceGenerateArgs = { task, image: images[0]!, ...(phrase ? { phrase } : {}) };
    return run<string>('generate', args, ctx, { transfer });
  };

  async function* generateChat(ctx: ProviderContext): AsyncGenerator<string> {
    const { messages, images: raw } = buildChatMessages(ctx.turns, ctx.systemInstruction);
    const { images, transfer } = forWorker(raw);
    const cfg = ctx.wire.generationConfig;
    const args: ChatArgs = { messages, images, maxNewTokens: maxNewTokens(cfg?.maxOutputTokens), ...(cfg?.temperature !== undefined ? { temperature: cfg.temperature } : {}) };
    // Pieces arrive from the worker while the call runs; the generator hands them on in order.
    const queue: string[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    let failure: unknown;
    let result: ChatResult | undefined;
    let streamed = false;
    const call = run<ChatResult>('chat', args, ctx, {
      transfer,
      onPiece: (t) => {
        queue.push(t);
        wake?.();
      },
    }).then(
      (r) => (result = r),
      (err: unknown) => (failure = err),
    );
    void call.finally(() => {
      finished = true;
      wake?.();
    });
    while (true) {
      if (queue.length) {
        streamed = true;
        yield queue.shift()!;
        continue;
      }
      if (finished) break;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
    if (failure) throw failure;
    if (!streamed && result?.text) yield result.text;
    if (result) ctx.report({ usage: { promptTokenCount: result.promptTokens, candidatesTokenCount: result.outputTokens }, ...(result.hitLimit ? { finishReason: 'MAX_TOKENS' } : {}) });
  }

  async function* generateCaptions(ctx: ProviderContext): AsyncGenerator<string> {
    const images = imagesNeeded(ctx);
    const task = captionTaskFor(ctx.prompt);
    for (const [i, image] of images.entries()) {
      const caption = cleanFlorenceText(await florence(ctx, image, task));
      yield images.length > 1 ? `${i > 0 ? '\n\n' : ''}Image ${i + 1}: ${caption}` : caption;
    }
  }

  async function detectFlorence(ctx: ProviderContext, query: GroundingQuery): Promise<FoundObject[]> {
    const out: FoundObject[] = [];
    for (const [i, image] of imagesNeeded(ctx).entries()) {
      const raw = query.all ? await florence(ctx, image, FLORENCE_TASKS.detectAll) : await florence(ctx, image, FLORENCE_TASKS.ground, query.phrase);
      for (const b of parseLocBoxes(raw)) out.push({ image: i, label: b.label || query.phrase, box: b.box });
    }
    return out;
  }

  async function detectOwl(ctx: ProviderContext, query: GroundingQuery): Promise<FoundObject[]> {
    const labels = query.all ? [] : splitLabels(query.phrase);
    if (labels.length === 0) throw providerCannotAnswer(id, `${repo} finds only named things; this request names none.`, true);
    const out: FoundObject[] = [];
    for (const [i, image] of imagesNeeded(ctx).entries()) {
      const { images, transfer } = forWorker([image]);
      const args: OwlDetectArgs = { image: images[0]!, labels };
      for (const d of await run<RawDetection[]>('detect', args, ctx, { transfer })) out.push({ image: i, label: d.label, box: d.box, score: d.score });
    }
    return out;
  }

  async function segmentFlorence(ctx: ProviderContext, query: GroundingQuery): Promise<FoundMask[]> {
    const out: FoundMask[] = [];
    for (const [i, image] of imagesNeeded(ctx).entries()) {
      // Florence segments one referring expression at a time: every object means naming them first.
      const labels = query.all
        ? [...new Set(parseLocBoxes(await florence(ctx, image, FLORENCE_TASKS.detectAll)).map((b) => b.label))].slice(0, MAX_SEGMENT_LABELS)
        : splitLabels(query.phrase);
      for (const label of labels) {
        const polygons = parsePolygons(await florence(ctx, image, FLORENCE_TASKS.segment, label));
        const mask = await polygonsToMask(polygons, image.width, image.height);
        if (mask) out.push({ image: i, label, box: mask.box, png: mask.png });
      }
    }
    return out;
  }

  async function readTextFlorence(ctx: ProviderContext): Promise<Array<ReadLine[] | string>> {
    const out: Array<ReadLine[] | string> = [];
    for (const image of imagesNeeded(ctx)) {
      // Florence gives no per-line confidence; 1 says "as read", the boxes carry the information.
      const lines = parseQuads(await florence(ctx, image, FLORENCE_TASKS.ocrWithRegion)).map((q) => ({ text: q.text, confidence: 1, box: q.box }));
      out.push(lines.length ? lines : cleanFlorenceText(await florence(ctx, image, FLORENCE_TASKS.ocr)));
    }
    return out;
  }

  async function classifyClip(ctx: ProviderContext, labels: string[]): Promise<LabelScore[][]> {
    const candidates = normaliseLabels(labels);
    if (candidates.length === 0) throw providerNeedsInput(id, `${repo} needs labels to choose between.`, false);
    const out: LabelScore[][] = [];
    for (const image of imagesNeeded(ctx)) {
      const { images, transfer } = forWorker([image]);
      const args: ClassifyArgs = { image: images[0]!, labels: candidates };
      out.push(await run<LabelScore[]>('classify', args, ctx, { transfer }));
    }
    return out;
  }

  const provider: Provider = {
    id,
    kind: 'hub',
    capabilities: ADAPTER_CAPABILITIES[adapter],
    describe: () => `${repo} (${adapter}, pulled into ${deps.modelsDir}, run in process by transformers.js)`,
    async warm() {
      // Loads the weights now so the first request does not wait; a model not pulled stays a request-time error.
      await installed();
      await run('noop', undefined, { signal: new AbortController().signal }).catch((err: unknown) => {
        if (err instanceof ProviderError && /has no method noop/.test(err.message)) return;
        throw err;
      });
    },
  };
  if (adapter === 'chat-vlm') provider.generate = generateChat;
  if (adapter === 'florence2') {
    provider.generate = generateCaptions;
    provider.detect = detectFlorence;
    provider.segment = segmentFlorence;
    provider.readText = readTextFlorence;
  }
  if (adapter === 'owlv2') provider.detect = detectOwl;
  if (adapter === 'clip') provider.classify = classifyClip;
  return provider;
}
